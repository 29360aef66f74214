"""The summary of a run's training volumes that its checkpoint keeps (``model.familiar``): what
lets the viewer say at once that a volume is unlike anything the model was trained on."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

CHEST = ("lung", "pleura", "heart", "mediastinum", "aorta", "trachea and bronchie", "pulmonary artery")


def body_region(reports: list[str]) -> str | None:
    """'chest' or 'abdomen' when the training reports' sentences mostly name its places, else None."""
    from ..knowledge.anatomy import regions

    counts = Counter()
    for report in reports:
        for region in regions(report):
            counts["chest" if region in CHEST else region] += 1
    if not counts:
        return None
    region, n = counts.most_common(1)[0]
    return region if region in ("chest", "abdomen") and n >= 0.5 * sum(counts.values()) else None


@torch.no_grad()
def training_summary(model, dataset, profile, cases: int = 512, batch_size: int = 8) -> dict:
    """``model.familiar.summarise`` of up to ``cases`` training volumes of ``dataset``."""
    from ..data.dataset import batches
    from ..model.familiar import histogram, summarise

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    vectors, histograms = [], []
    for b in batches(dataset, batch_size, cases):
        vectors.append(torch.nn.functional.normalize(model.image_vector(b["volume"].to(device)), dim=-1).float().cpu())
        histograms += [histogram(v.numpy()) for v in b["volume"]]
    model.train(was_training)
    modality = "CT" if profile.intensity == "ct" else "MR"
    reports = [c.report for c in dataset.cases[:cases]]
    return summarise(np.concatenate([v.numpy() for v in vectors]), modality, profile.name, body_region(reports),
                     np.stack(histograms))
