"""Segmentation of a volume with a fine-tuned checkpoint: sliding-window inference on the profile's
grid, class probabilities resampled back onto the volume's own grid, the label map written with
the volume's geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.errors import InputError


def load_segmenter(checkpoint, device: str = "auto"):
    """(network on its device, metadata) of a ``mg3d finetune seg`` checkpoint."""
    from ..model.checkpoint import read_checkpoint
    from ..model.config import ModelConfig
    from ..model.factory import pick_device
    from ..model.segmenter import SwinSegmenter

    from ..model.memory import check_fits

    target = pick_device(device)
    check_fits(checkpoint, target)
    state, meta = read_checkpoint(checkpoint)
    if not meta or meta.get("kind") != "segmenter":
        raise InputError(f"{Path(checkpoint).name} is not a segmentation checkpoint "
                         "(make one with: mg3d finetune seg --set checkpoint=... manifest=...)")
    net = SwinSegmenter(ModelConfig.from_dict(meta["model_config"]), len(meta["classes"]) + 1)
    net.load_state_dict(state)
    return net.to(target).eval(), meta


def segment_volume(net, meta: dict, volume, progress=None) -> np.ndarray:
    """uint8 (z, y, x) labels on the volume's grid. ``progress(done, total)`` per class resampled."""
    from ..data.profiles import get_profile
    from ..data.restore import to_original_grid
    from .encode import model_input

    profile = get_profile(meta["profile"])
    x = model_input(volume, profile)  # warns when the modality differs from the profile's
    device = next(net.parameters()).device
    probs = predict_probabilities(net, x.to(device))[0].cpu().numpy()
    best = np.full(volume.array.shape, -1.0, dtype=np.float32)
    labels = np.zeros(volume.array.shape, dtype=np.uint8)
    for k in range(len(probs)):  # one class at a time: memory of two volumes, not of all classes
        p = to_original_grid(probs[k], volume.geometry, volume.array.shape, profile, fill=float(k == 0))
        better = p > best
        labels[better], best[better] = k, p[better]
        if progress is not None:
            progress(k + 1, len(probs))
    return labels


def segment_file(checkpoint, volume_path, out, device: str = "auto") -> dict:
    from ..io.volume import read_volume
    from ..io.writer import write_volume

    volume = read_volume(volume_path)
    net, meta = load_segmenter(checkpoint, device)
    labels = segment_volume(net, meta, volume)
    write_volume(out, labels, volume.geometry)
    names = ["background", *meta["classes"]]
    counts = np.bincount(labels.ravel(), minlength=len(names))
    return {"out": str(out), "classes": meta["classes"], "shape": list(labels.shape),
            "voxels": {names[k]: int(counts[k]) for k in range(1, len(names))}}


def predict_probabilities(net, volume, overlap: float = 0.25):
    """(b, classes, ...) softmax by sliding-window inference over windows of the model's input size
    (``mg3d segment`` and the segmentation fine-tune's validation alike)."""
    import torch
    from monai.inferers import sliding_window_inference

    roi = tuple(net.config.image_size)
    with torch.no_grad():
        logits = sliding_window_inference(volume, roi, 1, net, overlap=overlap, mode="gaussian")
    return torch.softmax(logits, 1)
