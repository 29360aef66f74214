"""An outline that follows the image: the map says where a finding is, the volume's intensities say
where it ends.

A sentence's map is read on the model's grid (5.5 mm for ``synthetic-tiny``) and falls off smoothly
around what it finds, so an outline cut from it alone is a blob of that grid's size: a 6 mm nodule
is outlined at tens of times its volume, an effusion's edge is off by a grid cell. The rule here
(``refine``) keeps, of the map's outline (``inference.outline``) grown by ``GROW_MM`` in the body,
the voxels whose intensity the map favours:

- the grown outline's intensities are cut into ``BINS`` bins of equal counts (quantiles: no unit
  assumed, so CT and MR alike);
- a bin is favoured where the mean of the map over its voxels exceeds the map's mean over the whole
  grown outline by more than ``Z`` standard errors (the map's standard deviation there over the
  square root of the bin's count): more than chance would put it there, so a bin of few voxels
  needs a clear lead;
- a voxel is kept where its bin is favoured, in the pieces (6-neighbours) of kept voxels that reach
  into the map's own outline.

So the intensities found where the map is high (a nodule's soft tissue in the lung, an effusion's
fluid, a plaque's calcium) are kept, those found as much where it is low (the lung around the
nodule) are not; where the map favours no intensity the outline keeps little. It reads the
volume's own voxels at their own spacing: an outline can be finer than the model's grid.
The constants were chosen on seed-0 synthetic training cases only (32 family-A cases, the 167
sentences naming a finding with a mask, the learning sweep's 500-step model, each label's level
chosen for each setting as a run chooses it): mean Dice over findings 0.482, 0.504, 0.510 growing
by 5.5, 8 and 11 mm (the map alone 0.393); at 8 mm 0.498 at Z = 1.5, at 5.5 mm 0.466 at Z = 3; a
growth chosen per label as well did not hold on held-out cases (0.417 against 0.418 at 11 mm).
The rule's limit: a finding against a structure of its own intensity (an effusion against the
chest wall, a lymph node among vessels) spills into it. Held-out figures: ``bench/attention.py``.
"""

from __future__ import annotations

import numpy as np

GROW_MM = 11.0  # the map's outline is grown this far (mm) before the image decides: two cells of synthetic-tiny's grid
BINS = 64  # intensity bins of equal counts over the grown outline
BLOCK_MM = 2.75  # finer voxels are grown in blocks of about this size (``_grown``)
Z = 2.0  # standard errors by which a bin's mean map value must exceed the grown outline's


def refine(heat: np.ndarray, image: np.ndarray, region: np.ndarray, body: np.ndarray | None,
           spacing_xyz, grow_mm: float = GROW_MM) -> np.ndarray:
    """Bool (z, y, x): the voxels of ``region`` (the map's outline) grown by ``grow_mm`` whose
    intensity in ``image`` the map ``heat`` favours (see the module's docstring); all three on one
    grid of spacing ``spacing_xyz`` (mm, x y z)."""
    from scipy import ndimage

    if not region.any():
        return region
    spacing_zyx = np.asarray(spacing_xyz, float)[::-1]
    box = _box(region, np.ceil(grow_mm / spacing_zyx).astype(int) + 1)
    inner = region[box]
    grown = _grown(inner, spacing_zyx, grow_mm)
    if body is not None:
        grown &= body[box]
    if not grown.any():
        return np.zeros(region.shape, bool)
    h = heat[box][grown].astype(np.float64)
    values = image[box][grown].astype(np.float64)
    sample = values[:: max(1, len(values) // 1_000_000)]  # the bins' edges from at most a million
    edges = np.unique(np.quantile(sample, np.linspace(0, 1, BINS + 1)[1:-1]))
    bins = np.searchsorted(edges, values, side="right")
    count = np.maximum(np.bincount(bins, minlength=len(edges) + 1), 1)
    lead = np.bincount(bins, weights=h, minlength=len(edges) + 1) / count - h.mean()
    favoured = lead > Z * h.std() / np.sqrt(count)
    kept = np.zeros(inner.shape, bool)
    kept[grown] = favoured[bins]
    pieces, _ = ndimage.label(kept)
    reaching = np.unique(pieces[kept & inner])
    out = np.zeros(region.shape, bool)
    out[box] = np.isin(pieces, reaching[reaching > 0])
    return out


def _box(mask: np.ndarray, pad) -> tuple:
    """The slices of ``mask``'s bounding box widened by ``pad`` voxels (z, y, x), within the grid."""
    box = []
    for axis in range(3):
        any_ = np.flatnonzero(mask.any(tuple(a for a in range(3) if a != axis)))
        box.append(slice(max(0, any_[0] - pad[axis]), min(mask.shape[axis], any_[-1] + pad[axis] + 1)))
    return tuple(box)


def _grown(mask: np.ndarray, spacing_zyx: np.ndarray, mm: float) -> np.ndarray:
    """``mask`` and every voxel within ``mm`` of it; where voxels are finer than ``BLOCK_MM`` along
    an axis, the distance is taken between blocks of about ``BLOCK_MM`` (a block is in where any
    of its voxels is) out to ``mm`` plus a block's diagonal, so that every voxel within ``mm`` is in
    and a finely sampled CT costs what a coarse one does: grown by up to two blocks' diagonals more."""
    from scipy import ndimage

    step = np.maximum(1, np.floor(BLOCK_MM / spacing_zyx)).astype(int)
    if (step == 1).all():
        return ndimage.distance_transform_edt(~mask, sampling=spacing_zyx) <= mm
    shape = -(-np.asarray(mask.shape) // step) * step  # padded to whole blocks
    padded = np.zeros(shape, bool)
    padded[tuple(slice(0, n) for n in mask.shape)] = mask
    blocks = padded.reshape(shape[0] // step[0], step[0], shape[1] // step[1], step[1],
                            shape[2] // step[2], step[2]).any((1, 3, 5))
    size = spacing_zyx * step
    near = ndimage.distance_transform_edt(~blocks, sampling=size) <= mm + np.linalg.norm(size)
    for axis in range(3):
        near = np.repeat(near, step[axis], axis=axis)
    return near[tuple(slice(0, n) for n in mask.shape)] | mask
