"""How far a model's outlines can be trusted, finding by finding: measured on held-out cases whose
findings have masks (the manifest's ``regions``), kept in the checkpoint (``outline_quality``), and
read by the viewer before it shows an outline's volume.

The outline rule's level is a run's own, per label: a model's maps fall off around a finding at
their own rate (a lobe-wide opacity, a 6 mm nodule), so ``mg3d pretrain`` chooses, among the rule's
levels (``levels_of``), the level whose outlines best overlap each label's finding masks on its
training cases (``choose_levels``; kept as ``outline_levels``), and the viewer outlines a sentence
at the level of the finding it names (a model trained with the outline term instead outlines each
map at its own cut, ``inference.outline``, and its levels are not read). Then, for each held-out
case and each finding with a mask, the sentence of the report that states that finding with the
fewest others (the first of those) is mapped and outlined at that level (``inference.outline``),
exactly as the viewer does; the Dice of the outline with the mask and the outline's volume against
the mask's are kept per CT-RATE label.
A volume in ml is shown for a label whose outlines reached a mean Dice of at least ``EARNED_DICE``
(0.5) and a median relative ml error of at most ``EARNED_ML_ERROR`` (0.5) on at least ``MIN_CASES``
(3) held-out cases; otherwise the outline is shown as where the map points,
with the measured Dice and no volume (a model trained without finding masks, or never measured,
has earned none)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .outline import MAP_RULE, named_label

EARNED_DICE = 0.5  # the mean Dice with held-out finding masks for an outline's ml to be shown
EARNED_ML_ERROR = 0.5  # and the median relative error of its ml
MIN_CASES = 3
# training cases a run chooses its levels on: 32 gave a finding ~10 maps to choose among 15 levels by,
# and the choice's noise cost Dice on held-out cases (docs/method.md, levels in means)
CHOICE_CASES = 100
# the outline rule's levels a run chooses among, per label, on its training cases (``choose_levels``):
# fractions of the way to the map's peak, or for a "/mean" rule multiples of the map's mean in the body
LEVELS = (0.003, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MEAN_LEVELS = tuple(float(2 ** i) for i in range(15))  # 1, 2, 4, ... 16384


def levels_of(rule: str) -> tuple[float, ...]:
    """The levels a run chooses among for outline rule ``rule``."""
    from .outline import by_mean

    return MEAN_LEVELS if by_mean(rule) else LEVELS


def _stated_maps(model, profile, cases, limit: int):
    """(label, map on the volume's grid, its mask, volume, sentence, body) for each finding with a
    mask of up to ``limit`` of ``cases`` (manifest Cases), mapped from the sentence that states it
    with the fewest other findings (an impression line listing three findings points at all three)."""
    import torch

    from ..io.volume import read_volume
    from ..knowledge.labels import label_report
    from .attention import on_volume_grid, sentence_maps
    from .encode import model_input
    from .outline import body_mask

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for case in [c for c in cases if c.regions][:limit]:
                volume = read_volume(case.volume)
                maps = sentence_maps(model, model_input(volume, profile).to(next(model.parameters()).device),
                                     case.report)
                body = body_mask(volume)
                said = [label_report(m.text) for m in maps]  # what each sentence states, read once per case
                for label, path in case.regions.items():
                    stating = [(sum(v == 1 for v in said[i].values()), i, m) for i, m in enumerate(maps)
                               if said[i].get(label) == 1]
                    if not stating:
                        continue
                    naming = min(stating, key=lambda t: t[:2])[2]
                    yield (label, on_volume_grid(naming, volume, profile), read_volume(path).array > 0, volume,
                           naming.text, body, naming.cut)
    finally:
        model.train(was_training)


def dice(mask: np.ndarray, truth: np.ndarray) -> float:
    """The overlap of two bool masks: 2 |A and B| / (|A| + |B|), 0 when both are empty."""
    return float(2 * (mask & truth).sum() / max(1, mask.sum() + truth.sum()))


def choose_levels(model, profile, cases, limit: int = CHOICE_CASES,
                  rule: str = MAP_RULE) -> dict[str, float]:
    """label -> the outline rule's level (``inference.outline``'s fraction of the way to the peak, or
    for a "/mean" rule multiple of the map's mean) among ``levels_of(rule)`` whose outlines best
    overlap the finding's masks (mean Dice) on up to ``limit`` of ``cases`` (the run's training
    cases) with finding masks. Only sentences whose outline level is that label's are counted
    (``outline.level_for``: a sentence stating two findings is outlined at its first's, in the
    labels' table order). A label met on fewer than ``MIN_CASES``, or whose outlines never overlap
    its masks at any level, keeps the rule's default (absent here). ``rule``: the outline rule the
    levels are for (one of ``inference.outline.RULES``; among ``levels_of(rule)``)."""
    from .outline import outline_voxels

    levels = levels_of(rule)
    found = defaultdict(list)
    for label, heat, truth, volume, text, body, _ in _stated_maps(model, profile, cases, limit):
        if named_label(text) == label:
            found[label].append([dice(outline_voxels(heat, volume, body, level, rule=rule), truth)
                                 for level in levels])
    chosen = {}
    for label, v in sorted(found.items()):
        mean = np.mean(v, 0)
        if len(v) >= MIN_CASES and mean.max() > 0:
            chosen[label] = levels[int(np.argmax(mean))]
    return chosen


def measure(model, profile, cases, limit: int = 64, levels: dict | None = None,
            cuts: bool = True, rule: str = MAP_RULE) -> dict[str, dict]:
    """label -> {"cases", "dice" (mean), "ml_error" (median |outline - mask| / mask)} over up to
    ``limit`` of ``cases`` (manifest Cases) that have finding masks, each sentence outlined at the
    level ``levels`` gives it (``outline.level_for``; else the rule's default), or at its map's own
    cut where ``cuts`` (the checkpoint records the outline term as trained), by ``rule`` (the
    checkpoint's ``outline_rule``), as the viewer does."""
    from .outline import level_for, outline

    found = defaultdict(list)
    for label, heat, truth, volume, text, body, cut in _stated_maps(model, profile, cases, limit):
        shape = outline(heat, volume, text, body, level_for(levels, text, rule), cut if cuts else None, rule)
        truth_ml = float(truth.sum()) * float(np.prod(volume.geometry.spacing)) / 1000
        found[label].append((dice(shape.mask, truth), abs(shape.ml - truth_ml) / max(truth_ml, 1e-6)))
    return {label: {"cases": len(v), "dice": round(float(np.mean([d for d, _ in v])), 4),
                    "ml_error": round(float(np.median([e for _, e in v])), 4)} for label, v in sorted(found.items())}


def shown_volume(quality: dict | None, text: str, ml: float, refined: bool = False) -> tuple[float | None, str]:
    """(the ml to show or None, the line the viewer shows for an outline of sentence ``text``)."""
    ok, why = earned(quality, named_label(text), refined)
    return (ml, "") if ok else (None, why)


def earned(quality: dict | None, label: str | None, refined: bool = False) -> tuple[bool, str]:
    """(whether an outline of ``label`` may show its ml, the reason in words when not); ``refined``:
    of a Grad-CAM map, which the measurement (of the model's own maps) does not speak for."""
    if refined:
        return False, "no volume: Grad-CAM maps were not measured against finding masks"
    if not label:
        return False, "no volume: the sentence names no finding this model outlines"
    q = (quality or {}).get(label)
    if q is None or q["cases"] < MIN_CASES:
        return False, "no volume: this model's outlines of it were never measured against finding masks"
    if q["dice"] < EARNED_DICE or q["ml_error"] > EARNED_ML_ERROR:
        return False, (f"no volume: on {q['cases']} held-out cases its outlines overlapped the finding by "
                       f"Dice {q['dice']:.2f}, their volume off by {100 * q['ml_error']:.0f}% (median)")
    return True, ""
