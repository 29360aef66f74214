"""Synthetic chest-CT-like cases with findings at known places, their masks, labels and a report.

Deterministic by seed; numpy only. Array axes are (z, y, x) in LPS: x towards the patient's left,
y towards the back, z towards the head, so the patient's right lung has x < 0.

The chest (``synthetic_anatomy``) is drawn anew per case: body size and shape, lung heights and
fissures, heart size and place, the aorta's course, a small turn and shift of the whole chest,
contrast or not, intensity offset and noise level. Findings (``FINDINGS``, one per CT-RATE label,
each present with probability ``P_FINDING``) are drawn into it (``synthetic_lung_findings``,
``synthetic_chest_findings``), from a few millimetres to a lobe, and the report
(``synthetic_report``) is written in one of three styles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.geometry import Geometry
from . import synthetic_chest_findings as chest
from . import synthetic_lung_findings as lung
from .synthetic_anatomy import LOBES, ORGANS, build_anatomy
from .synthetic_report import STYLES, write_report
from .synthetic_shapes import Grid

__all__ = ["CT_RATE_LABEL", "FINDINGS", "LOBES", "ORGANS", "STYLES", "SyntheticCase", "make_case", "write_report"]

CT_RATE_LABEL = {
    "medical_material": "Medical material",
    "arterial_calcification": "Arterial wall calcification",
    "cardiomegaly": "Cardiomegaly",
    "pericardial_effusion": "Pericardial effusion",
    "coronary_calcification": "Coronary artery wall calcification",
    "hiatal_hernia": "Hiatal hernia",
    "lymphadenopathy": "Lymphadenopathy",
    "emphysema": "Emphysema",
    "atelectasis": "Atelectasis",
    "nodule": "Lung nodule",
    "lung_opacity": "Lung opacity",
    "fibrotic_sequela": "Pulmonary fibrotic sequela",
    "pleural_effusion": "Pleural effusion",
    "mosaic_attenuation": "Mosaic attenuation pattern",
    "peribronchial_thickening": "Peribronchial thickening",
    "consolidation": "Consolidation",
    "bronchiectasis": "Bronchiectasis",
    "septal_thickening": "Interlobular septal thickening",
}
FINDINGS = tuple(CT_RATE_LABEL)  # internal names, in CT-RATE's label order
P_FINDING = 0.3
# drawing order: diffuse patterns first, focal findings over them, devices last; a later finding
# takes the voxels it paints from the masks of earlier ones
DRAW = {
    "pleural_effusion": chest.pleural_effusion, "emphysema": lung.emphysema,
    "mosaic_attenuation": lung.mosaic_attenuation, "septal_thickening": lung.septal_thickening,
    "peribronchial_thickening": lung.peribronchial_thickening, "bronchiectasis": lung.bronchiectasis,
    "fibrotic_sequela": lung.fibrotic_sequela, "atelectasis": lung.atelectasis,
    "consolidation": lung.consolidation, "lung_opacity": lung.lung_opacity, "nodule": lung.nodule,
    "hiatal_hernia": chest.hiatal_hernia, "lymphadenopathy": chest.lymphadenopathy,
    "cardiomegaly": chest.cardiomegaly, "pericardial_effusion": chest.pericardial_effusion,
    "arterial_calcification": chest.arterial_calcification, "coronary_calcification": chest.coronary_calcification,
    "medical_material": chest.medical_material,
}


@dataclass
class SyntheticCase:
    case_id: str
    image: np.ndarray  # int16 HU, (z, y, x)
    geometry: Geometry
    organs: np.ndarray  # uint8 labels, see ORGANS (TotalSegmentator names)
    findings: dict[str, np.ndarray]  # finding -> bool mask of the voxels that show it, only findings present
    details: dict[str, dict]  # finding -> where (lobe / lobes / side / stations ...) and how large (size_mm)
    report: str
    labels: dict[str, int] = field(default_factory=dict)  # CT-RATE label name -> 0/1, every label in CT_RATE_LABEL


def make_case(
    seed: int,
    findings: tuple[str, ...] | None = None,
    shape: tuple[int, int, int] = (64, 128, 128),
    spacing_xyz: tuple[float, float, float] = (2.75, 2.75, 5.0),
    noise_hu: float = 12.0,
    style: str | None = None,
) -> SyntheticCase:
    """One case. ``findings=None`` draws each finding with probability ``P_FINDING``; ``style``
    picks the report style (one of ``STYLES``; drawn at random by default). ``noise_hu`` is the
    typical noise; each case scales it by 0.7-1.5."""
    rng = np.random.default_rng(seed)
    if findings is None:
        findings = tuple(f for f in FINDINGS if rng.random() < P_FINDING)
    unknown = set(findings) - set(FINDINGS)
    if unknown:
        raise ValueError(f"unknown finding(s) {sorted(unknown)}; choose from {', '.join(FINDINGS)}")
    if style is not None and style not in STYLES:
        raise ValueError(f"unknown report style {style!r}; choose from {', '.join(STYLES)}")
    grid = Grid(shape, np.asarray(spacing_xyz[::-1], dtype=float))
    heart_scale = rng.uniform(1.25, 1.4) if "cardiomegaly" in findings else 1.0
    pericardial_mm = rng.uniform(6, 20) if "pericardial_effusion" in findings else 0.0
    anat = build_anatomy(grid, rng, heart_scale, pericardial_mm)

    masks, details = {}, {}
    for name, draw in DRAW.items():
        if name not in findings:
            continue
        mask, details[name] = draw(anat, rng)
        for earlier in masks:
            left = masks[earlier] & ~mask
            if left.any():
                masks[earlier] = left
        masks[name] = mask
        if name == "pleural_effusion":
            anat.at["fluid"] = mask

    hu = anat.hu + np.float32(rng.uniform(-10, 10))  # calibration offset
    if noise_hu:
        hu += rng.standard_normal(shape, dtype=np.float32) * np.float32(noise_hu * rng.uniform(0.7, 1.5))
    image = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    origin_xyz = tuple(float(-e) for e in grid.half[::-1])
    geometry = Geometry(tuple(float(s) for s in spacing_xyz), origin_xyz, (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0))
    labels = {CT_RATE_LABEL[f]: int(f in masks) for f in FINDINGS}
    details = {f: details[f] for f in FINDINGS if f in details}
    report = write_report(details, rng, style)
    return SyntheticCase(f"synth-{seed:05d}", image, geometry, anat.organs, masks, details, report, labels)
