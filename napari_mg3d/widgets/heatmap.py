"""Layers the widgets derive from a volume (attention heatmaps): drawn with the volume's own
geometry, named after what they show, updated in place when shown again."""

from __future__ import annotations

import numpy as np

ATTENTION = "attention"
KIND = "mg3d_kind"
MAX_NAME = 60


def is_derived(layer) -> bool:
    return bool((layer.metadata or {}).get(KIND))


def heat_name(text: str) -> str:
    text = " ".join(text.split())
    return f"attention: {text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + '…'}"


def add_heatmap(viewer, image, heat: np.ndarray, text: str, kind: str = ATTENTION, extra=None):
    """A heatmap layer over ``image`` (same grid), inferno, additive; the view moves to its peak."""
    name = heat_name(text)
    lo, hi = float(heat.min()), float(heat.max())
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    meta = {KIND: kind, "text": text, "over": image.name, "peak_index_zyx": [int(p) for p in peak],
            **{k: v for k, v in (image.metadata or {}).items() if k in ("spacing", "origin", "direction")},
            **(extra or {})}
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data, layer.metadata = heat, meta
        layer.contrast_limits = (lo, hi if hi > lo else lo + 1e-6)
    else:
        layer = viewer.add_image(
            heat, name=name, colormap="inferno", blending="additive", opacity=0.6, metadata=meta,
            contrast_limits=(lo, hi if hi > lo else lo + 1e-6), scale=image.scale, translate=image.translate,
            rotate=image.rotate, affine=image.affine.affine_matrix)
    layer.visible = True
    viewer.layers.selection.active = image  # keep the volume the current case
    world = layer.data_to_world(list(peak))
    viewer.dims.set_point(0, float(world[0]))
    return layer
