"""Is a volume like what a loaded model was trained on? One line when not (``model.familiar``)."""

from __future__ import annotations

import torch


def unfamiliar_line(loaded, volume, features=None) -> str | None:
    """The line for ``volume`` (a Volume) under ``loaded``, or None: in its training data, or the
    checkpoint keeps no summary. ``features``: the case's ``CaseFeatures`` when already made (their
    unimodal image vector is what the checkpoint's summary was made of); else the volume is encoded."""
    from ..model.familiar import histogram, unfamiliar
    from .features import features_for

    summary = loaded.training_data
    if not summary:
        return None
    modality = getattr(volume, "modality", None)
    line = unfamiliar(summary, None, modality)
    if line:
        return line
    case = features_for(loaded, volume, features)
    vector = torch.nn.functional.normalize(case.vector, dim=-1)
    return unfamiliar(summary, vector[0].float().cpu().numpy(), modality, histogram(case.x.float().cpu().numpy()))
