"""Turn volumes, label maps and reports into napari layer data tuples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..io.geometry import Geometry
from ..io.volume import Volume
from ..io.windows import DEFAULT_CT_WINDOW, contrast_limits


LABEL_NAME = re.compile(r"(seg|label|mask|annot)", re.IGNORECASE)


def is_label_map(volume: Volume) -> bool:
    """A segmentation by its name (seg, label, mask) and its whole non-negative values."""
    a = volume.array
    return (
        bool(LABEL_NAME.search(Path(volume.source).name))
        and np.issubdtype(a.dtype, np.integer)
        and a.min() >= 0
        and a.max() <= 65535
    )


def volume_layer(volume: Volume, report: str | None = None, report_path=None, name: str | None = None) -> tuple:
    """A labels layer for a label map, else an image layer carrying the report."""
    if is_label_map(volume):
        return labels_layer(volume.array, volume.geometry, name or volume.name, volume.source)
    return image_layer(volume, report, report_path, name)


def image_layer(volume: Volume, report: str | None = None, report_path=None, name: str | None = None) -> tuple:
    meta = dict(volume.metadata)
    if report is not None:
        meta["report"] = report
        meta["report_path"] = str(report_path) if report_path else None
    kwargs = {
        "name": name or volume.name,
        "metadata": meta,
        "colormap": "gray",
        **volume.geometry.to_napari(),
    }
    if volume.modality == "CT":
        kwargs["contrast_limits"] = contrast_limits(DEFAULT_CT_WINDOW)
    else:
        lo, hi = np.percentile(volume.array[:: max(1, volume.array.shape[0] // 16)], [0.5, 99.5])
        kwargs["contrast_limits"] = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
    return volume.array, kwargs, "image"


def labels_layer(array: np.ndarray, geometry: Geometry, name: str, source: str = "", names=None) -> tuple:
    """A labels layer on ``geometry``; integer-valued float maps are converted, others refused."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.integer) and array.dtype != bool:
        as_int = array.astype(np.int32)
        if not np.array_equal(as_int, array):
            from ..io.errors import InputError

            raise InputError(f"{name}: a label map must hold whole numbers, not {array.dtype} intensities")
        array = as_int
    meta = {**geometry.as_dict(), "source": source}
    if names:
        meta["label_names"] = {int(k): v for k, v in names.items()}
    return array, {"name": name, "metadata": meta, "opacity": 0.4, **geometry.to_napari()}, "labels"


def layer_volume(layer) -> Volume:
    """A napari image or labels layer as a Volume: its data with the geometry it is drawn with
    (the layer's scale, translate, rotate and affine), so results overlay it exactly."""
    data = np.asarray(layer.data)
    if data.ndim != 3:
        from ..io.errors import InputError

        raise InputError(f"{layer.name}: a 3D volume is needed, this layer has {data.ndim} dimensions")
    geometry = Geometry.from_napari(layer.scale, layer.translate, layer.rotate, layer.affine.affine_matrix)
    meta = layer.metadata or {}
    return Volume(data, geometry, meta.get("source", ""), layer.name, meta.get("modality", "unknown"),
                  nonfinite=int(meta.get("nonfinite", 0)))


def layer_report(layer) -> str:
    return (layer.metadata or {}).get("report") or ""


def placed_over(layer) -> dict:
    """Keyword arguments that draw a new layer exactly over ``layer`` (same grid): its transform."""
    return {"scale": layer.scale, "translate": layer.translate, "rotate": layer.rotate,
            "affine": layer.affine.affine_matrix}


def geometry_metadata(layer) -> dict:
    """The spacing, origin and direction ``layer`` carries in its metadata (those it was read with)."""
    return {k: v for k, v in (layer.metadata or {}).items() if k in ("spacing", "origin", "direction")}
