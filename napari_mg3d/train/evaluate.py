"""Held-out evaluation of a pre-trained model: report -> volume retrieval and zero-shot AUC."""

from __future__ import annotations

import numpy as np
import torch

from ..inference.metrics import recall_at_k, roc_auc
from ..inference.zeroshot import probabilities, prompt_embeddings


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


def evaluate(model, dataset, label_names, prompt_sets) -> dict:
    images, reports, labels = embed(model, dataset)
    out = recall_at_k((reports @ images.t()).numpy())
    pos, neg = (x.cpu() for x in prompt_embeddings(model, prompt_sets))  # beside the image embeddings
    probs = probabilities(images, pos, neg, model.config.temperature).numpy()
    for j, name in enumerate(label_names):
        truth = np.array([lab.get(name, 0) for lab in labels])
        out[f"AUC {name}"] = roc_auc(probs[:, j], truth)
    aucs = [v for k, v in out.items() if k.startswith("AUC") and not np.isnan(v)]
    out["AUC mean"] = float(np.mean(aucs)) if aucs else float("nan")
    return out
