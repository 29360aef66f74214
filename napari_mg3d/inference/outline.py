"""A sentence's finding outlined: the voxels its attention map marks, their volume in ml and their
anatomical place.

The rule (hysteresis on the map, relative to its peak, inside the body): with ``lo`` the map's
smallest value in the body and ``peak`` its largest, a voxel is outlined when

- its value is at least ``lo + FRACTION x (peak - lo)`` (FRACTION = 0.01), and
- it is connected (6-neighbours) through such voxels to one of at least
  ``lo + sqrt(FRACTION) x (peak - lo)`` (a tenth of the way), and
- it lies in the body.

For the grounding head's maps (a softmax over places, ``lo`` about 0) this keeps the places whose
log-odds are within ln 100 = 4.6 of the peak's, in the pieces that come within half that (2.3) of
it: the ideal map of the region term is uniform on the finding's mask (``model.objectives.
region_loss``), where any fraction recovers the mask; the trained maps fall off smoothly around
it, so the level is set where they fall off. Several pieces are kept, not only the peak's: a
bilateral finding (emphysema of both upper lobes) and a speckle (calcified plaques) are more than
one piece. FRACTION was chosen on seed-0 synthetic cases only (the first 30 of the learning
bench's training cases, 72 sentences naming a finding, model /tmp/learn19 trained with finding
masks): mean Dice over findings 0.56, 0.58, 0.59, 0.59, 0.59, 0.57, 0.54 at 0.003, 0.005, 0.0075,
0.01, 0.015, 0.02, 0.03; a single level without the seeds at best 0.58 (nodules 0.32 at 0.01: stray
voxels join them), only the peak's piece at best 0.54 (plaques 0.03), the smallest set holding a
share of the map's mass at best 0.49 (nodules 0.01 at 80%). The held-out figures are
``bench/attention.py``'s (seed 1). The constant holds
for maps that are shares of a softmax; the official models' fusion maps (48 places) and Grad-CAM
maps are outlined by the same rule but are too coarse for it to mean much.

A run's own levels: ``FRACTION`` is the rule's default; ``mg3d pretrain`` chooses, per CT-RATE
label, the level among ``inference.outline_quality.LEVELS`` whose outlines best overlapped that
label's finding masks on its training cases, and keeps them (``outline_levels``); a sentence is
outlined at the level of the finding it names (``level_for``). The held-out measurement and the
viewer's ml rule read those levels (``inference.outline_quality``). Grad-CAM maps are not what the
levels were chosen on: they are outlined at the rule's default and their ml is never shown as earned.

Levels in means (the rules ending ``BY_MEAN``, which ``mg3d pretrain`` records since they were
added): a level k stands for ``lo + k x mean`` (the map's mean above ``lo`` in the body; at most
``MEAN_CAP`` of the way to the peak), i.e. the voxels where the map is k times what it would be
spread evenly over the body, with the seeds at the square root of that share of the way to the peak
as above. A fraction of the peak outlines a map with one sharp peak too tightly and a flat-topped
map too widely: on a model's maps the best fraction for a finding falls as the peak stands further
above the map's mean (Spearman's rho -0.48 to -0.77 for 10 of 18 findings, below 0 for 15; the demo
model's maps of 64 of its training cases, the best level by the image rule), which a level in means
follows by itself. Its price: for one kind of map it depends on the finding's size against the
body's (a small finding's level is higher), which a level chosen per finding takes in, and which
makes one level for every finding worse in means than as a fraction. Where a run chose no level for
a finding, the default is ``MEAN_LEVEL``. Figures: README, "Outline levels in means".

A model trained with the outline objective (``model.objectives.outline_loss``; the checkpoint lists
"outlines" among its trained parts) says itself where a finding ends: each sentence's map comes with
a cut (``AttentionMap.cut``), the share at which the map's log-odds plus the sentence's outline
offset reach 0, i.e. where the outline's probability (their sigmoid) is 0.5; the outline is then
every voxel of the map on the volume's grid (resampled as the heatmap is) at or above the cut, in
the body: no level is chosen, and no piece is dropped.

The rule a checkpoint records (``outline_rule``; ``MAP_RULE`` where it records none): ``IMAGE_RULE``
takes the outline above on to the volume's intensities (``inference.outline_image``: the map says
where, the voxels where the finding ends); a run's levels are chosen for the rule it records.

The body: for a CT, the voxels lying between tissue on both sides along the rows and along the
columns of their axial slice, tissue being the largest connected piece of voxels above -500 HU:
the lungs inside, the air around the patient out (filling each slice's holes instead leaves out
a lung that touches the air outside at one voxel, as the synthetic phantoms' do); other
modalities: the whole grid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAP_RULE = "map"  # the map's outline alone (a checkpoint that records no outline_rule)
IMAGE_RULE = "map+image"  # the map's outline taken on to the volume's intensities (inference.outline_image)
BY_MEAN = "/mean"  # a rule ending so reads its levels as multiples of the map's mean in the body
MAP_MEAN_RULE = MAP_RULE + BY_MEAN
IMAGE_MEAN_RULE = IMAGE_RULE + BY_MEAN  # what ``mg3d pretrain`` chooses its levels for and records
RULES = (MAP_RULE, IMAGE_RULE, MAP_MEAN_RULE, IMAGE_MEAN_RULE)
FRACTION = 0.01  # of the way from the body's lowest map value to its peak; see the module's docstring
MEAN_LEVEL = 8.0  # times the map's mean: a "/mean" rule's level for a finding its run chose none for
MEAN_CAP = 0.95  # a level in means is at most this fraction of the way to the peak (a flat map's)
BODY_HU = -500.0  # CT voxels above this are tissue (air and lung parenchyma lie below)
SIDE_SHARE = 2 / 3  # an outline this much on one side of the body's midline is on that side
EMPTY_FLAT = "the map is flat"  # an empty outline: the map has no peak in the body
EMPTY_IMAGE = "no intensity stands out where the map points"  # the image rule kept none of it
_SIDE_WORDS = re.compile(r"\b(right|left|bilateral(?:ly)?|both)\b", re.IGNORECASE)


@dataclass
class Outline:
    mask: np.ndarray  # bool (z, y, x) on the volume's grid
    ml: float  # voxels x voxel volume (mm^3) / 1000
    side: str  # "right", "left", "both" (patient's), or "" for an empty outline
    lobes: tuple[str, ...]  # lobes the sentence names ('right lung lower lobe'); none from the mask
    side_from: str  # "words" or "outline": where ``side`` came from
    centroid_mm_xyz: tuple[float, float, float] | None  # LPS millimetres
    empty_because: str = ""  # why an empty outline is empty (``EMPTY_FLAT`` or ``EMPTY_IMAGE``)

    @property
    def place(self) -> str:
        """One phrase: the lobes the sentence names, else its side and where that came from."""
        if self.lobes:
            return ", ".join(self.lobes)
        if not self.side:
            return "-"
        side = {"both": "both sides"}.get(self.side, self.side)
        return side if self.side_from == "words" else f"{side} (from the outline)"

    def to_dict(self) -> dict:
        out = {"ml": round(self.ml, 2), "voxels": int(self.mask.sum()), "side": self.side,
               "side_from": self.side_from, "lobes": list(self.lobes), "place": self.place,
               "centroid_mm_xyz": None if self.centroid_mm_xyz is None
               else [round(c, 2) for c in self.centroid_mm_xyz]}
        if self.empty_because:
            out["empty_because"] = self.empty_because
        return out


def body_mask(volume) -> np.ndarray | None:
    """Bool (z, y, x): the patient's body in a CT (see the module's docstring); None otherwise."""
    from scipy import ndimage

    if volume.modality != "CT":
        return None
    tissue = np.asarray(volume.array) > BODY_HU
    labels, count = ndimage.label(tissue)
    if count == 0:
        return None
    tissue = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return _between(tissue, 1) & _between(tissue, 2)


def _between(a: np.ndarray, axis: int) -> np.ndarray:
    """Voxels with a true voxel of ``a`` at or before them and at or after them along ``axis``."""
    flip = [slice(None)] * a.ndim
    flip[axis] = slice(None, None, -1)
    flip = tuple(flip)
    return np.logical_or.accumulate(a, axis=axis) & np.logical_or.accumulate(a[flip], axis=axis)[flip]


def outline_mask(heat: np.ndarray, body: np.ndarray | None = None, fraction: float = FRACTION,
                 by_mean: bool = False) -> np.ndarray:
    """Bool (z, y, x): the voxels of ``heat`` the rule outlines (see the module's docstring);
    empty where the map is flat. ``by_mean``: ``fraction`` is a multiple of the map's mean above
    its lowest in the body, not a fraction of the way to its peak (at most ``MEAN_CAP`` of it)."""
    from scipy import ndimage

    inside = np.ones(heat.shape, bool) if body is None else body
    if not inside.any():
        return np.zeros(heat.shape, bool)
    values = heat[inside]
    lo, peak = float(values.min()), float(values.max())
    if not peak > lo:
        return np.zeros(heat.shape, bool)
    if by_mean:
        fraction = min(fraction * float(np.mean(values, dtype=np.float64) - lo) / (peak - lo), MEAN_CAP)
    above = inside & (heat >= lo + fraction * (peak - lo))
    labels, _ = ndimage.label(above)
    seeds = np.unique(labels[inside & (heat >= lo + np.sqrt(fraction) * (peak - lo))])
    return np.isin(labels, seeds[seeds > 0])


def outline_at(heat: np.ndarray, body: np.ndarray | None, cut: float) -> np.ndarray:
    """Bool (z, y, x): the voxels of ``heat`` at or above ``cut`` (an ``AttentionMap.cut``) in the body."""
    inside = heat >= cut
    return inside if body is None else inside & body


def place_of(text: str, mask: np.ndarray, geometry, body: np.ndarray | None = None):
    """(side, lobes, side_from, centroid in LPS mm) of an outline: lobes and side from the
    sentence's words (``knowledge.anatomy.lobes``; 'right', 'left', 'both', 'bilateral'); where
    they name no side, the outline's: the side of the body's midline (the body's centroid; the
    world's x = 0 without a body) holding at least 2/3 of its voxels, else both; in LPS, x < 0 is
    the patient's right."""
    from ..knowledge.anatomy import lobes

    named = lobes(text)
    centroid = None
    if mask.any():
        centroid = tuple(float(c) for c in geometry.index_to_world(_centroid(mask)[::-1]))
    sides = {n.split()[0] for n in named} or {m.group(1).lower() for m in _SIDE_WORDS.finditer(text)}
    sides = {"both" if s.startswith(("bilateral", "both")) else s for s in sides}
    if sides:
        return ("both" if len(sides) > 1 or "both" in sides else sides.pop()), named, "words", centroid
    if centroid is None:
        return "", named, "outline", None
    x = _world_x(np.argwhere(mask), geometry)
    midline = 0.0
    if body is not None and body.any():
        midline = float(geometry.index_to_world(_centroid(body)[::-1])[0])
    right = float(np.mean(x < midline))
    side = "right" if right >= SIDE_SHARE else "left" if right <= 1 - SIDE_SHARE else "both"
    return side, named, "outline", centroid


def _centroid(mask: np.ndarray) -> np.ndarray:
    """The mean (z, y, x) index of ``mask``'s voxels, from its profile along each axis (no list of
    a large body's voxel indices)."""
    out = []
    for axis in range(3):
        profile = mask.sum(tuple(a for a in range(3) if a != axis), dtype=np.int64)
        out.append(float(np.dot(profile, np.arange(len(profile))) / profile.sum()))
    return np.asarray(out)


def _world_x(index_zyx: np.ndarray, geometry, most: int = 200_000) -> np.ndarray:
    """LPS x (mm) of voxel indices (z, y, x); a regular subsample of at most ``most``."""
    index_zyx = index_zyx[:: max(1, len(index_zyx) // most)]
    d = geometry.direction_matrix()
    return geometry.origin[0] + (index_zyx[:, ::-1] * np.asarray(geometry.spacing)) @ d[0]


def outline_voxels(heat: np.ndarray, volume, body: np.ndarray | None = None, fraction: float = FRACTION,
                   cut: float | None = None, rule: str = MAP_RULE) -> np.ndarray:
    """Bool (z, y, x): the voxels ``outline`` outlines (its arguments), without its volume and place."""
    return _map_and_rule(heat, volume, body, fraction, cut, rule)[1]


def by_mean(rule: str) -> bool:
    """Whether ``rule`` reads its levels as multiples of the map's mean (else of the way to its peak)."""
    if rule not in RULES:
        raise ValueError(f"unknown outline rule {rule!r}: one of {', '.join(map(repr, RULES))}")
    return rule.endswith(BY_MEAN)


def _map_and_rule(heat, volume, body, fraction, cut, rule) -> tuple[np.ndarray, np.ndarray]:
    """(the map's own outline, the outline by ``rule``): the same array for the map rules."""
    mean = by_mean(rule)
    mask = outline_mask(heat, body, fraction, mean) if cut is None else outline_at(heat, body, cut)
    if rule.startswith(IMAGE_RULE):
        from .outline_image import refine

        return mask, refine(heat, np.asarray(volume.array), mask, body, volume.geometry.spacing)
    return mask, mask


def outline(heat: np.ndarray, volume, text: str = "", body: np.ndarray | None = None,
            fraction: float = FRACTION, cut: float | None = None, rule: str = MAP_RULE) -> Outline:
    """The outline of one map (``heat`` on ``volume``'s grid) of the sentence ``text``; ``body``:
    ``body_mask(volume)``, computed once for all of a volume's maps; ``cut``: the map's own
    (``AttentionMap.cut``), else the relative rule at ``fraction``; ``rule``: ``IMAGE_RULE`` takes
    that outline on to the volume's intensities (``inference.outline_image``)."""
    on_map, mask = _map_and_rule(heat, volume, body, fraction, cut, rule)
    ml = float(mask.sum()) * float(np.prod(volume.geometry.spacing)) / 1000.0
    side, named, side_from, centroid = place_of(text, mask, volume.geometry, body)
    empty_because = "" if mask.any() else EMPTY_IMAGE if on_map.any() else EMPTY_FLAT
    return Outline(mask, ml, side, named, side_from, centroid, empty_because)


def level_for(levels: dict | None, text: str, rule: str = MAP_RULE) -> float:
    """The level for sentence ``text`` by ``rule``: the one a run chose for the finding it names
    (``inference.outline_quality.choose_levels``; the first CT-RATE label it states, in the labels'
    table order), else the rule's default (``FRACTION``; ``MEAN_LEVEL`` for a "/mean" rule)."""
    default = MEAN_LEVEL if by_mean(rule) else FRACTION
    return float(levels.get(named_label(text), default)) if levels else default


def named_label(text: str) -> str | None:
    """The first CT-RATE label (in ``knowledge.labels``' table order) a sentence states as present, or None."""
    from ..knowledge.labels import label_report

    return next((label for label, v in label_report(text).items() if v == 1), None)


def outlines(maps, volume, levels: dict | None = None, rule: str = MAP_RULE) -> list[Outline]:
    """One outline per (AttentionMap, heat) of ``inference.analysis.attention_maps``: at the map's
    own cut where it has one, else at the level of the finding its sentence names (``levels``: a
    checkpoint's ``outline_levels``), by ``rule`` (a checkpoint's ``outline_rule``)."""
    body = body_mask(volume)
    return [outline(heat, volume, amap.text, body, level_for(levels, amap.text, rule), amap.cut, rule)
            for amap, heat in maps]
