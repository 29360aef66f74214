"""napari writers for image and labels layers, keeping the layer's world geometry."""

from __future__ import annotations

from ..io.errors import InputError
from ..io.geometry import Geometry
from ..io.writer import write_volume


def write_image(path: str, data, meta: dict) -> list[str]:
    return _write(path, data, meta)


def write_labels(path: str, data, meta: dict) -> list[str]:
    return _write(path, data, meta)


def layer_geometry(meta: dict, ndim: int) -> Geometry:
    """The geometry shown in the viewer (scale, translate, rotate, affine)."""
    return Geometry.from_napari(
        meta.get("scale", (1.0,) * ndim),
        meta.get("translate", (0.0,) * ndim),
        meta.get("rotate", [[float(i == j) for j in range(ndim)] for i in range(ndim)]),
        meta.get("affine"),
    )


def _write(path: str, data, meta: dict) -> list[str]:
    try:
        ndim = getattr(data, "ndim", 0)
        if ndim != 3:
            raise InputError(f"cannot write {path}: layer is {ndim}D, a 3D volume is needed")
        out = write_volume(path, data, layer_geometry(meta, ndim))
    except InputError as exc:
        from napari.utils.notifications import show_error

        show_error(str(exc))
        return []
    return [str(out)]
