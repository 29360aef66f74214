"""Family B: the normal chest of one case (habitus, wall, ribs, spine, lungs and lobes, vessels,
airways, heart, great vessels, upper abdomen). Used by ``phantom_b_anatomy.build_anatomy``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .phantom_b_anatomy import F32, ID, blend, ellipsoid, polyline, rotation, smooth_field, soft, tube


def _paint_tube(img, org, grid, p0, p1, r0, r1, hu, organ=0, width=1.5, within=None):
    hit = tube(grid, p0, p1, r0, r1)
    if hit is None:
        return None
    box, sd = hit
    frac = soft(sd, width)
    if within is not None:
        frac = frac * within[box]
    blend(img, box, frac, hu)
    if organ:
        org[box][(sd < 0) & (frac > 0)] = organ
    return hit


def _vessel_tree(rng, grid, vfrac, start, target, radius, generations=4):
    """A branching arterial tree from ``start`` towards ``target``, as partial-volume fractions."""
    start, target = np.asarray(start, float), np.asarray(target, float)
    span = target - start
    stack = [(start, span / np.linalg.norm(span), 0.6 * np.linalg.norm(span), radius, 0)]
    while stack:
        p0, d, length, r, gen = stack.pop()
        p1 = p0 + d * length
        hit = tube(grid, p0, p1, r, r * 0.8, pad=2.0)
        if hit is not None:
            box, sd = hit
            np.maximum(vfrac[box], soft(sd, 2.0), out=vfrac[box])
        if gen < generations:
            for _ in range(2):
                nd = d + 0.65 * rng.standard_normal(3)
                stack.append((p1, nd / np.linalg.norm(nd), length * 0.72, r * 0.68, gen + 1))


def draw_chest(rng, grid, ctr: float) -> SimpleNamespace:
    shape = grid.shape
    u, v, w = grid.u, grid.v, grid.w
    U = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    img = np.full(shape, -1000.0, F32)
    org = np.zeros(shape, np.uint8)
    lf = smooth_field(rng, shape, (6, 9, 9))
    tex = smooth_field(rng, shape, (22, 44, 44))

    # habitus: body, subcutaneous fat, chest wall, thoracic cavity
    ab, bb, p = U(140, 164), U(96, 118), U(2.2, 3.0)
    fat, wall = U(5, 26), U(12, 17)
    ac, bc, vc = ab - fat - wall, bb - fat - wall - U(0, 5), U(-8, -2)
    w_apex, zr = U(112, 130), U(-58, -40)
    zl = zr - U(6, 18)
    au, av = np.abs(u) ** F32(p), np.abs(v) ** F32(p)
    if rng.random() < 0.7:  # curved table under the patient
        top = bb + U(4, 14) + 0.0025 * u * u
        img[:, ((v > top) & (v < top + 8) & (np.abs(u) < 190))[0]] = U(-250, -120)
    body = (au / F32(ab ** p) + av / F32(bb ** p)) + F32(0.03) * lf < 1
    img[body] = F32(-102) + 7 * tex[body]
    muscle = (au / F32((ab - fat) ** p) + av / F32((bb - fat) ** p)) + F32(0.03) * lf < 1
    img[muscle] = F32(48) + 6 * tex[muscle]
    taper = np.sqrt(np.clip((w_apex - w) / 60.0, 1e-4, 1.0)).astype(F32)
    cav_val = (au / F32(ac ** p) + np.abs(v - F32(vc)) ** F32(p) / F32(bc ** p)) / taper ** F32(p) + F32(0.04) * lf
    cav = cav_val < 1

    # ribs: a shell outside the cavity, cut into bands that slope down towards the front
    k = (1 + 11 / ((ac + bc) / 2)) ** p
    theta = np.abs(np.arctan2(u, v - F32(vc)))[0]
    shell = (cav_val >= 1) & (cav_val < k) & (w < w_apex + 20) & (w > zr - 80) & ~((np.abs(u) < 28) & (v < vc))
    iz, iy, ix = np.nonzero(shell)
    phase = (w[iz, 0, 0] + F32(24) * theta[iy, ix]) / F32(U(26, 30)) + F32(U(0, 1))
    keep = phase % 1 < 0.3
    ribs = np.zeros(shape, bool)
    ribs[iz[keep], iy[keep], ix[keep]] = True
    img[ribs] = F32(330) + 50 * tex[ribs]
    org[ribs] = ID["ribs"]

    # diaphragm domes (posterior recesses deeper); thorax above, upper abdomen below
    us = 0.45 * ac
    rq = ((u + us) / (0.85 * ac)) ** 2 + ((v - vc) / bc) ** 2
    lq = ((u - us) / (0.85 * ac)) ** 2 + ((v - vc) / bc) ** 2
    dome = np.where(u < 0, zr - 55 * rq, zl - 55 * lq) - 15 * (v - vc) / bc
    thorax = cav & (w > dome)
    abdomen = cav & ~thorax
    img[thorax] = F32(-95) + 6 * tex[thorax]
    img[abdomen] = F32(-15) + 45 * tex[abdomen]
    liver = abdomen & (u + 14 * lf < 0.25 * ac)
    img[liver] = F32(U(54, 64)) + 5 * tex[liver]
    org[liver] = ID["liver"]
    for name, centre, axes, hu in (
        ("spleen", (0.62 * ac, vc + 0.55 * bc, zl - 45), (24, 0.33 * bc, 45), U(42, 50)),
        ("stomach", (0.42 * ac, vc - 0.1 * bc, zl - 38), (0.33 * ac, 0.4 * bc, 38), U(12, 25)),
    ):
        hit = ellipsoid(grid, centre, axes)
        if hit is not None:
            box, q = hit
            m = (q < 1) & abdomen[box]
            img[box][m] = hu + 5 * tex[box][m]
            org[box][m] = ID[name]
            if name == "stomach":  # gas rises anteriorly in a supine patient
                gas = m & (grid.local(box)[1] < centre[1] - 0.45 * axes[1])
                img[box][gas] = -990
    # spine (vertebral bodies with discs, canal, posterior elements) and sternum
    vvb = vc + bc - 14
    vb = (u / 19) ** 2 + ((v - vvb) / 15) ** 2 < 1
    canal = u ** 2 + (v - vvb - 25) ** 2 < 8 ** 2
    post = ((u ** 2 + (v - vvb - 25) ** 2 < 15 ** 2) | ((np.abs(u) < 5) & (v > vvb + 25) & (v < vvb + 52))
            | ((np.abs(u) < 36) & (np.abs(v - vvb - 22) < 5))) & ~canal & ~vb
    disc = ((w - F32(U(0, 26))) % 26) < 5

    # landmarks of the mediastinum
    ut, ve = U(-3, 3), vvb - 25
    vt, zc = ve - 17, zr + U(85, 102)
    wtop, wbot = float(w.max()) + 20, float(w.min()) - 20
    hr = np.array([-0.36 * ac, vt + 14, zc - 20])
    hl = np.array([0.38 * ac, vt + 18, zc - 30])
    rot = rotation(U(0.5, 0.8), U(0.25, 0.45))
    kk = np.array([1.0, 0.8, 0.72])
    a = ctr * ac / np.sqrt(np.sum((rot[:, 0] * kk) ** 2))
    axes = a * kk
    ext_w = a * np.sqrt(np.sum((rot[:, 2] * kk) ** 2))
    hc = np.array([U(6, 16), vc - bc * U(0.15, 0.28), zr - 12 + 0.75 * ext_w])
    aorta = list(zip(polyline([(ut - 14, vt - 26, hc[2] + 20), (ut - 10, vt - 25, zc - 10), (ut - 10, vt - 24, zc + 12)], 2)[:-1],
                     polyline([(ut - 14, vt - 26, hc[2] + 20), (ut - 10, vt - 25, zc - 10), (ut - 10, vt - 24, zc + 12)], 2)[1:]))
    arch = polyline([(ut - 10, vt - 24, zc + 12), (ut + 6, vt - 2, zc + 42), (ut + 30, vvb - 12, zc + 10)], 6)
    desc = polyline([(ut + 30, vvb - 12, zc + 10), (ut + 27, vvb - 16, zr - 10), (ut + 8, vvb - 30, wbot)], 4)
    r_asc, r_desc = U(13, 16), U(10, 12.5)
    aorta_segs = [(p0, p1, r_asc, r_asc) for p0, p1 in aorta]
    n_arch = len(arch) - 1
    aorta_segs += [(arch[i], arch[i + 1], r_asc + (r_desc - r_asc) * i / n_arch, r_asc + (r_desc - r_asc) * (i + 1) / n_arch)
                   for i in range(n_arch)]
    aorta_segs += [(desc[i], desc[i + 1], r_desc, r_desc) for i in range(len(desc) - 1)]
    pb = np.array([ut + 10, vt - 8, zc - 14])
    pa_segs = [((ut + 22, vt - 38, zc - 48), pb, 13, 12), (pb, hl + (0, -6, 6), 10, 8), (pb, hr + (0, -8, 0), 10, 8)]
    svc_seg = ((ut - 30, vt - 16, wtop), (ut - 28, vt - 14, hc[2] + 22), 9, 9)
    eso = [(ut + 5, ve, wtop), (ut + 6, ve, zc - 30), (ut + 16, ve - 6, zl - 2)]
    structures = [(aorta_segs, 4.0), (pa_segs, 3.0), ([svc_seg], 3.0),
                  ([(eso[0], eso[1], 7, 7), (eso[1], eso[2], 7, 7)], 2.0),
                  ([((ut, vt, wtop), (ut, vt + 3, zc), 10, 10)], 2.0),
                  ([((ut, vt + 3, zc), hr, 7, 6), ((ut, vt + 3, zc), hl, 6, 5)], 2.0)]

    # lungs: the thorax less the mediastinum (central band, heart, great vessels, airways, spine)
    excl = (np.abs(u - 0.5 * ut) < U(14, 20)) & (v < vvb + 5) & (w < wtop)
    excl = excl | ((np.abs(u) < 27) & (v > vvb - 18))
    hbox, hq = ellipsoid(grid, hc, axes * 1.12, rot) or ((slice(0, 0),) * 3, np.zeros((0, 0, 0), F32))
    excl = np.broadcast_to(excl, shape).copy()
    hq = np.where(grid.local(hbox)[2] < zc - 16, hq, F32(9))  # the heart's top stays below the carina
    excl[hbox] |= hq < 1
    for segs, margin in structures:
        for p0, p1, r0, r1 in segs:
            t = tube(grid, p0, p1, r0 + margin, r1 + margin, pad=1.0)
            if t is not None:
                excl[t[0]] |= t[1] < 0
    lung = thorax & ~excl
    right = lung & (u < 0)
    left = lung & ~right
    s_r, s_l = U(0.9, 1.3), U(0.9, 1.3)
    low_r = w < hr[2] - U(5, 18) + s_r * (v - vc) + 6 * lf
    low_l = w < hl[2] - U(0, 12) + s_l * (v - vc) + 6 * lf
    mid_r = w < hr[2] + U(-6, 8) + 4 * lf
    org[left & low_l] = 2
    org[left & ~low_l] = 1
    org[right & low_r] = 5
    org[right & ~low_r & mid_r] = 4
    org[right & ~low_r & ~mid_r] = 3
    lung_hu = U(-878, -842)
    gradient = np.broadcast_to(F32(lung_hu) + F32(40) * ((v - F32(vc)) / F32(bc)), shape)  # dependent lung is denser
    img[lung] = gradient[lung] + 10 * tex[lung]

    # pulmonary vessels: trees from the hila plus a fine network of correlated-noise tubes
    vfrac = np.zeros(shape, F32)
    targets = [(hr, (-0.5 * ac, vc - 0.05 * bc, hr[2] + 55)), (hr, (-0.45 * ac, vc - 0.55 * bc, hr[2] - 35)),
               (hr, (-0.5 * ac, vc + 0.45 * bc, hr[2] - 50)), (hl, (0.5 * ac, vc - 0.1 * bc, hl[2] + 45)),
               (hl, (0.5 * ac, vc + 0.45 * bc, hl[2] - 45))]
    for start, target in targets:
        _vessel_tree(rng, grid, vfrac, start, target, U(5.0, 6.5))
    n1, n2 = smooth_field(rng, shape, (14, 30, 30)), smooth_field(rng, shape, (14, 30, 30))
    np.maximum(vfrac, F32(0.5) * np.exp(F32(-30) * (n1 * n1 + n2 * n2)), out=vfrac)
    vfrac *= lung
    img += vfrac * (F32(38) - img)

    # heart in its pericardial fat, great vessels, oesophagus, airways
    fat_pad = (hq < 1) & cav[hbox]
    img[hbox][fat_pad] = -100 + 5 * tex[hbox][fat_pad]
    box, q = ellipsoid(grid, hc, axes, rot) or ((slice(0, 0),) * 3, np.zeros((0, 0, 0), F32))
    heart = (q < 1) & (grid.local(box)[2] > zr - 30) & (grid.local(box)[2] < zc - 18) & cav[box]
    img[box][heart] = F32(44) + 4 * tex[box][heart]
    org[box][heart] = ID["heart"]
    for segs, organ, hu in ((pa_segs, "pulmonary_artery", 38), ([svc_seg], "superior_vena_cava", 36),
                            (aorta_segs, "aorta", 42)):
        for p0, p1, r0, r1 in segs:
            _paint_tube(img, org, grid, p0, p1, r0, r1, hu, ID[organ])
    for p0, p1 in zip(eso[:-1], eso[1:]):
        _paint_tube(img, org, grid, p0, p1, 7, 7, 42, ID["esophagus"])
    _paint_tube(img, org, grid, (ut, vt, wtop), (ut, vt + 3, zc), 10, 10, 55, ID["trachea"])
    _paint_tube(img, org, grid, (ut, vt, wtop), (ut, vt + 3, zc), 8, 8, -1000, width=1.0)
    for end, r0, r1 in ((hr, 7, 6), (hl, 6, 5)):
        _paint_tube(img, org, grid, (ut, vt + 3, zc), end, r0 + 1.6, r1 + 1.6, 50)
        _paint_tube(img, org, grid, (ut, vt + 3, zc), end, r0, r1, -1000, width=1.0)
    for start, target in targets:
        d = np.asarray(target) - start
        end = start + d / np.linalg.norm(d) * 30
        _paint_tube(img, org, grid, start, end, 5.2, 4.0, 30, within=lung | excl)
        _paint_tube(img, org, grid, start, end, 3.5, 2.5, -1000, width=1.0, within=lung | excl)
    spine = np.broadcast_to(vb, shape) & ~disc
    img[np.broadcast_to(vb, shape) & disc] = 85
    img[spine] = F32(230) + 30 * tex[spine]
    img[np.broadcast_to(post, shape)] = 420
    img[np.broadcast_to(canal, shape)] = 18
    org[spine | post] = ID["vertebrae"]
    stern = (np.abs(u) < 13) & (v > vc - bc - 13) & (v < vc - bc - 1) & (w > zr - 10) & (w < w_apex + 10)
    img[stern] = F32(260) + 30 * tex[stern]
    org[stern] = ID["sternum"]

    return SimpleNamespace(
        image=img, organs=org, tex=tex, lf=lf, vfrac=vfrac, cav_val=cav_val, lung_hu=lung_hu,
        ac=ac, bc=bc, vc=vc, p=p, w_apex=w_apex, zr=zr, zl=zl, dome=dome, vvb=vvb, ut=ut, vt=vt, ve=ve, zc=zc,
        hr=hr, hl=hl, heart=(hc, axes, rot), aorta=aorta_segs, arch_n=n_arch, svc=svc_seg, eso=eso,
        thorax=thorax, wtop=wtop,
    )
