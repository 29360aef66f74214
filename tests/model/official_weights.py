"""Random values in the official MG-3D key layout (../shared/reference): weights for the tests."""

from __future__ import annotations

import json

import torch


def official_state(shared_data, variant: str) -> dict:
    """Random values in the official key layout and shapes; norm layers start as a fresh network's
    do (weight 1, bias 0), so features keep their scale through the layers."""
    ref = json.loads((shared_data.parent / "reference" / f"mg3d_official_state_dict_swin_{variant}.json").read_text())
    gen = torch.Generator().manual_seed(0)
    state = {}
    for k, shape in ref["keys"].items():
        if k in ref["buffers"]:
            state[k] = torch.randint(0, 100, shape, generator=gen)
        elif len(shape) == 1 and ("norm" in k.lower() or "_ln." in k):
            state[k] = torch.ones(shape) if k.endswith(".weight") else torch.zeros(shape)
        else:
            state[k] = torch.randn(shape, generator=gen) * 0.02
    return state
