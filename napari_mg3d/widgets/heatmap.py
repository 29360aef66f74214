"""Layers the widgets derive from a volume (attention heatmaps, the outlines beside them): drawn
with the volume's own geometry, named after what they show, updated in place when shown again.

A new layer is made at once when asked for (napari's layer creation is the costly part of showing
a map), empty until its map arrives from the background; filling it later is cheap."""

from __future__ import annotations

import numpy as np

from ..plugin.layers import geometry_metadata, placed_over

ATTENTION = "attention"
OUTLINE = "outline"  # a sentence's finding outlined (inference.outline), a labels layer beside its heatmap
KIND = "mg3d_kind"
MAX_NAME = 60


def is_derived(layer) -> bool:
    return bool((layer.metadata or {}).get(KIND))


def heat_name(text: str) -> str:
    text = " ".join(text.split())
    return f"attention: {text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + '…'}"


WAITING = "(click a sentence)"


def layers_over(viewer, image, kind: str = ATTENTION) -> list:
    """The ``kind`` layers made over ``image``."""
    return [la for la in viewer.layers if (la.metadata or {}).get(KIND) == kind and la.metadata.get("over") == image.name]


def prepare_heatmap_layer(viewer, image, kind: str = ATTENTION):
    """The volume's heatmap layer (and, for attention, its outline's labels layer), made ahead
    (empty) while nothing else runs, so that showing the first map later only fills it."""
    if kind == ATTENTION and not layers_over(viewer, image, OUTLINE):
        outline_layer(viewer, image, WAITING, keep=False)
    if layers_over(viewer, image, kind):
        return None
    return heatmap_layer(viewer, image, WAITING, kind, keep=False)


def _found_or_reused(viewer, image, name: str, kind: str, keep: bool):
    """The layer called ``name``; else, without ``keep``, the volume's one layer of ``kind`` that
    was not kept, renamed; else None (a new layer is to be made)."""
    if name in viewer.layers:
        return viewer.layers[name]
    if not keep:
        reuse = [la for la in layers_over(viewer, image, kind) if not la.metadata.get("kept")]
        if reuse:
            reuse[-1].name = name
            return reuse[-1]
    return None


def heatmap_layer(viewer, image, text: str, kind: str = ATTENTION, keep: bool = True):
    """The layer that will show ``text``'s map over ``image``: its own layer if there is one;
    else, without ``keep``, the volume's one heatmap layer renamed; else a new, empty layer."""
    name = heat_name(text)
    found = _found_or_reused(viewer, image, name, kind, keep)
    if found is not None:
        return found
    empty = np.broadcast_to(np.float32(0), image.data.shape)  # no memory until the map arrives
    layer = viewer.add_image(
        empty, name=name, colormap="inferno", blending="additive", opacity=0.6, contrast_limits=(0.0, 1.0),
        metadata={KIND: kind, "over": image.name, "text": text, "kept": keep}, visible=False, **placed_over(image))
    viewer.layers.selection.active = image  # keep the volume the current case
    return layer


def show_heat(viewer, layer, image, heat: np.ndarray, text: str, extra=None) -> None:
    """Fill ``layer`` with ``heat`` (on ``image``'s grid) and move the view to its peak."""
    # the lower half of the map drawn black (additive: nothing), so its hot part stands out
    lo, hi = float(np.median(heat[:: max(1, heat.shape[0] // 16)])), float(heat.max())
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    layer.metadata = {**layer.metadata, "text": text, "peak_index_zyx": [int(p) for p in peak],
                      **geometry_metadata(image), **(extra or {})}
    layer.data = heat
    layer.contrast_limits = (lo, hi if hi > lo else lo + 1e-6)
    layer.visible = True
    viewer.dims.set_point(0, float(layer.data_to_world(list(peak))[0]))


def add_heatmap(viewer, image, heat: np.ndarray, text: str, kind: str = ATTENTION, extra=None, keep: bool = True):
    layer = heatmap_layer(viewer, image, text, kind, keep)
    show_heat(viewer, layer, image, heat, text, extra)
    return layer


def outline_name(text: str) -> str:
    return heat_name(text).replace("attention: ", "outline: ", 1)


def outline_layer(viewer, image, text: str, keep: bool = True):
    """The labels layer that will show ``text``'s outline over ``image``, found or made as
    ``heatmap_layer`` finds or makes the heatmap's (its own with ``keep``, else the volume's one)."""
    name = outline_name(text)
    found = _found_or_reused(viewer, image, name, OUTLINE, keep)
    if found is not None:
        return found
    layer = viewer.add_labels(
        np.zeros(image.data.shape, np.uint8), name=name, opacity=0.7, visible=False,
        metadata={KIND: OUTLINE, "over": image.name, "text": text, "kept": keep}, **placed_over(image))
    layer.contour = 1  # drawn as an outline: the heatmap and the volume stay visible inside
    viewer.layers.selection.active = image  # keep the volume the current case
    return layer


def show_outline(layer, image, shape, text: str) -> None:
    """Fill ``layer`` with ``shape`` (an ``inference.outline.Outline`` on ``image``'s grid)."""
    layer.metadata = {**layer.metadata, "text": text, "ml": round(shape.ml, 2), "place": shape.place,
                      **geometry_metadata(image)}
    layer.data = shape.mask.astype(np.uint8)
    layer.visible = True
