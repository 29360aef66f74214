"""Family B findings of the mediastinum, heart, vessels and devices, and ``draw_findings``, which
draws a case's planned findings in a fixed order and returns their masks."""

from __future__ import annotations

import numpy as np

from .phantom_b_anatomy import F32, ID, blend, ellipsoid, soft, tube
from .phantom_b_findings import ORDER, SOLID, LungPainter


class Painter(LungPainter):
    def _stations(self):
        a = self.a
        return {
            "right paratracheal": lambda r: (a.ut - 21 - r, a.vt - 2, a.zc + 18),
            "subcarinal": lambda r: (a.ut, a.vt + 10, a.zc - 10 - r),
            "aortopulmonary window": lambda r: (a.ut + 18, a.vt - 4, a.zc),
            "right hilar": lambda r: tuple(a.hr + (-2, -14, -8)),
            "left hilar": lambda r: tuple(a.hl + (2, -14, -6)),
            "prevascular": lambda r: (a.ut - 2, a.vt - 44 - r, a.zc + 22),
        }

    def lymphadenopathy(self, d):
        stations = self._stations()
        solid = np.isin(self.org, (*SOLID, ID["stomach"], ID["liver"])) | self.occupied
        mask = np.zeros(self.shape, bool)
        for size, where in d["nodes"]:
            r = size / 2
            centre = np.array(stations[where](r), float)
            best = None
            for i in range(30):  # near the station, further afield (and higher) when structures are in the way
                c = centre + self.rng.normal(0, 3 if i < 6 else 9, 3) + (0, 0, 2.0 * (i // 3))
                hit = ellipsoid(self.grid, c, (r, r * 0.9, r * 1.25))
                if hit is None:
                    continue
                box, q = hit
                node = (q < 1) & ~solid[box] & ~mask[box]
                share = node.sum() / max((q < 1).sum(), 1)
                if best is None or share > best[0]:
                    best = (share, box, node)
                if share > 0.6:
                    break
            if best is None:
                continue
            _, box, node = best
            self.img[box][node] = (F32(self.U(32, 46)) + 4 * self.a.tex[box])[node]
            self.org[box][node] = 0
            mask[box] |= node
        return mask

    def pericardial_effusion(self, d):
        hc, axes, rot = self.a.heart
        t = d["size_mm"]
        hit = ellipsoid(self.grid, hc + (0, 0.3 * t, 0), axes + t, rot)
        if hit is None:
            return np.zeros(self.shape, bool)
        box, q = hit
        W = self.grid.local(box)[2]
        shell = (q < 1) & ~np.isin(self.org[box], SOLID) & self.a.thorax[box] & ~self.occupied[box]
        shell &= (W > self.a.zr - 30) & (W < self.a.zc - 12)
        self.img[box][shell] = (F32(self.U(4, 14)) + 3 * self.a.tex[box])[shell]
        self.org[box][shell] = 0
        return self.full(box, shell)

    def hiatal_hernia(self, d):
        a = self.a
        c = np.array([a.ut + 14, a.ve - 4, 0.0])
        lq = ((c[0] - 0.45 * a.ac) / (0.85 * a.ac)) ** 2 + ((c[1] - a.vc) / a.bc) ** 2
        half = d["size_mm"] / 2
        c[2] = a.zl - 55 * lq - 15 * (c[1] - a.vc) / a.bc + half * 0.7 + self.U(4, 10)
        hit = ellipsoid(self.grid, c, (half, half * 0.8, half * 0.85))
        if hit is None:
            return np.zeros(self.shape, bool)
        box, q = hit
        keep = np.isin(self.org[box], (ID["aorta"], ID["heart"], ID["vertebrae"], ID["trachea"], ID["pulmonary_artery"],
                                       ID["superior_vena_cava"], ID["ribs"], ID["sternum"]))
        sac = (q < 1) & ~keep & ~self.occupied[box]
        U, V, W = self.grid.local(box)
        self.img[box][sac] = (F32(self.U(25, 40)) + 6 * self.a.tex[box])[sac]
        gas = sac & (q < 0.2) & (V < c[1])  # a small bubble, anterior
        if not gas.any() and sac.any():
            gas = sac & (q == q[sac].min())
        self.img[box][gas] = -985
        self.org[box][sac] = ID["stomach"]
        return self.full(box, sac)

    def _plaques(self, segments, count, hu, organ, width):
        mask = np.zeros(self.shape, bool)
        for _ in range(60):
            if mask.sum() and count <= 0:
                break
            p0, p1, r0, r1 = segments[int(self.rng.integers(len(segments)))]
            t = self.U(0.1, 0.9)
            axis = np.asarray(p1, float) - p0
            normal = np.cross(axis, self.rng.normal(0, 1, 3))
            normal /= np.linalg.norm(normal)
            spot = np.asarray(p0) + t * axis + normal * (r0 + (r1 - r0) * t)
            hit = tube(self.grid, p0, p1, r0, r1, pad=4)
            if hit is None:
                continue
            box, sd = hit
            U, V, W = self.grid.local(box)
            rad = self.U(4.5, 7.0)
            plaque = (np.abs(sd) < width) & (((U - spot[0]) ** 2 + (V - spot[1]) ** 2 + (W - spot[2]) ** 2) < rad ** 2)
            plaque &= ~self.occupied[box]
            if not plaque.any():
                continue
            self.img[box][plaque] = self.U(*hu)
            self.org[box][plaque] = organ
            mask[box] |= plaque
            count -= 1
        return mask

    def aortic_calcification(self, d):
        segs, n = self.a.aorta, self.a.arch_n
        arch = segs[1:1 + n]
        pick = {"aortic arch": arch, "descending thoracic aorta": segs[1 + n:]}.get(d["where"], segs)
        return self._plaques(pick, d["count"], (420, 900), ID["aorta"], 2.8)

    def coronary_calcification(self, d):
        hc, axes, rot = self.a.heart
        mask = np.zeros(self.shape, bool)
        for _ in range(40):
            if mask.any() and mask.sum() >= d["count"] * 2:
                break
            dirn = np.array([self.U(0.2, 0.8), self.U(-1.0, -0.5), self.U(-0.2, 0.5)])
            dirn /= np.linalg.norm(dirn)
            t = 1 / np.sqrt(np.sum(((rot @ dirn) / axes) ** 2))
            spot = hc + dirn * t * self.U(0.9, 0.97)  # in the heart's outer layer, under any effusion
            r = self.U(2.8, 5.0)
            box = self.grid.box(spot - r - 1, spot + r + 1)
            if box is None:
                continue
            U, V, W = self.grid.local(box)
            calc = (((U - spot[0]) ** 2 + (V - spot[1]) ** 2 + (W - spot[2]) ** 2) < r * r) & self.a.thorax[box]
            calc &= self.org[box] == ID["heart"]
            self.img[box][calc] = self.U(350, 850)
            self.org[box][calc] = ID["heart"]
            mask[box] |= calc
        return mask

    def medical_material(self, d):
        a = self.a
        hc, axes, rot = a.heart
        svc_low = np.array([a.ut - 28, a.vt - 14, hc[2] + 24])
        mask = np.zeros(self.shape, bool)
        kind = d["where"]
        if kind == "central venous catheter":
            path = [(a.ut - 50, a.vt - 30, a.wtop), (a.ut - 32, a.vt - 18, a.zc + 30), svc_low]
        else:
            sign = 1 if kind == "pacemaker" else -1
            depth = (1 - 0.45 ** a.p) ** (1 / a.p)
            dev = np.array([sign * 0.45 * (a.ac + 30), -(a.bc + 20) * depth + a.vc, a.zc + 35])
            hit = ellipsoid(self.grid, dev, (14, 6, 12) if kind == "pacemaker" else (10, 6, 10))
            if hit is not None:
                box, q = hit
                device = (q < 1) & ~self.occupied[box]
                self.img[box][device] = 2200
                mask[box] |= device
            path = [tuple(dev), (a.ut - 32 * (sign < 0) + 10 * (sign > 0), a.vt - 18, a.zc + 30), svc_low]
            if kind == "pacemaker":
                path.append(hc + rot[0] * axes[0] * 0.55)
        for p0, p1 in zip(path[:-1], path[1:]):
            hit = tube(self.grid, p0, p1, 1.4, 1.4, pad=2)
            if hit is None:
                continue
            box, sd = hit
            frac = soft(sd, 2.4) * ~self.occupied[box]
            blend(self.img, box, frac, 2400)
            mask[box] |= frac > 0.3
        return mask

    def cardiomegaly(self, d):
        return self.org == ID["heart"]


def draw_findings(rng, grid, anatomy, details: dict) -> dict:
    """Paint ``details``' findings into ``anatomy`` (in place); their masks, in FINDINGS order of ``details``."""
    painter = Painter(rng, grid, anatomy)
    masks = {}
    for name in ORDER:
        if name in details:
            masks[name] = getattr(painter, name)(details[name])
            if name not in ("emphysema", "septal_thickening", "cardiomegaly"):  # later ones keep out
                painter.occupied |= masks[name]
    later = np.zeros(grid.shape, bool)
    for name in reversed(ORDER):
        if name in masks and name != "cardiomegaly":
            masks[name] &= ~later
            later |= masks[name]
    return {name: masks[name] for name in details}
