"""The synthetic chest: body wall, lobes, heart, aorta, airways, oesophagus, spine, ribs, sternum
and upper abdomen, with every size, position and intensity drawn per case, and the organ label
map named as TotalSegmentator names its classes.

Everything is placed in the patient's own axes (``Frame``: the whole chest is turned a little and
shifted) and scaled by the body's size ``k`` (1 for a chest 300 mm wide), so no fixed template or
size is common to all cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .synthetic_shapes import Frame, Grid, ellipsoid, path, segment

ORGANS = {
    1: "lung_upper_lobe_right", 2: "lung_middle_lobe_right", 3: "lung_lower_lobe_right",
    4: "lung_upper_lobe_left", 5: "lung_lower_lobe_left", 6: "heart", 7: "aorta", 8: "esophagus",
    9: "trachea", 10: "vertebrae", 11: "ribs", 12: "sternum", 13: "liver", 14: "stomach",
}
LABEL = {name: value for value, name in ORGANS.items()}
LOBES = {
    "right upper lobe": ("right", "upper"),
    "right middle lobe": ("right", "middle"),
    "right lower lobe": ("right", "lower"),
    "left upper lobe": ("left", "upper"),
    "left lower lobe": ("left", "lower"),
}
LOBE_ORGAN = {lobe: f"lung_{level}_lobe_{side}" for lobe, (side, level) in LOBES.items()}


@dataclass
class Anatomy:
    """One drawn chest: HU (float32), organ labels, and where things are (body axes, mm)."""

    grid: Grid
    frame: Frame
    hu: np.ndarray
    organs: np.ndarray
    k: float  # body size factor
    at: dict = field(default_factory=dict)  # named points and sizes
    lungs: dict = field(default_factory=dict)  # side -> (cy, cx, ry, rx, z_base, z_top)
    airways: dict = field(default_factory=dict)  # lobe -> [(p0, p1, lumen radius)] in scanner mm
    lung_hu: float = -850.0
    blood_hu: float = 40.0

    def lobe(self, name: str) -> np.ndarray:
        return self.organs == LABEL[LOBE_ORGAN[name]]

    def organ(self, name: str) -> np.ndarray:
        return self.organs == LABEL[name]

    def scan(self, p) -> np.ndarray:
        return self.frame.scan(p)


def build_anatomy(grid: Grid, rng, heart_scale: float = 1.0, pericardial_mm: float = 0.0) -> Anatomy:
    """A chest for ``grid``; ``heart_scale`` > 1 enlarges the heart, ``pericardial_mm`` > 0 adds a
    fluid rim of that thickness around it (both decided before the lungs are fitted around it)."""
    u = rng.uniform
    hz, hy, hx = grid.half
    frame = Frame(grid, u(-0.08, 0.08), u(-0.04, 0.04) * hy, u(-0.04, 0.04) * hx)
    X, Y, Z = frame.X, frame.Y, grid.z
    a = hx * u(0.76, 0.9)
    b = min(a * u(0.62, 0.8), hy * 0.9)
    k = a / 150.0
    power, cy_body = u(2.0, 2.8), u(-0.04, 0.04) * b
    rho = (np.abs(X / a) ** power + np.abs((Y - cy_body) / b) ** power) ** (1 / power)  # 1 on the skin
    fat_mm, muscle_mm = u(6, 25) * k, u(8, 15) * k
    rho_cavity = 1 - (fat_mm + muscle_mm) / b
    rho_ribs = rho_cavity + 10 * k / b
    shape = grid.shape
    hu = np.full(shape, -1000.0, dtype=np.float32)
    organs = np.zeros(shape, dtype=np.uint8)
    body, cavity = np.broadcast_to(rho <= 1, shape), np.broadcast_to(rho <= rho_cavity, shape)
    hu[body] = u(-110, -80)  # subcutaneous fat
    hu[np.broadcast_to(rho <= 1 - fat_mm / b, shape)] = u(35, 55)  # chest wall muscle
    blood = u(150, 300) if rng.random() < 0.4 else u(35, 50)  # with or without contrast
    anat = Anatomy(grid, frame, hu, organs, k, lung_hu=u(-880, -820), blood_hu=blood)

    # heights: lung apex, domes of the diaphragm (the right one higher), arch, carina
    z_top = hz * u(0.7, 0.98)
    zb = {"right": -hz * u(0.4, 0.65)}
    zb["left"] = zb["right"] - u(5, 20) * k
    z_arch = z_top - u(35, 60) * k
    z_carina = z_arch - u(10, 25) * k

    # back to front: vertebra, oesophagus, trachea, ascending aorta; the heart in front of the oesophagus
    r_vb = u(14, 20) * k
    y_vb = cy_body + b * u(0.38, 0.48)
    r_es, r_tr = u(7, 10) * k, u(8, 11) * k
    x_es, y_es = u(-5, 8) * k, y_vb - r_vb - r_es - u(6, 12) * k
    x_tr, y_tr = u(-5, 5) * k, y_es - r_es - r_tr - u(1, 4) * k
    r_as, r_ds = u(13, 18) * k, u(10, 13) * k
    x_as, y_as = -u(0, 12) * k, y_tr - r_tr - r_as - u(6, 15) * k
    x_ds, y_ds = x_es + r_es + r_ds + u(2, 8) * k, y_vb - r_vb * u(0.3, 0.8)
    front = cy_body - b * rho_cavity  # inner chest wall at the midline
    h_r = np.array([u(50, 60), u(42, 55), u(55, 70)]) * k * np.array([1.0, heart_scale, heart_scale])
    h_r[1] = min(h_r[1], (y_es - r_es - front) / 1.9)
    h_c = np.array([zb["left"] + h_r[0] * u(0.5, 0.7), y_es - r_es - h_r[1] * u(0.9, 1.0), u(0.04, 0.14) * a])
    anat.at.update(z_top=z_top, z_base=zb, z_arch=z_arch, z_carina=z_carina, heart=(h_c, h_r), front=front,
                   vertebra=(y_vb, r_vb), esophagus=(y_es, x_es, r_es), trachea=(y_tr, x_tr, r_tr),
                   ascending=(y_as, x_as, r_as), descending=(y_ds, x_ds, r_ds), body=(a, b, cy_body),
                   rho_cavity=rho_cavity, fat=fat_mm, power=power)

    # organ masks, drawn in the scanner from body-axis points
    scan = frame.scan
    heart = ellipsoid(grid, scan(h_c), h_r).full(shape)
    rim = pericardial_mm + u(2, 5) * k  # fluid, then epicardial fat
    sac = ellipsoid(grid, scan(h_c), h_r + rim).full(shape)
    fluid = ellipsoid(grid, scan(h_c), h_r + pericardial_mm).full(shape) & ~heart if pericardial_mm > 0 else None
    arch_x = x_tr + r_tr + (r_as + r_ds) / 2 + u(2, 6) * k
    aorta_pts = [(h_c[0] + h_r[0] * 0.4, y_as, x_as), (z_arch, y_as, x_as),
                 (z_arch + u(8, 15) * k, y_tr, arch_x), (z_arch, y_ds, x_ds),
                 (-hz - 10, y_ds + u(-8, 4) * k, x_ds - u(0, 15) * k)]
    aorta_r = [r_as, r_as, (r_as + r_ds) / 2, r_ds, r_ds]
    aorta = path(grid, [scan(p) for p in aorta_pts], aorta_r)
    anat.at["aorta"] = (aorta_pts, aorta_r)
    z_hiatus = zb["left"] + u(-5, 10) * k
    eso_pts = [(hz + 10, y_es, x_es), (z_hiatus, y_es, x_es), (z_hiatus - 25 * k, y_es - 15 * k, x_es + 25 * k)]
    esophagus = path(grid, [scan(p) for p in eso_pts], r_es)
    anat.at["z_hiatus"] = z_hiatus
    trachea = path(grid, [scan((hz + 10, y_tr, x_tr)), scan((z_carina, y_tr, x_tr))], r_tr)
    hila = {s: (z_carina - u(15, 30) * k, y_tr + u(-5, 10) * k, x_tr + sign * u(35, 50) * k)
            for s, sign in (("right", -1), ("left", 1))}
    anat.at["hila"] = hila
    lumen = path(grid, [scan((hz + 10, y_tr, x_tr)), scan((z_carina, y_tr, x_tr))], r_tr - 2)
    for s in ("right", "left"):
        segment(grid, scan((z_carina, y_tr, x_tr)), scan(hila[s]), 6 * k, 4.5 * k).into(lumen)
    # spine: bodies with a cortex, discs between them, canal and posterior elements
    d_vb = np.sqrt(X**2 + (Y - y_vb) ** 2)  # (1, ny, nx)
    period, phase = u(24, 30) * k, u(0, 30)
    disc = np.abs(((Z + phase) % period) - period / 2) < 2.5 * k  # (nz, 1, 1)
    canal_y = y_vb + r_vb + 9 * k
    canal = np.sqrt(X**2 + (Y - canal_y) ** 2) <= 7 * k
    posterior = (np.abs(X) <= 6 * k) & (Y > canal_y) & (Y <= canal_y + 28 * k) & (rho <= 1 - fat_mm / b)
    posterior |= (np.sqrt(X**2 + (Y - canal_y) ** 2) <= 11 * k) & ~canal
    vertebra = np.broadcast_to((d_vb <= r_vb) | posterior, shape) & ~(disc & (d_vb <= r_vb))
    # ribs: sloping bands just inside the chest wall, one every ``rib_period`` mm, none at the midline
    rib_period, rib_slope = u(26, 32) * k, u(15, 30) * k
    y_norm = (Y - cy_body) / b
    rib_phase = (Z - rib_slope * y_norm - u(0, rib_period)) % rib_period
    band = (rho > rho_cavity) & (rho <= rho_ribs) & (np.abs(X) > 28 * k)
    ribs = band & (np.abs(rib_phase - rib_period / 2) < 5 * k) & (Z < z_top + 20 * k) & (Z > zb["left"] - 60 * k)
    sternum = np.broadcast_to((np.abs(X) <= 15 * k) & (Y >= front - 12 * k) & (Y < front + 2 * k), shape) & (
        Z < z_carina + 20 * k) & (Z > h_c[0] - h_r[0] * 0.6)

    # diaphragm: a dome under each lung; below it the liver (right) and the stomach (left)
    lung_shape, dome_z = {}, {}
    for s, sign in (("right", -1), ("left", 1)):
        cx, cyl = sign * a * u(0.4, 0.48), cy_body + b * u(-0.02, 0.08)
        rx, ry = a * u(0.32, 0.4), b * u(0.68, 0.8)
        q2 = ((X - cx) / rx) ** 2 + ((Y - cyl) / ry) ** 2
        dome_z[s] = zb[s] + u(15, 35) * k * (1 - np.minimum(q2, 1))
        t = (Z - zb[s]) / (z_top - zb[s])
        taper = np.sqrt(np.clip((1 - t) / 0.3, 0, 1))
        lung_shape[s] = (q2 <= taper**2) & (Z >= dome_z[s]) & (Z <= z_top)
        anat.lungs[s] = (cyl, cx, ry, rx, zb[s], z_top)
        anat.at.setdefault("fissures", {})[s] = (u(0.45, 0.55), u(0.25, 0.35), u(0.5, 0.6))
    diaphragm = np.where(X < 0, dome_z["right"], dome_z["left"])  # (1, ny, nx)
    abdomen = cavity & (Z < diaphragm)
    hu[abdomen] = u(30, 45)
    liver = abdomen & (X < 0.2 * a)
    stomach_c = np.array([zb["left"] - 25 * k, cy_body - 0.1 * b, 0.45 * a])
    stomach = ellipsoid(grid, scan(stomach_c), np.array([25, 35, 40]) * k).full(shape) & abdomen & ~liver
    mediastinum = cavity & ~abdomen
    hu[mediastinum] = u(-100, -70)

    # lungs: the shapes less what the mediastinum holds, split into lobes at the fissures
    solid = sac | aorta | esophagus | trachea | vertebra | sternum
    margin = ellipsoid(grid, scan(h_c), h_r + rim + 2 * k).full(shape) | aorta  # fat around heart and aorta
    for s, lobes in (("right", (1, 2, 3)), ("left", (4, 5))):
        lung = lung_shape[s] & cavity & ~solid & ~margin
        cyl, cx, ry, rx, z0, z1 = anat.lungs[s]
        f0, f1, h0 = anat.at["fissures"][s]
        t = (Z - z0) / (z1 - z0)
        lower = t < f0 + f1 * (Y - cyl) / ry
        organs[lung] = lobes[0]
        if s == "right":
            organs[lung & ~lower & (t < h0)] = lobes[1]
        organs[lung & lower] = lobes[-1]
        hu[lung] = anat.lung_hu
    hu[liver] = u(50, 65)
    organs[liver] = LABEL["liver"]
    hu[stomach] = u(10, 30)
    hu[stomach & (grid.z > stomach_c[0] + 8 * k)] = -1000.0  # air cap
    organs[stomach] = LABEL["stomach"]
    for mask, name, value in ((heart, "heart", u(35, 50)), (aorta, "aorta", blood), (esophagus, "esophagus", u(35, 50)),
                              (trachea, "trachea", u(30, 50)), (vertebra, "vertebrae", u(180, 280)),
                              (ribs, "ribs", u(500, 750)), (sternum, "sternum", u(300, 450))):
        mask = np.broadcast_to(mask, shape)
        hu[mask] = value
        organs[mask] = LABEL[name]
    if blood > 100:
        ellipsoid(grid, scan(h_c), h_r * 0.7).paint(hu, blood)  # chambers
    anat.at.update(heart_mask=heart, pericardial_fluid=fluid, pericardial_mm=pericardial_mm)
    if fluid is not None:
        hu[fluid] = u(8, 20)
        organs[fluid] = LABEL["heart"]  # the pericardial sac
    hu[np.broadcast_to(vertebra & (d_vb > r_vb - 3 * k), shape)] = u(650, 900)  # cortex
    hu[np.broadcast_to(canal, shape) & ~disc] = u(10, 30)
    hu[lumen & (trachea | (organs == 0))] = -1000.0
    _lung_vessels(anat, rng)
    return anat


def _lung_vessels(anat: Anatomy, rng) -> None:
    """Bronchovascular bundles: from each hilum a few tapering vessels and, beside each, a bronchus
    (air with a thin wall) out to a random point of every lobe. Drawn only inside the lungs."""
    grid, hu, k = anat.grid, anat.hu, anat.k
    lung = (anat.organs >= 1) & (anat.organs <= 5)
    for lobe, (side, _) in LOBES.items():
        n = int(rng.integers(3, 6))
        inside = sample(anat.lobe(lobe), rng, n)
        anat.airways[lobe] = []
        hilum = anat.scan(anat.at["hila"][side])
        for idx in inside:
            end = grid.point(idx)
            r_vessel = rng.uniform(3.0, 5.0) * k
            vessel = segment(grid, hilum, end, r_vessel, 1.0)
            keep = vessel.mask & lung[vessel.sl]
            hu[vessel.sl][keep] = rng.uniform(30, 50) if anat.blood_hu < 100 else anat.blood_hu * 0.8
            offset = np.cross(end - hilum, [1.0, 0, 0])
            offset = offset / (np.linalg.norm(offset) or 1) * (r_vessel + 2.5 * k)
            r_lumen = r_vessel * rng.uniform(0.6, 0.9)
            a, b = hilum + offset, end + offset * 0.3
            wall = segment(grid, a, b, r_lumen + 1.0, 1.5)
            hu[wall.sl][wall.mask & lung[wall.sl]] = -450.0
            air = segment(grid, a, b, r_lumen, 0.8)
            hu[air.sl][air.mask & lung[air.sl]] = -960.0
            anat.airways[lobe].append((a, b, r_lumen))


def sample(mask: np.ndarray, rng, n: int) -> list[tuple[int, int, int]]:
    """``n`` random voxels of ``mask`` (with repeats), found by drawing random voxels rather than
    listing all of them; [] when the mask is empty."""
    flat = mask.ravel()
    draws = rng.integers(flat.size, size=max(4000, 40 * n))
    hits = draws[flat[draws]]
    if hits.size == 0:
        hits = np.flatnonzero(flat)
        if hits.size == 0:
            return []
    picks = hits[rng.integers(hits.size, size=n)]
    return [tuple(int(i) for i in np.unravel_index(p, mask.shape)) for p in picks]
