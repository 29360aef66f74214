"""Drawing helpers for the synthetic generator: the voxel grid in millimetres, the chest's frame
(a small in-plane rotation and shift of the whole patient) and solid shapes (ellipsoids, tubes)
drawn only inside their bounding boxes, so that many small shapes stay cheap.

Coordinates are (z, y, x) millimetres in LPS (x to the patient's left, y to the back, z to the
head), zero at the volume's centre.
"""

from __future__ import annotations

import numpy as np


class Grid:
    """The voxel centres of a volume of ``shape`` (z, y, x) with ``spacing`` mm, centred on zero."""

    def __init__(self, shape, spacing_zyx):
        self.shape = tuple(int(n) for n in shape)
        self.spacing = np.asarray(spacing_zyx, dtype=float)
        self.half = (np.asarray(self.shape) - 1) * self.spacing / 2  # centre to the edge voxel, mm
        self.axes = [np.arange(n) * s - h for n, s, h in zip(self.shape, self.spacing, self.half)]
        self._last = np.asarray(self.shape) - 1
        self.z = self.axes[0][:, None, None]
        self.y = self.axes[1][None, :, None]
        self.x = self.axes[2][None, None, :]

    def index(self, p) -> tuple[int, int, int]:
        """The voxel nearest to point ``p`` (clipped into the volume)."""
        idx = np.rint((np.asarray(p, dtype=float) + self.half) / self.spacing)
        return tuple(np.minimum(np.maximum(idx, 0), self._last).astype(int).tolist())

    def point(self, index) -> np.ndarray:
        """The centre of voxel ``index`` in mm."""
        return np.asarray(index, dtype=float) * self.spacing - self.half

    def box(self, lo, hi) -> tuple[slice, slice, slice]:
        """Voxel slices covering the mm box [lo, hi] (possibly empty)."""
        out = []
        for i in range(3):
            a = int(np.ceil((lo[i] + self.half[i]) / self.spacing[i] - 1e-9))
            b = int(np.floor((hi[i] + self.half[i]) / self.spacing[i] + 1e-9)) + 1
            out.append(slice(max(a, 0), min(max(b, 0), self.shape[i])))
        return tuple(out)

    def local(self, sl):
        """Coordinates (z, y, x) of the voxels in ``sl``, broadcastable."""
        return (self.axes[0][sl[0]][:, None, None], self.axes[1][sl[1]][None, :, None],
                self.axes[2][sl[2]][None, None, :])


class Frame:
    """The patient's own axes: the chest is turned by ``angle`` (radians, about z) and shifted by
    (dy, dx) mm in the scanner. ``X``, ``Y`` are the body coordinates of every (y, x) voxel."""

    def __init__(self, grid: Grid, angle: float, dy: float, dx: float):
        self.c, self.s, self.dy, self.dx = np.cos(angle), np.sin(angle), dy, dx
        gy, gx = grid.y[0], grid.x[0]  # (ny, 1), (1, nx)
        self.X = (self.c * (gx - dx) + self.s * (gy - dy))[None]  # (1, ny, nx)
        self.Y = (-self.s * (gx - dx) + self.c * (gy - dy))[None]

    def scan(self, p) -> np.ndarray:
        """Scanner (z, y, x) of a body point (z, y, x)."""
        z, y, x = p
        return np.array([z, self.s * x + self.c * y + self.dy, self.c * x - self.s * y + self.dx])


class Patch:
    """A bool mask that lives in the box ``sl`` of a volume."""

    def __init__(self, sl, mask):
        self.sl, self.mask = sl, mask

    def empty(self) -> bool:
        return self.mask.size == 0 or not self.mask.any()

    def full(self, shape) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        out[self.sl] |= self.mask
        return out

    def paint(self, volume, value) -> None:
        volume[self.sl][self.mask] = value

    def into(self, mask) -> None:
        mask[self.sl] |= self.mask


def ellipsoid(grid: Grid, centre, radii) -> Patch:
    """Voxels within the ellipsoid (radii in mm, per axis; each at least half a voxel, so a small
    shape is never lost between voxel centres), and always the voxel nearest to its centre."""
    c = np.asarray(centre, dtype=float)
    r = np.maximum(np.broadcast_to(np.asarray(radii, dtype=float), (3,)), grid.spacing / 2)
    sl = grid.box(c - r, c + r)
    z, y, x = grid.local(sl)
    mask = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1
    patch = Patch(sl, mask)
    _keep_nearest(grid, patch, c)
    return patch


def segment(grid: Grid, p0, p1, r0: float, r1: float | None = None) -> Patch:
    """A tube from ``p0`` to ``p1`` whose radius goes from ``r0`` to ``r1`` (mm, each axis at least
    half a voxel, so a thin line stays connected)."""
    p0, p1 = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    r1 = r0 if r1 is None else r1
    reach = np.maximum(max(r0, r1), grid.spacing / 2)
    sl = grid.box(np.minimum(p0, p1) - reach, np.maximum(p0, p1) + reach)
    z, y, x = grid.local(sl)
    d = p1 - p0
    length2 = float(d @ d) or 1e-9
    t = np.clip(((z - p0[0]) * d[0] + (y - p0[1]) * d[1] + (x - p0[2]) * d[2]) / length2, 0, 1)
    r = r0 + (r1 - r0) * t
    total = 0.0
    for axis, coord in enumerate((z, y, x)):
        total = total + ((coord - p0[axis] - t * d[axis]) / np.maximum(r, grid.spacing[axis] / 2)) ** 2
    mask = total <= 1
    patch = Patch(sl, mask)
    _keep_nearest(grid, patch, p0)
    return patch


def path(grid: Grid, points, radii, shape=None) -> np.ndarray:
    """A full-size bool mask of tubes through ``points`` (radius per point, mm)."""
    out = np.zeros(shape or grid.shape, dtype=bool)
    radii = np.broadcast_to(np.asarray(radii, dtype=float), (len(points),))
    for k in range(len(points) - 1):
        segment(grid, points[k], points[k + 1], radii[k], radii[k + 1]).into(out)
    return out


def _keep_nearest(grid: Grid, patch: Patch, c) -> None:
    """Sets the voxel nearest to ``c`` when it lies inside the patch's box."""
    idx = grid.index(c)
    local = tuple(i - s.start for i, s in zip(idx, patch.sl))
    if all(0 <= i < n for i, n in zip(local, patch.mask.shape)) and (np.abs(grid.point(idx) - c) <= grid.spacing).all():
        patch.mask[local] = True
