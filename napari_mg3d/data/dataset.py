"""Cases of a manifest as model inputs: preprocessed volume, report text, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.manifest import Case, read_manifest
from .cache import VolumeCache


class CaseDataset:
    """Indexable cases of one split; volumes preprocessed by the profile (and cached)."""

    def __init__(self, manifest: str | Path, profile, split: str | None = None, cache_dir=None,
                 cases: list[Case] | None = None):
        cases = cases if cases is not None else read_manifest(manifest)
        self.cases = [c for c in cases if split is None or c.split == split]
        self.cache = VolumeCache(cache_dir, profile)

    def __len__(self) -> int:
        return len(self.cases)

    @staticmethod
    def collate(items: list[dict]) -> dict:
        return collate(items)

    def __getitem__(self, i: int) -> dict:
        case = self.cases[i]
        volume = self.cache.get(case.volume)
        return {"id": case.id, "volume": volume[None].astype(np.float32), "report": case.report,
                "labels": case.labels}


def batches(dataset, batch_size: int = 8, count: int | None = None):
    """The first ``count`` items of ``dataset`` (all by default), collated ``batch_size`` at a time
    (by the dataset's own ``collate``; a plain list of case items by ``collate``)."""
    count = len(dataset) if count is None else min(count, len(dataset))
    join = getattr(dataset, "collate", collate)
    for start in range(0, count, batch_size):
        yield join([dataset[i] for i in range(start, min(start + batch_size, count))])


def collate(items: list[dict]) -> dict:
    import torch

    return {
        "id": [it["id"] for it in items],
        "volume": torch.from_numpy(np.stack([it["volume"] for it in items])),
        "report": [it["report"] for it in items],
        "labels": [it["labels"] for it in items],
    }
