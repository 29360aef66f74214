"""Surfaces for the 3D view, in world millimetres (LPS): one per label of a label map, and an
isosurface of an attention heatmap. pyvista only; no Qt."""

from __future__ import annotations

import numpy as np

MAX_FACES = 200_000  # per surface: decimated above this, so the 3D view stays responsive


def _image_data(array: np.ndarray, geometry):
    import pyvista as pv

    nz, ny, nx = array.shape
    grid = pv.ImageData(dimensions=(nx, ny, nz), spacing=geometry.spacing, origin=geometry.origin,
                        direction_matrix=geometry.direction_matrix())
    grid.point_data["values"] = np.ascontiguousarray(array).ravel()  # x fastest: (z, y, x) C order
    return grid


def _tidy(surface):
    if surface.n_cells > MAX_FACES:
        surface = surface.triangulate().decimate(1 - MAX_FACES / surface.n_cells)
    return surface


def label_surfaces(labels: np.ndarray, geometry) -> dict:
    """{label value: PolyData} for each label present (0 is background)."""
    out = {}
    for k in (int(k) for k in np.unique(labels) if k > 0):
        surface = _image_data((labels == k).astype(np.float32), geometry).contour([0.5], scalars="values")
        if surface.n_points:
            out[k] = _tidy(surface.smooth(n_iter=15))
    return out


def isosurface(heat: np.ndarray, geometry, fraction: float = 0.5):
    """The surface where the heatmap crosses ``fraction`` of its range (0: min, 1: max)."""
    lo, hi = float(heat.min()), float(heat.max())
    level = lo + fraction * (hi - lo)
    surface = _image_data(heat.astype(np.float32), geometry).contour([level], scalars="values")
    return _tidy(surface)
