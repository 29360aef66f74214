"""Held-out evaluation of a pre-trained model: report -> volume retrieval and zero-shot AUC."""

from __future__ import annotations

import numpy as np
import torch

from ..inference.metrics import recall_at_k, roc_auc
from ..inference.zeroshot import prompt_embeddings


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
    from ..model.findings import finding_logits
    from ..inference.zeroshot import combined_log_odds, grounding_log_odds

    images, reports, labels = embed(model, dataset)
    out = recall_at_k((reports @ images.t()).numpy())
    pos, neg = (x.cpu() for x in prompt_embeddings(model, prompt_sets))  # beside the image embeddings
    odds = finding_logits(images, pos, neg, model.config.temperature)
    grounding = None
    if model.config.grounding and calibration:
        grounding = torch.cat([grounding_log_odds(model, b["volume"], prompt_sets) for b in batches(dataset)])
    odds = combined_log_odds(odds, grounding, [p.label for p in prompt_sets], calibration)
    probs = torch.sigmoid(odds).numpy()
    for j, name in enumerate(label_names):
        truth = np.array([lab.get(name, 0) for lab in labels])
        out[f"AUC {name}"] = roc_auc(probs[:, j], truth)
    aucs = [v for k, v in out.items() if k.startswith("AUC") and not np.isnan(v)]
    out["AUC mean"] = float(np.mean(aucs)) if aucs else float("nan")
    return out
