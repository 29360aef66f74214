"""Cases of a manifest as model inputs: preprocessed volume, report text, labels, and (on request)
the masks of the report's findings where the manifest names them (``regions``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.manifest import Case, read_manifest
from .cache import VolumeCache
from .profiles import region_profile


class CaseDataset:
    """Indexable cases of one split; volumes preprocessed by the profile (and cached). ``regions``:
    items carry each region mask of the case on the model's grid (``profiles.region_profile``;
    float32 in [0, 1]), keyed by label."""

    def __init__(self, manifest: str | Path, profile, split: str | None = None, cache_dir=None,
                 cases: list[Case] | None = None, regions: bool = False):
        cases = cases if cases is not None else read_manifest(manifest)
        self.cases = [c for c in cases if split is None or c.split == split]
        self.cache = VolumeCache(cache_dir, profile)
        self.regions = VolumeCache(cache_dir, region_profile(self.cache.profile)) if regions else None

    def __len__(self) -> int:
        return len(self.cases)

    @staticmethod
    def collate(items: list[dict]) -> dict:
        return collate(items)

    def __getitem__(self, i: int) -> dict:
        case = self.cases[i]
        volume = self.cache.get(case.volume)
        item = {"id": case.id, "volume": volume[None].astype(np.float32), "report": case.report,
                "labels": case.labels}
        if self.regions is not None:
            item["regions"] = {label: self.regions.get(path) for label, path in case.regions.items()}
        return item


def batches(dataset, batch_size: int = 8, count: int | None = None):
    """The first ``count`` items of ``dataset`` (all by default), collated ``batch_size`` at a time
    (by the dataset's own ``collate``; a plain list of case items by ``collate``)."""
    count = len(dataset) if count is None else min(count, len(dataset))
    join = getattr(dataset, "collate", collate)
    for start in range(0, count, batch_size):
        yield join([dataset[i] for i in range(start, min(start + batch_size, count))])


def collate(items: list[dict]) -> dict:
    import torch

    batch = {
        "id": [it["id"] for it in items],
        "volume": torch.from_numpy(np.stack([it["volume"] for it in items])),
        "report": [it["report"] for it in items],
        "labels": [it["labels"] for it in items],
    }
    if all("regions" in it for it in items):
        batch["regions"] = [{k: torch.from_numpy(v) for k, v in it["regions"].items()} for it in items]
    return batch
