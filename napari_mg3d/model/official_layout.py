"""Random weights in the official MG-3D state dict's key layout and shapes, from a reference file that
lists them (../shared/reference/mg3d_official_state_dict_swin_{b,l}.json): for the parity test and the
benches, where the released weights are not at hand. Norm layers start as a fresh network's do
(weight 1, bias 0), so features keep their scale through the layers."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def random_official_state(reference: str | Path, seed: int = 0) -> dict[str, torch.Tensor]:
    ref = json.loads(Path(reference).read_text())
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in ref["keys"].items():
        if k in ref["buffers"]:
            state[k] = torch.randint(0, 100, shape, generator=gen)
        elif len(shape) == 1 and ("norm" in k.lower() or "_ln." in k):
            state[k] = torch.ones(shape) if k.endswith(".weight") else torch.zeros(shape)
        else:
            state[k] = torch.randn(shape, generator=gen) * 0.02
    return state
