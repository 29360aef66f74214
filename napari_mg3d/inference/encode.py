"""A volume (or a file) through a checkpoint's own preprocessing profile into model inputs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np


@dataclass
class Loaded:
    model: object  # MG3D, eval mode, on its device
    profile: object  # data.profiles.Profile
    prompts: list | None  # the label prompt sets the checkpoint carries (dicts), if any


def load_model(checkpoint, device: str = "auto") -> Loaded:
    from ..data.profiles import get_profile
    from ..model.checkpoint import read_metadata
    from ..model.factory import create_model

    model = create_model("mg3d-tiny", checkpoint=checkpoint, device=device).eval()
    meta = read_metadata(checkpoint) or {}
    profile = get_profile(meta.get("profile") or model.config.profile)
    return Loaded(model, profile, meta.get("prompts"))


def model_input(volume, profile):
    """(1, 1, ...) float tensor of a Volume on the profile's grid; warns on a modality mismatch."""
    import torch

    from ..data.preprocess import preprocess_array
    from .modality_check import modality_warning

    warning = modality_warning(volume.modality, profile)
    if warning:
        warnings.warn(warning, stacklevel=2)
    return torch.from_numpy(np.ascontiguousarray(preprocess_array(volume.array, volume.geometry, profile)))[None, None]
