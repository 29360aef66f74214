"""Held-out evaluation of a pre-trained model: report -> volume retrieval and zero-shot AUC."""

from __future__ import annotations

import numpy as np
import torch

from ..inference.metrics import recall_at_k, roc_auc
from ..inference.zeroshot import label_log_odds


@torch.no_grad()
def embed(model, dataset, batch_size: int = 8, device=None):
    from ..data.dataset import batches

    model.eval()
    device = device if device is not None else next(model.parameters()).device
    images, reports, labels = [], [], []
    for batch in batches(dataset, batch_size):
        images.append(model.image_embedding(batch["volume"].to(device)).cpu())
        reports.append(model.report_embedding(model.tokenize(batch["report"]).to(device)).cpu())
        labels += batch["labels"]
    return torch.cat(images), torch.cat(reports), labels


def evaluate(model, dataset, label_names, prompt_sets, calibration: dict | None = None) -> dict:
    """R@1/5/10 and zero-shot AUC per label (``calibration``: the checkpoint's, which lets a
    grounding head's findings join the global prompt pairs', as in ``mg3d zeroshot``)."""
    from ..data.dataset import batches

    images, reports, labels = embed(model, dataset)
    out = recall_at_k((reports @ images.t()).numpy())
    volumes = (b["volume"] for b in batches(dataset))  # read again only for a grounding head's maps
    probs = torch.sigmoid(label_log_odds(model, images, volumes, prompt_sets, calibration)).numpy()
    for j, name in enumerate(label_names):
        truth = np.array([lab.get(name, 0) for lab in labels])
        out[f"AUC {name}"] = roc_auc(probs[:, j], truth)
    aucs = [v for k, v in out.items() if k.startswith("AUC") and not np.isnan(v)]
    out["AUC mean"] = float(np.mean(aucs)) if aucs else float("nan")
    return out
