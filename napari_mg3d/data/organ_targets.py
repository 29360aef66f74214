"""Organ supervision: where a sentence's finding lies when only the case's organs are segmented.

A case's organ label map (or folder of one mask per organ) is brought onto the model's grid
(nearest neighbour, cached like every input); each sentence that states a finding and names a place
(``knowledge.organs``: a lobe, a side, an organ) gets the union of the matching organs' masks: the
finding is somewhere inside, not everywhere in it (``objectives.organ_loss`` asks for the map's
mass inside, not for its spread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.formats import is_volume_file, stem_of
from ..knowledge.organs import organs_named
from .cache import VolumeCache
from .profiles import label_profile


class OrganMaps:
    """Organ masks of cases on a profile's grid: ``get(case)`` -> {organ name: bool mask}."""

    def __init__(self, cache_dir, profile):
        self.cache = VolumeCache(cache_dir, label_profile(profile))

    def get(self, case) -> dict[str, np.ndarray]:
        if case.organs is None:
            return {}
        if Path(case.organs).is_dir():  # one mask per organ, named by its file (TotalSegmentator's way)
            files = sorted(p for p in Path(case.organs).iterdir() if is_volume_file(p))
            return {stem_of(p): self.cache.get(p) > 0 for p in files}
        labels = np.rint(self.cache.get(case.organs)).astype(np.int32)
        return {name: labels == value for value, name in case.organ_names.items()}


def sentence_organs(sentences: list[str], named: np.ndarray, organs: dict[str, np.ndarray], shape,
                    skip=()) -> tuple[list[int], np.ndarray]:
    """(sentence slots, (r, *shape) float32 masks): each sentence that ``named`` (sentences, labels)
    says states a finding, names a place among ``organs`` and is not in ``skip`` (sentences whose
    finding's own mask is known), with the union of the organs it names."""
    slots, found = [], []
    if not organs:
        return slots, np.zeros((0, *shape), np.float32)
    names = list(organs)
    for k, row in enumerate(named):
        if k in skip or not row.any():
            continue
        hits = organs_named(sentences[k], names)
        if hits and (union := np.any([organs[n] for n in hits], 0)).any():
            slots.append(k)
            found.append(union.astype(np.float32))
    return slots, (np.stack(found) if found else np.zeros((0, *shape), np.float32))
