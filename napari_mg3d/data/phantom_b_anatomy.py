"""Family B anatomy: a chest assembled from superellipse cross-sections, rotated ellipsoids and
tapered tubes, in patient coordinates u (to the patient's left), v (posterior), w (superior), mm.

Each case gets its own habitus (body and chest-wall size, fat), a small in-plane rotation and a shift,
so no fixed template carries a finding's signal. Shapes are evaluated in bounding boxes where they
are small (tubes, ellipsoids), and textures are coarse random fields interpolated up (correlated,
not white).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

ORGANS = {
    1: "lung_upper_lobe_left", 2: "lung_lower_lobe_left", 3: "lung_upper_lobe_right",
    4: "lung_middle_lobe_right", 5: "lung_lower_lobe_right", 6: "trachea", 7: "esophagus", 8: "heart",
    9: "aorta", 10: "pulmonary_artery", 11: "superior_vena_cava", 12: "vertebrae", 13: "ribs", 14: "sternum",
    15: "liver", 16: "stomach", 17: "spleen",
}
ID = {name: key for key, name in ORGANS.items()}
LOBE_ORGAN = {"right upper lobe": 3, "right middle lobe": 4, "right lower lobe": 5, "left upper lobe": 1,
              "left lower lobe": 2}
LUNG_IDS = (1, 2, 3, 4, 5)
F32 = np.float32


class Grid:
    """Voxel centres of a volume centred at 0 mm, seen in patient coordinates (rotated, shifted)."""

    def __init__(self, shape, spacing_xyz, rot: float, shift):
        self.shape = shape
        nz, ny, nx = shape
        sx, sy, sz = spacing_xyz
        self.spacing = np.array([sz, sy, sx])
        x, y, z = ((np.arange(n) - (n - 1) / 2) * s for n, s in ((nx, sx), (ny, sy), (nz, sz)))
        self.first = np.array([z[0], y[0], x[0]])
        self.rot, self.shift = rot, np.asarray(shift, float)
        c, s = np.cos(rot), np.sin(rot)
        dx, dy = x[None, :] - shift[0], y[:, None] - shift[1]
        self.u = (c * dx + s * dy).astype(F32)[None]
        self.v = (-s * dx + c * dy).astype(F32)[None]
        self.w = (z - shift[2]).astype(F32)[:, None, None]

    def to_world(self, p):
        u, v, w = p
        c, s = np.cos(self.rot), np.sin(self.rot)
        return np.array([c * u - s * v + self.shift[0], s * u + c * v + self.shift[1], w + self.shift[2]])

    def box(self, lo, hi):
        """Slices (z, y, x) covering the patient-space box [lo, hi], or None when outside the volume."""
        corners = [self.to_world((a, b, lo[2])) for a in (lo[0], hi[0]) for b in (lo[1], hi[1])]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        wlo, whi = self.to_world(lo)[2], self.to_world(hi)[2]
        out = []
        for axis, (a, b) in enumerate(((wlo, whi), (min(ys), max(ys)), (min(xs), max(xs)))):
            i0 = max(int(np.ceil((a - self.first[axis]) / self.spacing[axis])), 0)
            i1 = min(int(np.floor((b - self.first[axis]) / self.spacing[axis])) + 1, self.shape[axis])
            if i1 <= i0:
                return None
            out.append(slice(i0, i1))
        return tuple(out)

    def local(self, box):
        return self.u[:, box[1], box[2]], self.v[:, box[1], box[2]], self.w[box[0]]


def make_grid(rng, shape, spacing_xyz) -> Grid:
    rot = float(rng.uniform(-0.08, 0.08))
    shift = (float(rng.uniform(-8, 8)), float(rng.uniform(-5, 9)), float(rng.uniform(-10, 10)))
    return Grid(shape, spacing_xyz, rot, shift)


def smooth_field(rng, shape, coarse) -> np.ndarray:
    """Unit-variance-ish random field: coarse normal noise, linearly interpolated up to ``shape``
    (gathers and lerps, one axis at a time: no BLAS threads, which contend on a busy machine)."""
    out = rng.standard_normal(coarse).astype(F32) * F32(1.6)  # makes up for the variance lerping loses
    for axis, (n, c) in enumerate(zip(shape, coarse)):
        pos = np.linspace(0, c - 1, n)
        lo = np.clip(np.floor(pos).astype(int), 0, max(c - 2, 0))
        frac = (pos - lo).astype(F32)
        hi = np.minimum(lo + 1, c - 1)
        view = [1, 1, 1]
        view[axis] = n
        a, b = np.take(out, lo, axis=axis), np.take(out, hi, axis=axis)
        b -= a
        b *= frac.reshape(view)
        a += b
        out = a
    return out


def tube(grid, p0, p1, r0, r1, pad=3.0):
    """(box, signed distance to a tapered tube from p0 (radius r0) to p1 (r1)) or None."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    m = max(r0, r1) + pad
    box = grid.box(np.minimum(p0, p1) - m, np.maximum(p0, p1) + m)
    if box is None:
        return None
    U, V, W = grid.local(box)
    d = p1 - p0
    L2 = max(float(d @ d), 1e-6)
    t = np.clip(((U - p0[0]) * d[0] + (V - p0[1]) * d[1] + (W - p0[2]) * d[2]) / L2, 0, 1).astype(F32)
    dist = np.sqrt((U - p0[0] - t * d[0]) ** 2 + (V - p0[1] - t * d[1]) ** 2 + (W - p0[2] - t * d[2]) ** 2)
    return box, dist - (r0 + (r1 - r0) * t)


def ellipsoid(grid, centre, axes, rot=None, pad=1.0):
    """(box, q) with q < 1 inside the ellipsoid (principal directions are the rows of ``rot``)."""
    c = np.asarray(centre, float)
    m = max(axes) * pad + 3
    box = grid.box(c - m, c + m)
    if box is None:
        return None
    U, V, W = grid.local(box)
    rot = np.eye(3) if rot is None else np.asarray(rot, float)
    q = 0
    for row, a in zip(rot, axes):
        e = (U - c[0]) * F32(row[0]) + (V - c[1]) * F32(row[1]) + (W - c[2]) * F32(row[2])
        q = q + (e / F32(a)) ** 2
    return box, q


def rotation(yaw: float, pitch: float) -> np.ndarray:
    """Rows: a long axis turned ``yaw`` from +u towards -v (anterior), tipped ``pitch`` down, and two normals."""
    a = np.array([np.cos(yaw) * np.cos(pitch), -np.sin(yaw) * np.cos(pitch), -np.sin(pitch)])
    b = np.cross(a, [0.0, 0.0, 1.0])
    b /= np.linalg.norm(b)
    return np.stack([a, b, np.cross(a, b)])


def polyline(points, n=8):
    """Quadratic Bezier through three control points, as n+1 points."""
    p0, p1, p2 = (np.asarray(p, float) for p in points)
    t = np.linspace(0, 1, n + 1)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def blend(image, box, frac, value):
    region = image[box]
    region += frac * (F32(value) - region)


def soft(sd, width=1.5):
    return np.clip(F32(0.5) - sd / F32(width), 0, 1)


def build_anatomy(rng, grid: Grid, ctr: float) -> SimpleNamespace:
    """Image (float32 HU), organ labels and the landmarks findings need. ``ctr``: cardiothoracic ratio."""
    from .phantom_b_organs import draw_chest

    return draw_chest(rng, grid, ctr)
