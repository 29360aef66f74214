"""Recompute the global alignment's running statistics over training cases ("precise BN"): during
training they trail the moving model, and retrieval and zero-shot read them at inference."""

from __future__ import annotations

import torch


@torch.no_grad()
def calibrate_alignment(model, dataset, cases: int = 256, batch_size: int = 8) -> int:
    """Exact mean and variance over up to ``cases`` cases of ``dataset``; returns how many were used.
    A model without centred alignment is left alone (returns 0)."""
    from ..data.dataset import batches

    head = model.itc_head
    norms = [getattr(head, "vision_center", None), getattr(head, "language_center", None)]
    if any(n is None for n in norms) or len(dataset) < 2:
        return 0
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    images, reports = [], []
    for batch in batches(dataset, batch_size, cases):
        images.append(model.image_vector(batch["volume"].to(device)))
        reports.append(model.report_vector_of(model.tokenize(batch["report"]).to(device)))
    for norm, vectors in zip(norms, (torch.cat(images), torch.cat(reports))):
        norm.reset_running_stats()
        momentum, norm.momentum = norm.momentum, None  # None: a cumulative average, exact in one pass
        norm.train()
        norm(vectors)
        norm.momentum = momentum
        norm.eval()
    model.train(was_training)
    return min(cases, len(dataset))
