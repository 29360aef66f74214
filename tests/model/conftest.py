"""Official-layout weights for the model tests: random values in the key layout and shapes of the
release's state dict (../shared/reference), and that file converted by ``mg3d convert-checkpoint``."""

from __future__ import annotations

import json
import pytest
import torch

from tests.clirun import mg3d

from .official_weights import official_state


@pytest.fixture(scope="session")
def official_b(shared_data):
    return official_state(shared_data, "b")


@pytest.fixture(scope="session")
def converted_b(official_b, tmp_path_factory):
    """(official Lightning file, its conversion by ``mg3d convert-checkpoint``, the command's JSON)."""
    folder = tmp_path_factory.mktemp("official")
    src = folder / "mg3d.ckpt"
    torch.save({"state_dict": {"module." + k: v for k, v in official_b.items()}, "epoch": 3}, src)
    out = folder / "mg3d-swin-b.safetensors"
    result = mg3d("convert-checkpoint", src, out, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return src, out, json.loads(result.stdout)
