"""Trilinear resampling onto an axis-aligned LPS grid, as three 1D interpolations.

When the input's direction is a signed permutation (axial, coronal or sagittal acquisitions, in
RAS or LPS storage: nearly every clinical volume), each output axis reads one input axis, and
trilinear interpolation is the product of three 1D linear interpolations. Each is a small matrix
(two non-zeros a row) applied along one axis with a matrix multiply, which is fast and threaded.
Other (oblique) inputs return None, for SimpleITK's general resampler.
Points more than half a voxel beyond the edge voxel centres take ``fill``, as in SimpleITK.
"""

from __future__ import annotations

import numpy as np


def signed_permutation(direction) -> np.ndarray | None:
    """The direction matrix as integers if it is a signed permutation, else None."""
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    if not np.allclose(np.abs(d), np.round(np.abs(d)), atol=1e-6) or not np.allclose(np.abs(d).sum(0), 1):
        return None
    return np.round(d).astype(int)


def interpolation_matrix(cont: np.ndarray, n: int, nearest: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(len(cont), n) weights for sampling at continuous indices ``cont``, and which are inside."""
    inside = (cont >= -0.5) & (cont <= n - 0.5)
    c = np.clip(cont, 0, n - 1)
    rows = np.arange(len(c))
    w = np.zeros((len(c), n), dtype=np.float32)
    if nearest:
        w[rows, np.rint(c).astype(int)] = 1.0
    else:
        i0 = np.floor(c).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        frac = (c - i0).astype(np.float32)
        np.add.at(w, (rows, i0), 1 - frac)
        np.add.at(w, (rows, i1), frac)
    w[~inside] = 0.0
    return w, inside


def _along(t, dim: int, w):
    """Apply the (m, n) matrix ``w`` along dimension ``dim`` of a contiguous 3D tensor, as one
    matrix product without copies."""
    if dim == 0:
        return (w @ t.reshape(t.shape[0], -1)).view(w.shape[0], *t.shape[1:])
    if dim == 2:
        return (t.reshape(-1, t.shape[2]) @ w.t()).view(*t.shape[:2], w.shape[0])
    return w @ t  # (m, n) @ (a, n, c) -> (a, m, c), broadcast over a


def resample_to_grid(array: np.ndarray, geometry, origin, spacing, size, fill: float, nearest: bool = False):
    """``array`` (z, y, x) with ``geometry`` -> float32 (z, y, x) tensor on the identity-direction
    grid (``origin``, ``spacing``, ``size`` in x, y, z), or None for an oblique input."""
    import torch

    perm = signed_permutation(geometry.direction)
    if perm is None:
        return None
    source = np.asarray(array)
    if not source.flags.writeable:
        source = source.copy()
    t = torch.from_numpy(source).to(torch.float32)  # threaded conversion (a copy unless already float32)
    in_origin, in_spacing = np.asarray(geometry.origin), np.asarray(geometry.spacing)
    inside_of = {}
    axes = [2, 1, 0]  # the LPS/ITK index axis that each tensor dimension holds (input: z, y, x)
    reads = {a: int(np.nonzero(perm[a])[0][0]) for a in range(3)}  # output LPS axis a reads input axis b
    # the axis that shrinks most goes first: later passes then work on less data
    for a in sorted(range(3), key=lambda a: size[a] / array.shape[2 - reads[a]]):
        b = reads[a]
        cont = (origin[a] + np.arange(size[a]) * spacing[a] - in_origin[a]) / (perm[a, b] * in_spacing[b])
        dim = axes.index(b)
        w, inside_of[a] = interpolation_matrix(cont, t.shape[dim], nearest)
        t = _along(t, dim, torch.from_numpy(w))
        axes[dim] = ("out", a)
    # dims now hold output axes; arrange them as (z, y, x) = LPS (2, 1, 0)
    t = t.permute([axes.index(("out", a)) for a in (2, 1, 0)])
    inside = torch.from_numpy(inside_of[2][:, None, None] & inside_of[1][None, :, None] & inside_of[0][None, None, :])
    if not bool(inside.all()):
        t = torch.where(inside, t, torch.tensor(fill, dtype=t.dtype))
    return t  # a (z, y, x) view; the caller makes it contiguous in the order it needs
