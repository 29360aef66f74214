"""Checkpoints: ours (safetensors with JSON metadata) and the official MG-3D release.

Official files (a Lightning checkpoint with ``state_dict``, or a plain state dict, with or without
``module.``/``model.`` prefixes) are read with ``torch.load(weights_only=True)`` only: a file that
needs code execution to load is refused. Our module names follow the official ones, so conversion
keeps every key it uses and leaves out, by name, the modules the official forward never uses
(docs/method.md lists them and why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..io.atomic import atomic_path
from ..io.errors import InputError

# official modules that no loss uses (or that were never called); left out, counted, explained
LEFT_OUT = {
    "uni_emd_img.": "defined but never used in the official forward",
    "local_cross_attention.": "never used after construction",
    "multi_modal_vision_layers.": "BertCrossLayers never used (PTUnifier leftover)",
    "multi_modal_language_layers.": "BertCrossLayers never used (PTUnifier leftover)",
    "agg_text_cross_attention.": "run, but its output feeds no loss",
    "uni_modal_language_pooler.": "feeds no loss",
    "multi_modal_language_pooler.": "feeds no loss",
    "multi_modal_agg_vision_pooler.global_attention.": "constructed, forward uses only dense",
    "mim_swin_unter_head.fc.": "run, but its output is discarded",
    "language_encoder.pooler.": "BERT pooler, never called",
    "language_encoder.embeddings.position_ids": "buffer saved by old transformers; rebuilt",
}
LEFT_OUT_PATTERNS = (".fc1.", ".fc2.")  # inside local_*_cross_multihead_attention: calls commented out
METADATA_KEY = "mg3d"
# heads only pre-training reads (the MLM vocabulary decoder: 12 of mg3d-tiny's 15 MB; the MIM
# decoder): a checkpoint for the viewer may leave them out (``slim_copy``)
PRETRAINING_ONLY = ("mlm_head.decoder.", "mlm_head.bias", "mim_swin_unter_head.")


@dataclass
class LoadReport:
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    official: bool = False
    text_from: dict | None = None  # the named frozen text encoder (not in the file), when so

    def summary(self) -> str:
        left = sum(self.left_out.values())
        return (f"loaded {self.loaded}, missing {len(self.missing)}, unexpected {len(self.unexpected)}, "
                f"left out {left} (unused in the official forward)")


def save_checkpoint(model, path: str | Path, profile: dict | None = None, prompts: list | None = None,
                    extra: dict | None = None, full: bool = False) -> Path:
    """Write weights (safetensors) and metadata atomically. A frozen text encoder whose weights a
    Python package holds is named, not written (``text_source``), unless ``full``."""
    from safetensors.torch import save_file

    from .. import __version__
    from . import text_source

    path = Path(path)
    meta = {
        "model_config": model.config.to_dict(),
        "profile": profile,
        "prompts": prompts,
        "package_version": __version__,
        **(extra or {}),
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    encoder = getattr(model, "language_encoder", None)
    if not full and encoder is not None and text_source.leavable(model.config.text):
        meta["text_encoder"] = text_source.describe(model.config.text.name, encoder)
        state = {k: v for k, v in state.items() if not k.startswith(text_source.PREFIX)}
    with atomic_path(path, ".safetensors") as tmp:
        save_file(state, tmp, metadata={METADATA_KEY: json.dumps(meta)})
    return path


def slim_copy(source: str | Path, target: str | Path, meta_update: dict | None = None) -> Path:
    """``source`` without the heads only pre-training reads, for the viewer; its metadata says so
    (``without``), and loading it reports those keys as left out, not missing."""
    from safetensors.torch import save_file

    state, meta = read_checkpoint(source)
    if meta is None:
        raise InputError(f"{Path(source).name} is not a napari-mg3d checkpoint")
    state = {k: v.contiguous() for k, v in state.items() if not k.startswith(PRETRAINING_ONLY)}
    meta = {**meta, **(meta_update or {}), "without": list(PRETRAINING_ONLY)}
    with atomic_path(Path(target), ".safetensors") as tmp:  # keys sorted: the same record, the same bytes
        save_file(state, tmp, metadata={METADATA_KEY: json.dumps(meta, sort_keys=True)})
    return Path(target)


def read_metadata(path: str | Path) -> dict | None:
    """Our JSON metadata of a safetensors checkpoint, without reading the weights."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # not a safetensors file: no metadata
        return None
    return json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else None


def read_checkpoint(path: str | Path) -> tuple[dict, dict | None]:
    """(state dict, our metadata or None for an official file)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"checkpoint {path.name} is empty (0 bytes)")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # safetensors raises its own error types
            raise InputError(f"cannot read {path.name} as safetensors: {exc}") from None
        return state, json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise InputError(
                f"{path.name} needs code execution to load (pickled objects); refused. "
                "Re-save its state_dict with torch.save or as safetensors"
            ) from None
        raise InputError(f"cannot read {path.name} as a PyTorch checkpoint: {str(exc).splitlines()[0]}") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path.name} holds no state dict")
    return strip_prefixes(state), None


def strip_prefixes(state: dict) -> dict:
    for prefix in ("module.", "model.", "_orig_mod."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def left_out_reason(key: str) -> str | None:
    for prefix, reason in LEFT_OUT.items():
        if key.startswith(prefix):
            return prefix
    if key.startswith(("local_img_cross_multihead_attention.", "local_text_cross_multihead_attention.")) and any(
        p in key for p in LEFT_OUT_PATTERNS
    ):
        return key.split(".")[0] + ".*" + next(p for p in LEFT_OUT_PATTERNS if p in key).rstrip(".")
    return None


def convert_official(state: dict, model_state: dict) -> tuple[dict, LoadReport]:
    """Map an official state dict onto ours; count what was loaded, missing, unexpected, left out."""
    report = LoadReport(official=True)
    out = {}
    for key, value in state.items():
        reason = left_out_reason(key)
        if reason is not None:
            report.left_out[reason] = report.left_out.get(reason, 0) + 1
        elif key in model_state:
            if tuple(model_state[key].shape) != tuple(value.shape):
                raise InputError(f"checkpoint key {key} has shape {tuple(value.shape)}, "
                                 f"the model needs {tuple(model_state[key].shape)} (another architecture?)")
            out[key] = value
        else:
            report.unexpected.append(key)
    report.loaded = len(out)
    report.missing = [k for k in model_state if k not in out]
    return out, report


def is_official(state: dict) -> bool:
    return any(left_out_reason(k) for k in state) or "uni_emd_img.0.weight" in state


def architecture_of(state: dict) -> str:
    """mg3d-swin-b or mg3d-swin-l from the patch embedding width."""
    width = state.get("vision_encoder.patch_embed.proj.weight")
    if width is None:
        raise InputError("checkpoint has no vision encoder (vision_encoder.patch_embed.proj.weight)")
    widths = {48: "mg3d-swin-b", 96: "mg3d-swin-l"}
    if int(width.shape[0]) not in widths:
        raise InputError(f"the checkpoint's vision encoder is {int(width.shape[0])} channels wide: neither Swin-B (48) "
                         "nor Swin-L (96), the two official MG-3D architectures")
    return widths[int(width.shape[0])]


def load_into(model, checkpoint: str | Path) -> LoadReport:
    """Load ``checkpoint`` into ``model``; a text encoder the checkpoint names rather than carries
    must already be in ``model`` (built pretrained) and is checked to be the same."""
    from . import text_source

    state, meta = read_checkpoint(checkpoint)
    model_state = model.state_dict()
    named = text_source.leaves_out(meta)
    if named:
        text_source.check(meta["text_encoder"], model.language_encoder)
        model_state = {k: v for k, v in model_state.items() if not k.startswith(text_source.PREFIX)}
    if meta and meta.get("without"):  # heads left out on purpose (slim_copy): not missing
        model_state = {k: v for k, v in model_state.items() if not k.startswith(tuple(meta["without"]))}
    if meta is None and is_official(state):
        state, report = convert_official(state, model_state)
    else:
        report = LoadReport(loaded=sum(k in model_state for k in state))
        report.unexpected = [k for k in state if k not in model_state]
        report.missing = [k for k in model_state if k not in state]
        state = {k: v for k, v in state.items() if k in model_state}
    model.load_state_dict(state, strict=False)
    report.text_from = meta["text_encoder"] if named else None
    model.load_report = report
    return report
