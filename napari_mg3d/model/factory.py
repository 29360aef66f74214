"""``create_model(name, checkpoint=None, device=...)``: a named architecture, optionally with weights."""

from __future__ import annotations

import torch

from .config import ModelConfig, get_config


def pick_device(device: str = "auto") -> torch.device:
    """auto: CUDA, then MPS, then CPU; or the device named."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def create_model(name: str | ModelConfig, checkpoint=None, device: str = "auto", pretrained_text: bool | None = None,
                 **overrides):
    """Build ``name`` (a config name or a ModelConfig); load ``checkpoint`` (ours or official) if given.

    The text encoder's pretrained weights are fetched only when no checkpoint brings them (a
    checkpoint of a frozen text encoder names it instead, and loading checks it is the same).
    """
    from .mg3d import MG3D

    meta = _safetensors_meta(checkpoint)  # the header, read once
    if isinstance(name, ModelConfig):
        config = name
    elif checkpoint is not None and not overrides and meta.get("model_config") is not None:
        config = ModelConfig.from_dict(meta["model_config"])  # the checkpoint knows its model
    else:
        config = get_config(name, **overrides)
    if pretrained_text is None:
        from .text_source import leaves_out

        pretrained_text = checkpoint is None or leaves_out(meta)
    target = pick_device(device)
    if checkpoint is not None:
        from .memory import check_fits

        check_fits(checkpoint, target)
    model = MG3D(config, pretrained_text=pretrained_text)
    if checkpoint is not None:
        from .checkpoint import load_into

        load_into(model, checkpoint)
    return model.to(target)


def _safetensors_meta(checkpoint) -> dict:
    """The metadata of an ``.safetensors`` checkpoint of ours; {} for none, or another format."""
    from pathlib import Path

    if checkpoint is None or Path(str(checkpoint)).suffix != ".safetensors":
        return {}
    from .checkpoint import read_metadata

    return read_metadata(checkpoint) or {}
