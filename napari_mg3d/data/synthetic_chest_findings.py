"""Findings outside the lung parenchyma (pleura, heart, vessels, mediastinum, hiatus, devices),
drawn into a synthetic ``Anatomy``; each returns (mask, details) like the lung findings.

Cardiomegaly and pericardial effusion are decided before the anatomy is built (the lungs are
fitted around the heart); their functions only read what was drawn.
"""

from __future__ import annotations

import numpy as np

from .synthetic_anatomy import LABEL, Anatomy
from .synthetic_shapes import Patch, ellipsoid, path


def _lung(anat, side):
    labels = (1, 2, 3) if side == "right" else (4, 5)
    return np.isin(anat.organs, labels)


def pleural_effusion(anat: Anatomy, rng):
    """Dependent fluid (0-20 HU) filling the back and base of the pleural space."""
    side = str(rng.choice(["right", "left", "both"]))
    size = str(rng.choice(["small", "moderate", "large"], p=[0.5, 0.3, 0.2]))
    depth = {"small": (0.08, 0.2), "moderate": (0.25, 0.4), "large": (0.45, 0.65)}[size]
    d = rng.uniform(*depth)
    mask = np.zeros(anat.organs.shape, dtype=bool)
    for s in (["right", "left"] if side == "both" else [side]):
        cyl, _, ry, _, z0, z1 = anat.lungs[s]
        lung = _lung(anat, s)
        fluid = lung & (anat.frame.Y > cyl + ry * (1 - 2 * d)) & (anat.grid.z < z0 + (z1 - z0) * (0.25 + d))
        if not fluid.any() and lung.any():  # too small a grid: the lung's lowest slice
            fluid = lung & (np.arange(lung.shape[0]) == np.nonzero(lung.any((1, 2)))[0].min())[:, None, None]
        mask |= fluid
    anat.hu[mask] = rng.uniform(0, 20)
    return mask, {"side": side, "size": size}


def cardiomegaly(anat, rng):
    heart = anat.at["heart_mask"] & (anat.organs == LABEL["heart"])
    return heart, {"where": "heart"}


def pericardial_effusion(anat, rng):
    fluid = anat.at["pericardial_fluid"]
    return fluid.copy(), {"thickness_mm": float(round(anat.at["pericardial_mm"]))}


def coronary_calcification(anat, rng):
    """Bright specks on the heart's surface along the coronary arteries' courses."""
    names = ["LAD", "RCA", "LCx"]
    chosen = sorted({str(a) for a in rng.choice(names, int(rng.integers(1, 4)))}, key=names.index)
    c, r = anat.at["heart"]
    heart = anat.organs == LABEL["heart"]
    course = {"LAD": (0.35, -0.85, 0.3), "RCA": (0.25, -0.5, -0.85), "LCx": (0.35, 0.2, 0.9)}
    mask = np.zeros(heart.shape, dtype=bool)
    for name in chosen:
        for _ in range(int(rng.integers(2, 6))):
            u = np.asarray(course[name]) + rng.normal(0, 0.15, 3)
            u /= np.linalg.norm(u)
            p = c + u / np.sqrt(np.sum((u / r) ** 2)) * 0.92
            calcify(anat, p, rng.uniform(1.5, 3.0), heart, rng.uniform(450, 1100), mask)
    return mask, {"arteries": chosen}


def calcify(anat, point, radius: float, inside, hu: float, mask) -> None:
    """A calcified speck: a ball of ``radius`` mm at ``point`` (mm), kept ``inside`` its vessel's
    organ, painted ``hu`` and added to ``mask``."""
    speck = ellipsoid(anat.grid, anat.scan(point), radius)
    speck.mask &= inside[speck.sl]
    speck.paint(anat.hu, hu)
    speck.into(mask)


def arterial_calcification(anat, rng):
    """Plaques in the wall of the aortic arch and/or the descending aorta."""
    where = str(rng.choice(["aortic arch", "descending aorta", "thoracic aorta"]))
    points, radii = anat.at["aorta"]
    spans = {"aortic arch": [1, 2], "descending aorta": [3], "thoracic aorta": [1, 2, 3]}[where]
    aorta = anat.organs == LABEL["aorta"]
    mask = np.zeros(aorta.shape, dtype=bool)
    z_low = anat.at["z_base"]["left"]
    for _ in range(int(rng.integers(3, 13))):
        k = int(rng.choice(spans))
        a, b = np.asarray(points[k]), np.asarray(points[k + 1])
        if k == 3:  # the descending aorta within the chest
            b = a + (b - a) * np.clip((a[0] - z_low) / max(a[0] - b[0], 1e-6), 0, 1)
        t = rng.random()
        centre, radius = a + (b - a) * t, radii[k] + (radii[k + 1] - radii[k]) * t
        d = b - a
        v = rng.normal(0, 1, 3)
        v -= d * (v @ d) / max(d @ d, 1e-9)
        wall = centre + v / (np.linalg.norm(v) or 1) * (radius - 1.5)
        calcify(anat, wall, rng.uniform(1.5, 4.0), aorta, rng.uniform(500, 1100), mask)
    return mask, {"where": where}


def hiatal_hernia(anat, rng):
    """Stomach pushed up through the hiatus behind the heart: a soft-tissue walled bulge holding
    fluid and often air."""
    y_es, x_es, _ = anat.at["esophagus"]
    size = rng.uniform(20, 55)
    centre = anat.scan((anat.at["z_hiatus"] + size * 0.45, y_es, x_es + 5 * anat.k))
    radii = size / 2 * np.array([rng.uniform(0.8, 1.1), 1.0, rng.uniform(0.9, 1.2)])
    keep = ~np.isin(anat.organs, [LABEL[n] for n in ("aorta", "vertebrae", "heart", "trachea", "ribs", "sternum")])
    outer = ellipsoid(anat.grid, centre, radii)
    outer.mask &= keep[outer.sl]
    outer.paint(anat.hu, rng.uniform(35, 50))
    inner = ellipsoid(anat.grid, centre, np.maximum(radii - 3, 1))
    inner.mask &= keep[inner.sl]
    inner.paint(anat.hu, rng.uniform(5, 30))
    if rng.random() < 0.7:  # an air cap above the fluid
        z = anat.grid.local(inner.sl)[0]
        Patch(inner.sl, inner.mask & (z > centre[0] + rng.uniform(-0.2, 0.3) * radii[0])).paint(anat.hu, -950.0)
    mask = outer.full(anat.organs.shape)
    anat.organs[mask] = LABEL["stomach"]
    return mask, {"size_mm": float(round(size))}


STATIONS = ("right paratracheal", "subcarinal", "prevascular", "right hilar", "left hilar")


def lymphadenopathy(anat, rng):
    """One to three enlarged (10-25 mm short axis) soft-tissue nodes in mediastinal stations."""
    k = anat.k
    count = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
    stations = sorted({str(s) for s in rng.choice(STATIONS, count, replace=False)}, key=STATIONS.index)
    y_tr, x_tr, r_tr = anat.at["trachea"]
    y_as, x_as, r_as = anat.at["ascending"]
    zc, za = anat.at["z_carina"], anat.at["z_arch"]
    keep = ~np.isin(anat.organs, [LABEL[n] for n in ("aorta", "heart", "trachea", "esophagus", "vertebrae", "ribs", "sternum")])
    mask = np.zeros(keep.shape, dtype=bool)
    sizes = []
    for s in stations:
        size = rng.uniform(10, 25)
        sizes.append(size)
        r = size / 2
        centre = {
            "right paratracheal": (zc + rng.uniform(10, 30) * k, y_tr, x_tr - r_tr - r - 2 * k),
            "subcarinal": (zc - r - 8 * k, y_tr + 5 * k, x_tr),
            "prevascular": (za - rng.uniform(0, 15) * k, y_as - r_as - r - 2 * k, x_as + rng.uniform(5, 20) * k),
            "right hilar": np.asarray(anat.at["hila"]["right"]) + (0, 8 * k, -4 * k),
            "left hilar": np.asarray(anat.at["hila"]["left"]) + (0, 8 * k, 4 * k),
        }[s]
        node = ellipsoid(anat.grid, anat.scan(centre), r * np.array([rng.uniform(1.0, 1.4), 1.0, rng.uniform(1.0, 1.3)]))
        node.mask &= keep[node.sl]
        node.into(mask)
    anat.hu[mask] = rng.uniform(30, 50)
    anat.organs[mask] = 0
    return mask, {"stations": stations, "size_mm": float(round(max(sizes))), "count": len(stations)}


def medical_material(anat, rng):
    """A pacemaker (generator and lead into the right ventricle), a central venous catheter or a
    port catheter (reservoir and line) with its tip in the right atrium: metal and plastic far
    brighter than bone (> 2000 HU)."""
    kind = str(rng.choice(["pacemaker", "central venous catheter", "port catheter"]))
    k, (c, r) = anat.k, anat.at["heart"]
    y_as, x_as, r_as = anat.at["ascending"]
    a, b, cy = anat.at["body"]
    svc = [(anat.grid.half[0] + 10, y_as, x_as - r_as - 25 * k), (anat.at["z_arch"], y_as, x_as - r_as - 8 * k)]
    atrium = (c[0] + 0.3 * r[0], c[1], c[2] - 0.5 * r[2])
    ventricle = (c[0] - 0.3 * r[0], c[1] - 0.5 * r[1], c[2] - 0.2 * r[2])
    pts, tip = svc + [atrium], "right atrium"
    mask = np.zeros(anat.organs.shape, dtype=bool)
    if kind != "central venous catheter":
        sx = 1 if kind == "pacemaker" else -1
        x = sx * 0.45 * a
        rho = 1 - anat.at["fat"] / (2 * b)
        y = cy - b * max(rho ** anat.at["power"] - abs(x / a) ** anat.at["power"], 0.05) ** (1 / anat.at["power"])
        box = (anat.at["z_top"] - 25 * k, y + 2 * k, x)
        ellipsoid(anat.grid, anat.scan(box), np.array([20, 5, 22]) * k).into(mask)
        pts = [box, (anat.at["z_top"] - 10 * k, y_as, sx * 30 * k)] + svc[1:] + [atrium]
        if kind == "pacemaker":
            pts, tip = pts + [ventricle], "right ventricle"
    mask |= path(anat.grid, [anat.scan(p) for p in pts], 1.2)
    anat.hu[mask] = rng.uniform(2500, 3071)
    return mask, {"kind": kind, "tip": tip}
