"""Image geometry (spacing, origin, direction) and its mapping onto napari layer transforms.

SimpleITK orders axes (x, y, z) and maps a voxel index ``i`` to the physical point
``origin + direction @ (spacing * i)`` in LPS millimetres. ``GetArrayFromImage`` returns arrays in
(z, y, x) order, which is the order napari sees, so napari's transforms are the SimpleITK ones with
every axis reversed. A direction with determinant -1 (a reflection) cannot be a napari ``rotate``;
the reflection is then folded into the sign of one ``scale`` entry, which keeps the mapping exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """Geometry in SimpleITK (x, y, z) order."""

    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]  # row-major, ndim * ndim

    @property
    def ndim(self) -> int:
        return len(self.spacing)

    @classmethod
    def from_sitk(cls, image) -> "Geometry":
        return cls(tuple(image.GetSpacing()), tuple(image.GetOrigin()), tuple(image.GetDirection()))

    @classmethod
    def identity(cls, ndim: int = 3) -> "Geometry":
        return cls((1.0,) * ndim, (0.0,) * ndim, tuple(np.eye(ndim).ravel().tolist()))

    def apply_to(self, image) -> None:
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)

    def direction_matrix(self) -> np.ndarray:
        return np.asarray(self.direction, dtype=float).reshape(self.ndim, self.ndim)

    def index_to_world(self, index_xyz) -> np.ndarray:
        """LPS millimetres of a voxel index (x, y, z), as SimpleITK's TransformIndexToPhysicalPoint."""
        return np.asarray(self.origin) + self.direction_matrix() @ (np.asarray(index_xyz, float) * np.asarray(self.spacing))

    def to_napari(self) -> dict:
        """``scale``, ``translate`` and ``rotate`` (napari order) for a layer of this geometry."""
        d = self.direction_matrix()[::-1, ::-1]
        scale = np.asarray(self.spacing[::-1], dtype=float)
        if np.linalg.det(d) < 0:
            # direction = proper rotation @ diag(flip); flip the last napari axis (SimpleITK x).
            d = d.copy()
            d[:, -1] = -d[:, -1]
            scale[-1] = -scale[-1]
        return {
            "scale": tuple(scale.tolist()),
            "translate": tuple(float(v) for v in self.origin[::-1]),
            "rotate": d.tolist(),
        }

    @classmethod
    def from_napari(cls, scale, translate, rotate, affine=None) -> "Geometry":
        """Inverse of :meth:`to_napari`; exact when ``affine`` is absent or the identity."""
        scale = np.asarray(scale, dtype=float)
        translate = np.asarray(translate, dtype=float)
        rot = np.asarray(rotate, dtype=float)
        n = scale.size
        if affine is not None and not np.array_equal(np.asarray(affine, dtype=float), np.eye(n + 1)):
            full = np.asarray(affine, dtype=float) @ _homogeneous(rot * scale, translate)
            linear, translate = full[:n, :n], full[:n, n]
            scale = np.linalg.norm(linear, axis=0)
            rot = linear / scale
        else:
            rot = rot * np.sign(scale)
            scale = np.abs(scale)
        return cls(
            tuple(scale[::-1].tolist()),
            tuple(translate[::-1].tolist()),
            tuple(rot[::-1, ::-1].ravel().tolist()),
        )

    def napari_affine(self) -> np.ndarray:
        """The full data-to-world matrix (napari order), homogeneous."""
        t = self.to_napari()
        return _homogeneous(np.asarray(t["rotate"]) * np.asarray(t["scale"]), np.asarray(t["translate"]))

    def as_dict(self) -> dict:
        return {"spacing": list(self.spacing), "origin": list(self.origin), "direction": list(self.direction)}


def _homogeneous(linear: np.ndarray, translate: np.ndarray) -> np.ndarray:
    n = translate.size
    m = np.eye(n + 1)
    m[:n, :n] = linear
    m[:n, n] = translate
    return m
