"""Synthetic chest-CT-like cases with findings at known places, their masks, labels and a report.

Deterministic by seed; numpy only. Array axes are (z, y, x) in LPS: x towards the patient's left,
y towards the back, z towards the head, so the patient's right lung has x < 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.geometry import Geometry

ORGANS = {1: "lung_right", 2: "lung_left", 3: "heart", 4: "aorta", 5: "spine", 6: "ribs"}
FINDINGS = (
    "nodule", "pleural_effusion", "consolidation", "cardiomegaly", "emphysema", "arterial_calcification"
)
CT_RATE_LABEL = {
    "nodule": "Lung nodule",
    "pleural_effusion": "Pleural effusion",
    "consolidation": "Consolidation",
    "cardiomegaly": "Cardiomegaly",
    "emphysema": "Emphysema",
    "arterial_calcification": "Arterial wall calcification",
}
LOBES = {
    "right upper lobe": ("right", "upper"),
    "right middle lobe": ("right", "middle"),
    "right lower lobe": ("right", "lower"),
    "left upper lobe": ("left", "upper"),
    "left lower lobe": ("left", "lower"),
}


@dataclass
class SyntheticCase:
    case_id: str
    image: np.ndarray  # int16 HU, (z, y, x)
    geometry: Geometry
    organs: np.ndarray  # uint8 labels, see ORGANS
    findings: dict[str, np.ndarray]  # finding -> bool mask, only for findings present
    details: dict[str, dict]  # finding -> where and how large
    report: str
    labels: dict[str, int] = field(default_factory=dict)  # CT-RATE label name -> 0/1


def make_case(
    seed: int,
    findings: tuple[str, ...] | None = None,
    shape: tuple[int, int, int] = (64, 128, 128),
    spacing_xyz: tuple[float, float, float] = (2.75, 2.75, 5.0),
    noise_hu: float = 12.0,
) -> SyntheticCase:
    """One case. ``findings=None`` draws each finding with probability 0.35."""
    rng = np.random.default_rng(seed)
    if findings is None:
        findings = tuple(f for f in FINDINGS if rng.random() < 0.35)
    unknown = set(findings) - set(FINDINGS)
    if unknown:
        raise ValueError(f"unknown finding(s) {sorted(unknown)}; choose from {', '.join(FINDINGS)}")
    nz, ny, nx = shape
    z = np.linspace(-1, 1, nz)[:, None, None]
    y = np.linspace(-1, 1, ny)[None, :, None]
    x = np.linspace(-1, 1, nx)[None, None, :]
    jitter = lambda s=0.04: float(rng.normal(0, s))  # noqa: E731

    hu = np.full(shape, -1000.0, dtype=np.float32)
    organs = np.zeros(shape, dtype=np.uint8)
    body_a, body_b = 0.88 + jitter(0.03), 0.66 + jitter(0.03)
    body = (x / body_a) ** 2 + (y / body_b) ** 2 <= 1
    body = np.broadcast_to(body, shape)
    hu[body] = -90.0  # subcutaneous fat
    inner = np.broadcast_to((x / (body_a - 0.07)) ** 2 + (y / (body_b - 0.07)) ** 2 <= 1, shape)
    hu[inner] = 40.0  # muscle and mediastinal soft tissue

    lung_top = 0.85 + jitter(0.03)
    taper = np.clip((lung_top - z) / 0.6, 0.25, 1.0)  # narrower towards the apex
    lungs = {}
    for side, sign, label in (("right", -1, 1), ("left", 1, 2)):
        cx, cy = sign * (0.42 + jitter(0.02)), -0.02 + jitter(0.02)
        rx, ry = 0.30 + jitter(0.02), 0.44 + jitter(0.02)
        m = ((x - cx) / (rx * taper)) ** 2 + ((y - cy) / (ry * taper)) ** 2 <= 1
        m = m & (z > -0.85) & (z < lung_top)
        lungs[side] = m
        organs[m] = label
        hu[m] = -860.0

    heart_r = np.array([0.27, 0.24, 0.32]) * (1.35 if "cardiomegaly" in findings else 1.0)
    heart_c = np.array([0.08 + jitter(0.02), -0.18 + jitter(0.02), -0.35 + jitter(0.03)])
    heart = ((x - heart_c[0]) / heart_r[0]) ** 2 + ((y - heart_c[1]) / heart_r[1]) ** 2 + (
        (z - heart_c[2]) / heart_r[2]
    ) ** 2 <= 1
    organs[heart] = 3
    hu[heart] = 45.0

    aorta_c = (0.16 + jitter(0.01), 0.36 + jitter(0.01))
    aorta_d = np.sqrt((x - aorta_c[0]) ** 2 + (y - aorta_c[1]) ** 2)
    aorta = np.broadcast_to((aorta_d <= 0.075) & (z < 0.6), shape)
    organs[aorta] = 4
    hu[aorta] = 160.0

    spine_d = np.sqrt(x**2 + (y - 0.55) ** 2)
    spine = np.broadcast_to(spine_d <= 0.11, shape)
    organs[spine] = 5
    hu[spine] = 350.0
    hu[np.broadcast_to((spine_d > 0.085) & (spine_d <= 0.11), shape)] = 800.0

    ring = (x / (body_a - 0.1)) ** 2 + (y / (body_b - 0.1)) ** 2
    rib_rows = (np.abs(((z + 1) * 7) % 1 - 0.5) < 0.12) & (z > -0.8) & (z < lung_top)
    ribs = (ring > 0.86) & (ring <= 1.0) & rib_rows & (y < 0.45)
    ribs = ribs & ~np.broadcast_to(spine, shape)
    organs[ribs] = 6
    hu[ribs] = 700.0

    spacing_zyx = np.array(spacing_xyz[::-1])
    half_extent = (np.array(shape) - 1) * spacing_zyx / 2  # mm from the centre to the edge voxel
    masks, details = {}, {}
    lung_any = lungs["right"] | lungs["left"]

    if "emphysema" in findings:
        upper = lung_any & (z > 0.15)
        speckle = rng.random(shape) < 0.45
        m = upper & speckle
        hu[m] = -965.0
        masks["emphysema"], details["emphysema"] = m, {"where": "both upper lobes"}
    if "consolidation" in findings:
        lobe = str(rng.choice(["right lower lobe", "left lower lobe"]))
        m = _blob_in(lungs[LOBES[lobe][0]], _lobe_region(z, y, LOBES[lobe], lung_top), rng, 0.16, x, y, z)
        hu[m] = 25.0
        masks["consolidation"], details["consolidation"] = m, {"lobe": lobe}
    if "nodule" in findings:
        lobe = str(rng.choice(list(LOBES)))
        size_mm = float(rng.choice([6, 8, 10, 12, 15]))
        radius = size_mm / 2 / half_extent[2]  # in normalised x units
        m = _blob_in(lungs[LOBES[lobe][0]], _lobe_region(z, y, LOBES[lobe], lung_top), rng, radius, x, y, z,
                     scale=half_extent / half_extent[2])
        hu[m] = 35.0
        masks["nodule"], details["nodule"] = m, {"lobe": lobe, "size_mm": size_mm}
    if "pleural_effusion" in findings:
        side = str(rng.choice(["right", "left", "both"]))
        sides = ["right", "left"] if side == "both" else [side]
        m = np.zeros(shape, dtype=bool)
        level = 0.25 + jitter(0.05)  # dependent fluid fills the posterior part of the lung
        for s in sides:
            m |= lungs[s] & (y > level) & (z < 0.1)
        hu[m] = 12.0
        masks["pleural_effusion"], details["pleural_effusion"] = m, {"side": side}
    if "cardiomegaly" in findings:
        masks["cardiomegaly"], details["cardiomegaly"] = heart.copy(), {"where": "heart"}
    if "arterial_calcification" in findings:
        wall = np.broadcast_to((aorta_d > 0.05) & (aorta_d <= 0.075), shape) & (z < 0.5)
        plaques = wall & (rng.random(shape) < 0.08)
        hu[plaques] = 900.0
        masks["arterial_calcification"] = plaques
        details["arterial_calcification"] = {"where": "aortic wall"}

    hu += rng.normal(0, noise_hu, shape).astype(np.float32)
    image = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    origin_xyz = tuple(float(-e) for e in half_extent[::-1])
    geometry = Geometry(tuple(float(s) for s in spacing_xyz), origin_xyz, (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    labels = {CT_RATE_LABEL[f]: int(f in masks) for f in FINDINGS}
    report = write_report(details, rng)
    return SyntheticCase(f"synth-{seed:05d}", image, geometry, organs, masks, details, report, labels)


def _lobe_region(z, y, lobe: tuple[str, str], lung_top: float):
    side, level = lobe
    bottom, span = -0.85, lung_top + 0.85
    if level == "upper":
        return z > bottom + 0.6 * span
    if level == "lower":
        return (z <= bottom + 0.45 * span) | ((z <= bottom + 0.6 * span) & (y > 0.1))
    return (z > bottom + 0.3 * span) & (z <= bottom + 0.6 * span) & (y <= 0.1)  # middle lobe


def _blob_in(lung, region, rng, radius, x, y, z, scale=np.ones(3)):
    """A sphere (radius in normalised x units) centred well inside ``lung & region``."""
    inside = np.argwhere(lung & region)
    if inside.size == 0:
        inside = np.argwhere(lung)
    shape = lung.shape
    grid = [np.linspace(-1, 1, n) for n in shape]
    best = None
    for _ in range(40):
        iz, iy, ix = inside[rng.integers(len(inside))]
        c = (grid[0][iz], grid[1][iy], grid[2][ix])
        m = (((z - c[0]) * scale[0]) ** 2 + ((y - c[1]) * scale[1]) ** 2 + ((x - c[2]) * scale[2]) ** 2) <= radius**2
        frac = (m & lung).sum() / max(m.sum(), 1)
        if best is None or frac > best[0]:
            best = (frac, m)
        if frac > 0.97:
            break
    return best[1] & lung


TEMPLATES = {
    "nodule": (
        ["A {size_mm:.0f} mm nodule is seen in the {lobe}.", "There is a {size_mm:.0f} mm solid nodule in the {lobe}."],
        ["No pulmonary nodule is seen.", "No nodule or mass was detected in either lung."],
    ),
    "pleural_effusion": (
        ["{Side} pleural effusion is present.", "There is {side} pleural effusion."],
        ["No pleural effusion.", "Pleural effusion was not observed."],
    ),
    "consolidation": (
        ["There is consolidation in the {lobe}.", "A consolidation area is seen in the {lobe}."],
        ["No consolidation is observed.", "There is no consolidation in either lung."],
    ),
    "cardiomegaly": (
        ["The heart is enlarged, consistent with cardiomegaly.", "Cardiomegaly is present."],
        ["Heart size is normal.", "The heart size is within normal limits."],
    ),
    "emphysema": (
        ["Emphysematous low attenuation areas are seen in both upper lobes.", "There is emphysema in both upper lobes."],
        ["No emphysema is seen.", "There are no emphysematous changes."],
    ),
    "arterial_calcification": (
        ["Calcified atherosclerotic plaques are seen in the wall of the aorta.", "There are calcifications in the aortic wall."],
        ["No calcification is seen in the aortic wall.", "The aortic wall shows no calcification."],
    ),
}
ORDER = ("nodule", "consolidation", "emphysema", "pleural_effusion", "cardiomegaly", "arterial_calcification")


def write_report(details: dict[str, dict], rng) -> str:
    """Findings (one sentence per finding, present or denied) and an impression."""
    sentences = ["Trachea and both main bronchi are open."]
    for finding in ORDER:
        positive, negative = TEMPLATES[finding]
        if finding in details:
            d = details[finding]
            side = {"both": "bilateral"}.get(d.get("side", ""), d.get("side", ""))
            text = str(rng.choice(positive)).format(**{**d, "side": side, "Side": side.capitalize()})
        else:
            text = str(rng.choice(negative))
        sentences.append(text)
    sentences.append("Bone structures are intact.")
    impression = [CT_RATE_LABEL[f] + (f" in the {details[f]['lobe']}" if "lobe" in details[f] else "")
                  for f in ORDER if f in details]
    impression_text = "; ".join(impression) + "." if impression else "No acute abnormality."
    return "Findings: " + " ".join(sentences) + "\nImpression: " + impression_text
