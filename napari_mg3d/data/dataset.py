"""Cases of a manifest as model inputs: preprocessed volume, report text, labels, and (on request)
the masks of the report's findings where the manifest names them (``regions``) and what
pre-training needs of the report (``text``: ``report_inputs.ReportInputs``), all made where the
data is loaded (DataLoader workers), so the training process does tensor work only."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.manifest import Case, read_manifest
from .cache import VolumeCache
from .organ_targets import OrganMaps, sentence_organs
from .profiles import region_profile
from .report_inputs import collate_reports


class CaseDataset:
    """Indexable cases of one split; volumes preprocessed by the profile (and cached). ``regions``:
    items carry each region mask of the case on the model's grid (``profiles.region_profile``;
    float32 in [0, 1]), keyed by label; with ``text`` too, the mask of each sentence that names a
    finding whose mask the case has (``region_slots``, ``region_masks``). ``organs`` (with ``text``):
    items carry, for each other sentence that states a finding, the mask of the organs it names
    among the case's organ map (``organ_slots``, ``organ_masks``; ``organ_targets``). ``text``: items
    carry the report's inputs (``report_inputs.ReportInputs``), made once per case and kept.
    Items are the cases as they are: training's moves (``augment``) are drawn per step, in the step."""

    def __init__(self, manifest: str | Path, profile, split: str | None = None, cache_dir=None,
                 cases: list[Case] | None = None, regions: bool = False, text=None, organs: bool = False):
        cases = cases if cases is not None else read_manifest(manifest)
        self.cases = [c for c in cases if split is None or c.split == split]
        self.cache = VolumeCache(cache_dir, profile)
        self.regions = VolumeCache(cache_dir, region_profile(self.cache.profile)) if regions else None
        self.organs = OrganMaps(cache_dir, self.cache.profile) if organs else None
        self.text = text
        self._reports: dict[int, dict] = {}  # case index -> its report inputs (per worker process)

    def __len__(self) -> int:
        return len(self.cases)

    def collate(self, items: list[dict]) -> dict:
        return collate(items, getattr(self.text, "pad_id", 0))

    def report_inputs(self, i: int) -> dict:
        if i not in self._reports:
            self._reports[i] = self.text(self.cases[i].report)
        return self._reports[i]

    def __getitem__(self, i: int) -> dict:
        case = self.cases[i]
        volume = self.cache.get(case.volume)
        item = {"id": case.id, "index": i, "volume": volume[None].astype(np.float32), "report": case.report,
                "labels": case.labels}
        if self.regions is not None:
            item["regions"] = {label: self.regions.get(path).astype(np.float32)
                               for label, path in case.regions.items()}
        if self.text is not None:
            item["text"] = self.report_inputs(i)
            if self.regions is not None:
                item["region_slots"], item["region_masks"] = sentence_regions(
                    item["text"]["named"], self.text.labels, item.pop("regions"), volume.shape)
            if self.organs is not None:
                text = item["text"]
                item["organ_slots"], item["organ_masks"] = sentence_organs(
                    text["sentences"], text["named"], self.organs.get(case), volume.shape,
                    skip=set(item.get("region_slots", ())))
        return item


def sentence_regions(named: np.ndarray, labels: tuple[str, ...], masks: dict, shape) -> tuple[list, np.ndarray]:
    """(sentences, (r, *shape) masks): each sentence that ``named`` (sentences, labels) says names a
    finding whose mask ``masks`` (label -> mask) holds, with the union of those masks."""
    slots, found = [], []
    for k, row in enumerate(named):
        parts = [masks[labels[j]] for j in np.flatnonzero(row) if labels[j] in masks]
        if parts and (union := np.max(np.stack(parts), 0)).sum() > 0:
            slots.append(k)
            found.append(union)
    return slots, (np.stack(found) if found else np.zeros((0, *shape), np.float32))


def batches(dataset, batch_size: int = 8, count: int | None = None):
    """The first ``count`` items of ``dataset`` (all by default), collated ``batch_size`` at a time
    (by the dataset's own ``collate``; a plain list of case items by ``collate``)."""
    count = len(dataset) if count is None else min(count, len(dataset))
    join = getattr(dataset, "collate", collate)
    for start in range(0, count, batch_size):
        yield join([dataset[i] for i in range(start, min(start + batch_size, count))])


def collate(items: list[dict], pad_id: int = 0) -> dict:
    import torch

    batch = {
        "id": [it["id"] for it in items],
        "volume": torch.from_numpy(np.stack([it["volume"] for it in items])),
        "report": [it["report"] for it in items],
        "labels": [it["labels"] for it in items],
    }
    if all("index" in it for it in items):
        batch["index"] = torch.tensor([it["index"] for it in items], dtype=torch.long)
    if all("regions" in it for it in items):
        batch["regions"] = [{k: torch.from_numpy(v) for k, v in it["regions"].items()} for it in items]
    if items and all("text" in it for it in items):
        batch["reports"], batch["stated"], batch["named"] = collate_reports([it["text"] for it in items], pad_id)
    for kind in ("region", "organ"):
        if items and all(f"{kind}_slots" in it for it in items):
            slots = [(i, k) for i, it in enumerate(items) for k in it[f"{kind}_slots"]]
            batch[f"{kind}_slots"] = torch.tensor(slots, dtype=torch.long).reshape(-1, 2)
            batch[f"{kind}_masks"] = torch.from_numpy(np.concatenate([it[f"{kind}_masks"] for it in items]))
    return batch
