"""How far a model's outlines can be trusted, finding by finding: measured on held-out cases whose
findings have masks (the manifest's ``regions``), kept in the checkpoint (``outline_quality``), and
read by the viewer before it shows an outline's volume.

For each held-out case and each finding with a mask, the sentence of the report that states that
finding with the fewest others (the first of those) is mapped and outlined (``inference.outline``) exactly as the viewer does; the Dice of
the outline with the mask and the outline's volume against the mask's are kept per CT-RATE label.
A volume in ml is shown for a label whose outlines reached a mean Dice of at least ``EARNED_DICE``
(0.5) and a median relative ml error of at most ``EARNED_ML_ERROR`` (0.5) on at least ``MIN_CASES``
(3) held-out cases; otherwise the outline is shown as where the map points,
with the measured Dice and no volume (a model trained without finding masks, or never measured,
has earned none)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

EARNED_DICE = 0.5  # the mean Dice with held-out finding masks for an outline's ml to be shown
EARNED_ML_ERROR = 0.5  # and the median relative error of its ml
MIN_CASES = 3


def measure(model, profile, cases, limit: int = 64) -> dict[str, dict]:
    """label -> {"cases", "dice" (mean), "ml_error" (median |outline - mask| / mask)} over up to
    ``limit`` of ``cases`` (manifest Cases) that have finding masks."""
    import torch

    from ..io.volume import read_volume
    from ..knowledge.labels import label_report
    from .attention import on_volume_grid, sentence_maps
    from .encode import model_input
    from .outline import body_mask, outline

    was_training = model.training
    model.eval()
    found = defaultdict(list)
    with torch.no_grad():
        for case in [c for c in cases if c.regions][:limit]:
            volume = read_volume(case.volume)
            maps = sentence_maps(model, model_input(volume, profile).to(next(model.parameters()).device), case.report)
            body = body_mask(volume)
            said = [label_report(m.text) for m in maps]  # what each sentence states, read once per case
            for label, path in case.regions.items():
                # the sentence that states it with the fewest other findings (an impression line
                # listing three findings points at all three)
                stating = [(sum(v == 1 for v in said[i].values()), i, m) for i, m in enumerate(maps)
                           if said[i].get(label) == 1]
                if not stating:
                    continue
                naming = min(stating, key=lambda t: t[:2])[2]
                truth = read_volume(path).array > 0
                shape = outline(on_volume_grid(naming, volume, profile), volume, naming.text, body)
                dice = 2 * (shape.mask & truth).sum() / max(1, shape.mask.sum() + truth.sum())
                truth_ml = float(truth.sum()) * float(np.prod(volume.geometry.spacing)) / 1000
                found[label].append((float(dice), abs(shape.ml - truth_ml) / max(truth_ml, 1e-6)))
    model.train(was_training)
    return {label: {"cases": len(v), "dice": round(float(np.mean([d for d, _ in v])), 4),
                    "ml_error": round(float(np.median([e for _, e in v])), 4)} for label, v in sorted(found.items())}


def named_label(text: str) -> str | None:
    """The first CT-RATE label a sentence states as present, or None."""
    from ..knowledge.labels import label_report

    return next((label for label, v in label_report(text).items() if v == 1), None)


def shown_volume(quality: dict | None, text: str, ml: float) -> tuple[float | None, str]:
    """(the ml to show or None, the line the viewer shows for an outline of sentence ``text``)."""
    ok, why = earned(quality, named_label(text))
    return (ml, "") if ok else (None, why)


def earned(quality: dict | None, label: str | None) -> tuple[bool, str]:
    """(whether an outline of ``label`` may show its ml, the reason in words when not)."""
    if not label:
        return False, "no volume: the sentence names no finding this model outlines"
    q = (quality or {}).get(label)
    if q is None or q["cases"] < MIN_CASES:
        return False, "no volume: this model's outlines of it were never measured against finding masks"
    if q["dice"] < EARNED_DICE or q["ml_error"] > EARNED_ML_ERROR:
        return False, (f"no volume: on {q['cases']} held-out cases its outlines overlapped the finding by "
                       f"Dice {q['dice']:.2f}, their volume off by {100 * q['ml_error']:.0f}% (median)")
    return True, ""
