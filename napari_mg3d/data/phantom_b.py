"""Synthetic chest CT, family B: a second phantom generator written apart from ``synthetic.py``.

Same interface as family A (``make_case``, ``FINDINGS``, ``CT_RATE_LABEL``, ``ORGANS``) so a writer or a
learning bench can train on one family and test on the other. The anatomy is built from superellipse
cross-sections, rotated ellipsoids and tapered tubes in patient coordinates (phantom_b_anatomy), the
findings are drawn into it (phantom_b_findings), and the report is a terse British-style dictation
(phantom_b_report).

Arrays are (z, y, x) in LPS: x towards the patient's left, y posterior, z superior; the volume is
centred at (0, 0, 0) mm with an identity direction. A case is planned first (which findings, where,
how large, and the report) from the seed alone, then drawn; ``plan_case`` gives the plan without
the image, for cheap checks of reports and labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.geometry import Geometry
from .phantom_b_anatomy import LOBE_ORGAN, ORGANS, build_anatomy, make_grid
from .phantom_b_mediastinum import draw_findings
from .phantom_b_report import write_report

__all__ = ["FINDINGS", "CT_RATE_LABEL", "ORGANS", "PhantomCase", "PhantomPlan", "plan_case", "make_case"]

FINDINGS = (
    "pleural_effusion", "atelectasis", "consolidation", "ground_glass", "bronchiectasis", "lung_nodule",
    "emphysema", "septal_thickening", "lymphadenopathy", "pericardial_effusion", "cardiomegaly",
    "aortic_calcification", "coronary_calcification", "hiatal_hernia", "medical_material",
)
CT_RATE_LABEL = {
    "pleural_effusion": "Pleural effusion", "atelectasis": "Atelectasis", "consolidation": "Consolidation",
    "ground_glass": "Lung opacity", "bronchiectasis": "Bronchiectasis", "lung_nodule": "Lung nodule",
    "emphysema": "Emphysema", "septal_thickening": "Interlobular septal thickening",
    "lymphadenopathy": "Lymphadenopathy", "pericardial_effusion": "Pericardial effusion",
    "cardiomegaly": "Cardiomegaly", "aortic_calcification": "Arterial wall calcification",
    "coronary_calcification": "Coronary artery wall calcification", "hiatal_hernia": "Hiatal hernia",
    "medical_material": "Medical material",
}
LOBES = tuple(LOBE_ORGAN)
# mediastinal and hilar node stations: name -> side
STATIONS = {"right paratracheal": "right", "subcarinal": "midline", "aortopulmonary window": "left",
            "right hilar": "right", "left hilar": "left", "prevascular": "midline"}
PROBABILITY = 0.3


@dataclass
class PhantomPlan:
    case_id: str
    details: dict
    report: str
    labels: dict


@dataclass
class PhantomCase:
    case_id: str
    image: np.ndarray  # int16 HU, (z, y, x)
    geometry: Geometry
    organs: np.ndarray  # uint8, values are keys of ORGANS
    findings: dict = field(default_factory=dict)  # name -> bool mask (present findings only)
    details: dict = field(default_factory=dict)
    report: str = ""
    labels: dict = field(default_factory=dict)


def _nodule_size(rng) -> float:
    r = rng.random()
    if r < 0.55:
        return float(rng.uniform(6.0, 10.0))
    if r < 0.75:
        return float(rng.uniform(4.0, 6.0))
    return float(rng.uniform(10.0, 30.0))


def _side_of(lobe: str) -> str:
    return lobe.split()[0]


def _plan_details(rng, chosen) -> dict:
    details: dict[str, dict] = {}
    free = list(LOBES)

    def take(prefer=()):
        pool = [lobe for lobe in free if lobe in prefer] or free
        lobe = pool[int(rng.integers(len(pool)))]
        free.remove(lobe)
        return lobe

    if "pleural_effusion" in chosen:
        side = str(rng.choice(["right", "left", "bilateral"], p=[0.4, 0.35, 0.25]))
        depth = float(rng.uniform(22.0, 60.0))
        details["pleural_effusion"] = {"side": side, "size": "small" if depth < 40 else "moderate",
                                       "size_mm": round(depth, 1), "where": "dependent pleural space"}
    if "atelectasis" in chosen:
        eff = details.get("pleural_effusion")
        if eff is not None and rng.random() < 0.7:
            side = eff["side"] if eff["side"] != "bilateral" else str(rng.choice(["right", "left"]))
            lobe = f"{side} lower lobe"
            free.remove(lobe)
            where = "compressive"
        else:
            lobe, where = take(("right middle lobe", "right lower lobe", "left lower lobe", "left upper lobe")), "plate-like"
        details["atelectasis"] = {"side": _side_of(lobe), "lobe": lobe, "where": where}
    for name, prefer in (("consolidation", ()), ("ground_glass", ()),
                         ("bronchiectasis", ("right lower lobe", "left lower lobe", "right middle lobe"))):
        if name in chosen:
            lobe = take(prefer)
            details[name] = {"side": _side_of(lobe), "lobe": lobe}
    if "lung_nodule" in chosen:
        count = int(rng.choice([1, 2, 3], p=[0.7, 0.2, 0.1]))
        nodules = sorted(((_nodule_size(rng), LOBES[int(rng.integers(5))]) for _ in range(count)), reverse=True)
        size, lobe = nodules[0]
        sides = {_side_of(lb) for _, lb in nodules}
        details["lung_nodule"] = {"side": sides.pop() if len(sides) == 1 else "bilateral", "lobe": lobe, "size_mm": round(size, 1), "count": count,
                                  "where": "solid", "nodules": [[round(s, 1), lb] for s, lb in nodules]}
    if "emphysema" in chosen:
        details["emphysema"] = {"side": "bilateral", "lobe": "upper lobes",
                                "where": str(rng.choice(["centrilobular", "paraseptal"], p=[0.7, 0.3]))}
    if "septal_thickening" in chosen:
        details["septal_thickening"] = {"side": "bilateral", "lobe": "lower lobes", "where": "subpleural lower zones"}
    if "lymphadenopathy" in chosen:
        count = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
        names = list(STATIONS)
        picks = [names[i] for i in rng.permutation(len(names))[:count]]
        nodes = sorted(((float(rng.uniform(10.0, 25.0)), st) for st in picks), reverse=True)
        size, where = nodes[0]
        sides = {STATIONS[st] for _, st in nodes}
        details["lymphadenopathy"] = {"side": sides.pop() if len(sides) == 1 else "midline", "where": where,
                                      "size_mm": round(size, 1),
                                      "count": count, "nodes": [[round(s, 1), st] for s, st in nodes]}
    if "pericardial_effusion" in chosen:
        details["pericardial_effusion"] = {"side": "midline", "where": "pericardium",
                                           "size_mm": round(float(rng.uniform(6.0, 14.0)), 1)}
    if "cardiomegaly" in chosen:
        details["cardiomegaly"] = {"side": "midline", "where": "heart", "ctr": round(float(rng.uniform(0.58, 0.66)), 3)}
    if "aortic_calcification" in chosen:
        where = str(rng.choice(["aortic arch", "descending thoracic aorta", "thoracic aorta"]))
        details["aortic_calcification"] = {"side": "midline", "where": where, "count": int(rng.integers(2, 6))}
    if "coronary_calcification" in chosen:
        details["coronary_calcification"] = {"side": "left", "where": "left anterior descending",
                                             "count": int(rng.integers(1, 4))}
    if "hiatal_hernia" in chosen:
        details["hiatal_hernia"] = {"side": "midline", "where": "oesophageal hiatus",
                                    "size_mm": round(float(rng.uniform(28.0, 50.0)), 1)}
    if "medical_material" in chosen:
        kind = str(rng.choice(["central venous catheter", "pacemaker", "port"]))
        details["medical_material"] = {"side": "left" if kind == "pacemaker" else "right", "where": kind}
    return {name: details[name] for name in FINDINGS if name in details}


def _chosen(rng, findings) -> tuple[str, ...]:
    if findings is None:
        return tuple(f for f in FINDINGS if rng.random() < PROBABILITY)
    unknown = [f for f in findings if f not in FINDINGS]
    if unknown:
        raise ValueError(f"unknown finding(s) {unknown}; family B draws {FINDINGS}")
    return tuple(f for f in FINDINGS if f in findings)


def plan_case(seed: int, findings: tuple[str, ...] | None = None) -> PhantomPlan:
    """Which findings, where and how large, and the report: everything but the image (fast)."""
    rng = np.random.default_rng([int(seed), 0xB0])
    details = _plan_details(rng, _chosen(rng, findings))
    report = write_report(details, FINDINGS, np.random.default_rng([int(seed), 0xB2]))
    labels = {CT_RATE_LABEL[f]: int(f in details) for f in FINDINGS}
    return PhantomPlan(f"phantomb-{int(seed):05d}", details, report, labels)


def make_case(seed: int, findings: tuple[str, ...] | None = None, shape=(64, 128, 128),
              spacing_xyz=(2.75, 2.75, 5.0), noise_hu: float = 12.0) -> PhantomCase:
    """A family B chest CT with its organs, finding masks, details, report and labels (deterministic by seed)."""
    plan = plan_case(seed, findings)
    rng = np.random.default_rng([int(seed), 0xB1])
    grid = make_grid(rng, tuple(int(n) for n in shape), tuple(float(s) for s in spacing_xyz))
    ctr = plan.details["cardiomegaly"]["ctr"] if "cardiomegaly" in plan.details else float(rng.uniform(0.39, 0.47))
    anatomy = build_anatomy(rng, grid, ctr)
    masks = draw_findings(rng, grid, anatomy, plan.details)
    image = anatomy.image
    if noise_hu > 0:
        image += _grain(rng, image.shape, noise_hu)
    image = np.clip(np.rint(image), -1024, 3071).astype(np.int16)
    nz, ny, nx = image.shape
    sx, sy, sz = (float(s) for s in spacing_xyz)
    origin = (-(nx - 1) / 2 * sx, -(ny - 1) / 2 * sy, -(nz - 1) / 2 * sz)
    geometry = Geometry((sx, sy, sz), origin, (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    return PhantomCase(plan.case_id, image, geometry, anatomy.organs, masks, plan.details, plan.report, plan.labels)


def _grain(rng, shape, sigma: float) -> np.ndarray:
    """Scanner grain: white noise blurred over two in-plane neighbours (correlated, like a CT kernel),
    scaled to ``sigma`` HU."""
    n = rng.standard_normal(shape, dtype=np.float32)
    n[:, :, 1:] += n[:, :, :-1]
    n[:, 1:, :] += n[:, :-1, :]
    n *= np.float32(sigma / 2.0)
    return n
