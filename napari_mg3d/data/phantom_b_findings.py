"""Family B findings, drawn into a case's anatomy where its plan says (side, lobe, station, size).

Each painter changes the image (and organ labels where tissue is replaced) and returns the mask of
the voxels that show the finding. Lung findings keep out of each other's way (``occupied``); a mask
loses the voxels a later finding paints over.
"""

from __future__ import annotations

import numpy as np

from .phantom_b_anatomy import F32, ID, LOBE_ORGAN, blend, smooth_field, soft, tube

ORDER = ("pleural_effusion", "atelectasis", "consolidation", "ground_glass", "bronchiectasis", "lung_nodule",
         "emphysema", "septal_thickening", "lymphadenopathy", "pericardial_effusion", "hiatal_hernia",
         "aortic_calcification", "coronary_calcification", "medical_material", "cardiomegaly")
SIDE_LOBES = {"right": (3, 4, 5), "left": (1, 2)}
SOLID = tuple(ID[n] for n in ("trachea", "esophagus", "heart", "aorta", "pulmonary_artery", "superior_vena_cava",
                              "vertebrae", "ribs", "sternum"))


class LungPainter:
    def __init__(self, rng, grid, anatomy):
        self.rng, self.grid, self.a = rng, grid, anatomy
        self.img, self.org = anatomy.image, anatomy.organs
        self.occupied = np.zeros(grid.shape, bool)
        self.shape = grid.shape

    def U(self, a, b):
        return float(self.rng.uniform(a, b))

    def full(self, box, local):
        out = np.zeros(self.shape, bool)
        if box is not None:
            out[box] = local
        return out

    def point_in(self, mask):
        """Patient coordinates of a random voxel of ``mask`` (None when empty)."""
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return None
        z, y, x = np.unravel_index(idx[int(self.rng.integers(idx.size))], self.shape)
        g = self.grid
        return np.array([g.u[0, y, x], g.v[0, y, x], g.w[z, 0, 0]], float)

    def blobs(self, centre, n, rmin, rmax, spread):
        """(box, union of ``n`` jittered spheres around ``centre``, roughened by the low-frequency field)."""
        reach = rmax + spread * 2 + 4
        box = self.grid.box(centre - reach, centre + reach)
        if box is None:
            return None, None
        U, V, W = self.grid.local(box)
        rough = 1 + 0.25 * self.a.lf[box]
        region = np.zeros(tuple(s.stop - s.start for s in box), bool)
        for _ in range(n):
            c = centre + self.rng.normal(0, spread, 3) * (0 if not region.any() else 1)
            r = self.U(rmin, rmax)
            region |= ((U - c[0]) ** 2 + (V - c[1]) ** 2 + (W - c[2]) ** 2) < (r * rough) ** 2
        return box, region

    # ------------------------------------------------------------------ pleura and lungs
    def pleural_effusion(self, d):
        a, g = self.a, self.grid
        mask = np.zeros(self.shape, bool)
        self.fluid_front = {}
        for side in (("right", "left") if d["side"] == "bilateral" else (d["side"],)):
            lung = np.isin(self.org, SIDE_LOBES[side])
            back = a.vc + a.bc * (1 - np.clip(np.abs(g.u) / a.ac, 0, 1) ** a.p) ** (1 / a.p)
            top = a.zr + 40 + 1.6 * d["size_mm"]
            front = back - d["size_mm"] * np.clip((top - g.w) / 70.0, 0.15, 1.4)
            fluid = lung & (g.v > front) & (g.w < top)
            self.fluid_front[side] = (front, top)
            mask |= fluid
        self.img[mask] = (F32(self.U(4, 16)) + 4 * self.a.tex)[mask]
        self.org[mask] = 0
        return mask

    def atelectasis(self, d):
        lobe = self.org == LOBE_ORGAN[d["lobe"]]
        mask = None
        if d["where"] == "compressive" and d["side"] in getattr(self, "fluid_front", {}):
            front, top = self.fluid_front[d["side"]]
            mask = lobe & ~self.occupied & (self.grid.v > front - 13) & (self.grid.w < top + 5)
            if mask.sum() < 20:
                mask = None
        if mask is None:
            p = self.point_in(lobe & ~self.occupied & (self.a.cav_val < 0.8))
            p = self.point_in(lobe) if p is None else p
            if p is None:  # the lobe is outside a small field of view
                return np.zeros(self.shape, bool)
            tilt = self.U(0.6, 1.1)
            n = np.array([self.rng.normal(0, 0.2), np.sin(tilt), np.cos(tilt)])
            n /= np.linalg.norm(n)
            reach = self.U(22, 36)
            box = self.grid.box(p - reach, p + reach)
            if box is None:
                return np.zeros(self.shape, bool)
            U, V, W = self.grid.local(box)
            dist = (U - p[0]) * n[0] + (V - p[1]) * n[1] + (W - p[2]) * n[2]
            near = ((U - p[0]) ** 2 + (V - p[1]) ** 2 + (W - p[2]) ** 2) < reach ** 2
            mask = self.full(box, (np.abs(dist) < self.U(3.5, 5.5)) & near) & lobe & ~self.occupied
        self.img[mask] = (F32(self.U(-10, 30)) + 6 * self.a.tex)[mask]
        return mask

    def _lobar_region(self, d, rmin, rmax):
        lobe = self.org == LOBE_ORGAN[d["lobe"]]
        free = lobe & ~self.occupied
        p = self.point_in(free & (self.a.cav_val < 0.85))
        for fallback in (free, lobe):
            p = self.point_in(fallback) if p is None else p
        if p is None:
            return None, np.zeros(self.shape, bool)
        box, region = self.blobs(p, int(self.rng.integers(3, 6)), rmin, rmax, 12.0)
        return p, self.full(box, region) & free

    def consolidation(self, d):
        p, mask = self._lobar_region(d, 12, 22)
        if p is None:
            return mask
        self.img[mask] = (F32(self.U(26, 45)) + 5 * self.a.tex)[mask]
        for _ in range(int(self.rng.integers(1, 4))):  # air bronchograms
            dirn = self.rng.normal(0, 1, 3)
            hit = tube(self.grid, p, p + dirn / np.linalg.norm(dirn) * 28, 1.8, 1.3)
            if hit is not None:
                box, sd = hit
                air = (sd < 0) & mask[box]
                self.img[box][air] = -900
        return mask

    def ground_glass(self, d):
        p, mask = self._lobar_region(d, 15, 28)
        hu = F32(self.U(-610, -540)) + 25 * self.a.tex
        np.maximum(self.img, np.where(mask, hu, F32(-2000)), out=self.img)
        return mask

    def bronchiectasis(self, d):
        lobe = self.org == LOBE_ORGAN[d["lobe"]]
        free = lobe & ~self.occupied
        hilum = self.a.hr if d["side"] == "right" else self.a.hl
        mask = np.zeros(self.shape, bool)
        for _ in range(int(self.rng.integers(3, 5))):
            p = self.point_in(free & (self.a.cav_val < 0.7)) if (free & (self.a.cav_val < 0.7)).any() else self.point_in(free)
            if p is None:
                break
            dirn = p - hilum + self.rng.normal(0, 15, 3)
            dirn /= np.linalg.norm(dirn)
            r = self.U(3.2, 4.6)
            p0, p1 = p - dirn * 12, p + dirn * self.U(20, 32)
            wall = tube(self.grid, p0, p1, r + 2.4, r + 1.8)
            if wall is None:
                continue
            box, sd = wall
            keep = (sd < 0) & free[box]
            self.img[box][keep] = (F32(35) + 5 * self.a.tex[box])[keep]
            self.img[box][keep & (sd < -2.4)] = -985  # the lumen: the same taper, 2.4 mm in
            mask[box] |= keep
        return mask

    def lung_nodule(self, d):
        mask = np.zeros(self.shape, bool)
        for size, lobe_name in d["nodules"]:
            r = size / 2
            lobe = self.org == LOBE_ORGAN[lobe_name]
            best = None
            for _ in range(40):
                p = self.point_in(lobe & ~self.occupied & ~mask)
                if p is None:
                    break
                p += self.rng.uniform(-0.8, 0.8, 3) * (1, 1, 1.2)
                box, region = self.blobs(p, 1, r + 2.5, r + 2.5, 0)
                if box is None:
                    continue
                inside = (lobe[box] & ~self.occupied[box] & ~mask[box])[region].mean()
                if best is None or inside > best[1]:
                    best = (p, inside)
                if inside > 0.98:
                    break
            if best is None:
                continue
            p = best[0]
            box = self.grid.box(p - r - 4, p + r + 4)
            U, V, W = self.grid.local(box)
            e = 1 + self.rng.uniform(-0.1, 0.1, 3)
            sd = np.sqrt(((U - p[0]) * e[0]) ** 2 + ((V - p[1]) * e[1]) ** 2 + ((W - p[2]) * e[2]) ** 2) - r
            frac = soft(sd, 1.2) * lobe[box]
            blend(self.img, box, frac, self.U(18, 50))
            local = (sd < 0) & lobe[box]
            if not local.any():  # smaller than a voxel: the voxel nearest its centre shows it
                local = sd == sd[lobe[box]].min()
                self.img[box][local] = np.maximum(self.img[box][local], -250)
            mask[box] |= local
        return mask

    def emphysema(self, d):
        field = smooth_field(self.rng, self.shape, tuple(max(2, n * 5 // 8) for n in self.shape))
        upper = np.isin(self.org, (1, 3)) & ~self.occupied & (self.a.vfrac < 0.25)
        if d["where"] == "paraseptal":
            mask = upper & (self.a.cav_val > 0.7) & (field > 0.5)
        else:
            mask = upper & (field > 1.0)
        self.img[mask] = (F32(self.U(-990, -965)) + 5 * self.a.tex)[mask]
        return mask

    def septal_thickening(self, d):
        field = smooth_field(self.rng, self.shape, tuple(max(2, n * 3 // 8) for n in self.shape))
        lower = np.isin(self.org, (2, 5)) & ~self.occupied & (self.a.cav_val > 0.7) & (self.grid.w < self.a.zr + 70)
        mask = lower & (np.abs(field) < 0.14)
        hu = F32(self.U(-380, -280)) + 20 * self.a.tex
        np.maximum(self.img, np.where(mask, hu, F32(-2000)), out=self.img)
        return mask
