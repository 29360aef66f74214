"""Guess the modality of a volume from its DICOM tag or, failing that, its intensities."""

from __future__ import annotations

import numpy as np

DICOM_MODALITIES = {"CT": "CT", "MR": "MR", "PT": "PET", "NM": "NM", "US": "US", "SEG": "SEG"}


def guess_modality(array: np.ndarray, dicom_modality: str | None = None) -> str:
    """``CT``, ``MR`` or ``unknown``.

    CT stores Hounsfield units: air at about -1000 fills the space around the patient, so a real CT
    has a low percentile far below zero and a top well under 5000. MR intensities are arbitrary but
    non-negative.
    """
    if dicom_modality:
        return DICOM_MODALITIES.get(dicom_modality.strip().upper(), dicom_modality.strip().upper())
    sample = np.asarray(array).ravel()[:: max(1, array.size // 20_000)]
    if sample.size == 0:
        return "unknown"
    lo, hi = np.percentile(sample, [1, 99.5])
    if lo <= -500 and hi < 5000 and sample.min() >= -3100:
        return "CT"
    if lo > -100:  # MR: non-negative up to small bias-field or filtering undershoots
        return "MR"
    return "unknown"
