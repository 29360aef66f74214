"""Findings in the lung parenchyma and airways, drawn into a synthetic ``Anatomy``.

Each function paints its finding's CT appearance into ``anat.hu`` and returns (mask, details):
the voxels that show it and where and how large it is (``lobe`` / ``lobes`` as in ``LOBES``,
``size_mm``). Findings span a few millimetres (a 4 mm nodule) to a lobe (lobar consolidation).
"""

from __future__ import annotations

import numpy as np

from .synthetic_anatomy import LOBES, Anatomy, sample
from .synthetic_shapes import ellipsoid, segment

LOWER = ("right lower lobe", "left lower lobe")
UPPER = ("right upper lobe", "left upper lobe")


def region(anat: Anatomy, lobes) -> np.ndarray:
    """The voxels of ``lobes``; on grids too small to hold them, the lungs, else the whole volume."""
    m = np.isin(anat.organs, [anat_label(anat, lobe) for lobe in lobes])
    if not m.any():
        m = (anat.organs >= 1) & (anat.organs <= 5)
    return m if m.any() else np.ones(anat.organs.shape, dtype=bool)


def anat_label(anat: Anatomy, lobe: str) -> int:
    from .synthetic_anatomy import LABEL, LOBE_ORGAN

    return LABEL[LOBE_ORGAN[lobe]]


def blob(anat: Anatomy, where: np.ndarray, radii, rng, tries: int = 20):
    """An ellipsoid (radii mm) centred on a voxel of ``where`` and as much inside it as the tries
    find, cut to ``where``."""
    best = None
    for idx in sample(where, rng, tries):
        patch = ellipsoid(anat.grid, anat.grid.point(idx), radii)
        frac = where[patch.sl][patch.mask].mean() if patch.mask.any() else 0.0
        if best is None or frac > best[0]:
            best = (frac, patch)
        if frac > 0.95:
            break
    patch = best[1]
    patch.mask = patch.mask & where[patch.sl]
    return patch


def nodule_size(rng) -> int:
    """Largest diameter, mm: half 6-10 mm, a fifth 4-5 mm, the rest 11-30 mm."""
    r = rng.random()
    if r < 0.5:
        return int(rng.integers(6, 11))
    if r < 0.7:
        return int(rng.integers(4, 6))
    return int(np.rint(np.exp(rng.uniform(np.log(11), np.log(30)))))


def nodule(anat, rng):
    lobe = str(rng.choice(list(LOBES)))
    size = nodule_size(rng)
    count = 1 if rng.random() < 0.75 else int(rng.integers(2, 5))
    where = region(anat, [lobe])
    mask = np.zeros(anat.organs.shape, dtype=bool)
    for d in [size] + [rng.uniform(3, size) for _ in range(count - 1)]:
        patch = blob(anat, where, d / 2 * rng.uniform(0.85, 1.15, 3), rng)
        patch.paint(anat.hu, rng.uniform(15, 60))
        patch.into(mask)
    return mask, {"lobe": lobe, "size_mm": float(size), "count": count}


def consolidation(anat, rng):
    lobe = str(rng.choice(list(LOBES), p=[0.15, 0.15, 0.3, 0.1, 0.3]))
    extent = str(rng.choice(["patchy", "segmental", "lobar"], p=[0.4, 0.4, 0.2]))
    where = region(anat, [lobe])
    if extent == "lobar":
        mask = where.copy()
    else:
        mask = np.zeros_like(where)
        radius = rng.uniform(8, 20) if extent == "patchy" else rng.uniform(22, 40)
        for _ in range(int(rng.integers(1, 4))):
            blob(anat, where, radius * rng.uniform(0.6, 1.0, 3), rng).into(mask)
    anat.hu[mask] = rng.uniform(20, 50)
    for a, b, r in anat.airways.get(lobe, []):  # air bronchograms stay dark
        air = segment(anat.grid, a, b, r, 0.8)
        keep = air.mask & mask[air.sl]
        anat.hu[air.sl][keep] = -950.0
        mask[air.sl] &= ~keep
    return mask, {"lobe": lobe, "extent": extent}


def lung_opacity(anat, rng):
    """Ground-glass: hazy (-650..-450 HU) patches through which the vessels still show."""
    lobe = str(rng.choice(list(LOBES)))
    where = region(anat, [lobe])
    mask = np.zeros_like(where)
    size = rng.uniform(10, 70)
    for _ in range(int(rng.integers(1, 4))):
        blob(anat, where, size / 2 * rng.uniform(0.6, 1.0, 3), rng).into(mask)
    anat.hu[mask] = np.maximum(anat.hu[mask], rng.uniform(-650, -450))
    return mask, {"lobe": lobe, "size_mm": float(round(size))}


def atelectasis(anat, rng):
    lobe = str(rng.choice(["right lower lobe", "left lower lobe", "right middle lobe", "left upper lobe"],
                          p=[0.4, 0.4, 0.1, 0.1]))
    kind = str(rng.choice(["linear", "subsegmental"]))
    where = region(anat, [lobe])
    side = LOBES[lobe][0]
    cyl, _, ry, _, z0, z1 = anat.lungs[side]
    if kind == "subsegmental" and LOBES[lobe][1] == "lower":  # dependent wedge at the base
        mask = where & (anat.grid.z < z0 + rng.uniform(15, 40) * anat.k) & (anat.frame.Y > cyl + ry * rng.uniform(0.2, 0.5))
    else:
        mask = np.zeros_like(where)
    if not mask.any():
        radii = (rng.uniform(2.5, 4), rng.uniform(8, 15), rng.uniform(15, 35))  # a plate
        mask = blob(anat, where, radii, rng).full(where.shape)
    anat.hu[mask] = rng.uniform(0, 50)
    return mask, {"lobe": lobe, "kind": kind}


def fibrotic_sequela(anat, rng):
    """Parenchymal bands: thin dense strands running out to the pleura."""
    lobe = str(rng.choice(list(LOBES)))
    where = region(anat, [lobe])
    sign = -1 if LOBES[lobe][0] == "right" else 1
    mask = np.zeros_like(where)
    for idx in sample(where, rng, int(rng.integers(1, 4))):
        start = anat.grid.point(idx)
        direction = anat.scan((0.0, rng.uniform(-0.5, 0.5), sign * 1.0)) - anat.scan((0.0, 0.0, 0.0))
        direction += rng.normal(0, 0.2, 3) * [0.5, 1, 1]
        end = start + direction / np.linalg.norm(direction) * rng.uniform(20, 45)
        band = segment(anat.grid, start, end, rng.uniform(0.8, 1.5))
        band.mask &= where[band.sl]
        band.into(mask)
    anat.hu[mask] = rng.uniform(-150, 0)
    return mask, {"lobe": lobe}


def emphysema(anat, rng):
    lobes = list(UPPER) if rng.random() < 0.6 else list(LOBES)
    kind = str(rng.choice(["centrilobular", "paraseptal"], p=[0.75, 0.25]))
    where = region(anat, lobes)
    mask = np.zeros_like(where)
    n = int(np.clip(where.sum() / 300, 8, 160)) if kind == "centrilobular" else int(rng.integers(2, 6))
    radius = (2.0, 6.0) if kind == "centrilobular" else (7.0, 18.0)
    for idx in sample(where, rng, n):
        patch = ellipsoid(anat.grid, anat.grid.point(idx), rng.uniform(*radius, 3))
        patch.mask &= where[patch.sl]
        patch.into(mask)
    anat.hu[mask] = rng.uniform(-990, -960)
    return mask, {"lobes": lobes, "kind": kind}


def _cells(anat, rng, size_mm):
    """A random bool field of blocks about ``size_mm`` across (secondary lobules and groups)."""
    g = anat.grid
    ids = [np.floor((ax + rng.uniform(0, size_mm)) / size_mm).astype(np.int64) for ax in (g.z, g.y, g.x)]
    h = (ids[0] * 73856093) ^ (ids[1] * 19349663) ^ (ids[2] * 83492791) ^ int(rng.integers(1 << 30))
    return (h * 2654435761 % 1000) < rng.uniform(300, 500)


def mosaic_attenuation(anat, rng):
    """Sharply bordered lobular blocks darker than the lung around them (air trapping)."""
    lobes = list(LOBES) if rng.random() < 0.6 else list(LOWER)
    where = region(anat, lobes)
    mask = where & _cells(anat, rng, rng.uniform(15, 30))
    if not mask.any():
        mask = where
    anat.hu[mask] -= rng.uniform(70, 110)
    anat.hu[where & ~mask] += rng.uniform(20, 50)
    return mask, {"lobes": lobes}


def septal_thickening(anat, rng):
    """A net of thin lines (thickened interlobular septa) in the subpleural lung."""
    lobes = list(LOWER) if rng.random() < 0.6 else list(LOBES)
    where = region(anat, lobes)
    g, cell = anat.grid, rng.uniform(10, 18)
    lines = np.zeros(where.shape, dtype=bool)
    lines |= ((g.x + rng.uniform(0, cell)) % cell) < g.spacing[2]
    lines |= ((g.y + rng.uniform(0, cell)) % cell) < g.spacing[1]
    lines |= ((g.z + rng.uniform(0, 2 * cell)) % (2 * cell)) < g.spacing[0]
    depth = rng.uniform(15, 30) * anat.k
    sub = np.zeros_like(where)
    for side in ("right", "left"):
        cyl, cx, ry, rx, z0, z1 = anat.lungs[side]
        q = np.sqrt(((anat.frame.X - cx) / rx) ** 2 + ((anat.frame.Y - cyl) / ry) ** 2)
        taper = np.sqrt(np.clip((1 - (g.z - z0) / (z1 - z0)) / 0.3, 1e-3, 1))
        sub |= ((1 - q / taper) * min(rx, ry) < depth) | (g.z - z0 < depth)
    mask = where & sub & lines
    if not mask.any():
        mask = where & lines if (where & lines).any() else where
    anat.hu[mask] = rng.uniform(-350, -200)
    return mask, {"lobes": lobes}


def _airway_lobes(rng):
    return list(LOWER) if rng.random() < 0.4 else [str(rng.choice(list(LOBES)))]


def peribronchial_thickening(anat, rng):
    """Thick soft-tissue cuffs around bronchi of ordinary calibre."""
    lobes = _airway_lobes(rng)
    where = region(anat, lobes)
    mask = np.zeros_like(where)
    wall = rng.uniform(2.5, 4.0)
    for lobe in lobes:
        for a, b, r in anat.airways.get(lobe, []):
            cuff = segment(anat.grid, a, b, r + wall, 0.8 + wall * 0.6)
            cuff.mask &= where[cuff.sl]
            cuff.paint(anat.hu, rng.uniform(0, 40))
            cuff.into(mask)
            air = segment(anat.grid, a, b, r, 0.8)
            air.mask &= where[air.sl]
            air.paint(anat.hu, -960.0)
            mask[air.sl] &= ~air.mask
    if not mask.any():
        mask = blob(anat, where, 4.0, rng).full(where.shape)
        anat.hu[mask] = rng.uniform(0, 40)
    return mask, {"lobes": lobes}


def bronchiectasis(anat, rng):
    """Dilated, non-tapering bronchi (wider than their artery) with walls, or strings of cysts."""
    lobe = str(rng.choice(list(LOBES), p=[0.1, 0.15, 0.3, 0.15, 0.3]))
    kind = str(rng.choice(["cylindrical", "varicose", "cystic"], p=[0.6, 0.2, 0.2]))
    where = region(anat, [lobe])
    mask = np.zeros_like(where)
    starts = [a + (b - a) * 0.35 for a, b, _ in anat.airways.get(lobe, [])] or [anat.grid.point(i) for i in sample(where, rng, 1)]
    for idx in sample(where, rng, int(rng.integers(2, 5))):
        a, b = starts[int(rng.integers(len(starts)))], anat.grid.point(idx)
        r, wall = rng.uniform(3.5, 7.0), rng.uniform(1.5, 2.5)
        pieces = []
        if kind == "cylindrical":
            pieces = [(segment(anat.grid, a, b, r + wall), segment(anat.grid, a, b, r))]
        else:
            for t in np.linspace(0, 1, int(np.linalg.norm(b - a) // (2.2 * r)) + 2):
                c = a + (b - a) * t
                rr = r * (rng.uniform(0.8, 1.3) if kind == "varicose" else rng.uniform(1.1, 1.6))
                pieces.append((ellipsoid(anat.grid, c, rr + wall), ellipsoid(anat.grid, c, rr)))
        for outer, inner in pieces:
            outer.mask &= where[outer.sl]
            outer.paint(anat.hu, rng.uniform(-50, 30))
            inner.mask &= where[inner.sl]
            outer.into(mask)
        for _, inner in pieces:
            inner.paint(anat.hu, -960.0)
    return mask, {"lobe": lobe, "kind": kind}
