"""Retrieval recall and ROC AUC, in numpy."""

from __future__ import annotations

import numpy as np


def recall_at_k(similarity: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """Query i's true match is candidate i; the fraction of queries with it in the top k."""
    sim = np.asarray(similarity)
    true = sim[np.arange(len(sim)), np.arange(len(sim))][:, None]
    rank = (sim > true).sum(1)  # candidates strictly better than the true one
    return {f"R@{k}": float((rank < k).mean()) for k in ks}


def roc_auc(scores, labels) -> float:
    """Mann-Whitney AUC with ties counted half; NaN when only one class is present."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
