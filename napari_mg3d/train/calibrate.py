"""After pre-training, on training cases: the global alignment's running statistics recomputed
("precise BN": during training they trail the moving model, and retrieval and zero-shot read them
at inference), and, for a model with a grounding head, the logistic calibration that weighs its
findings against the global prompt pairs' in zero-shot (``inference.zeroshot``); then, on the
validation cases, one temperature for all labels (``temper_findings``): a fit on the cases a model
was trained on is as confident as the model is on them, more than it is on new cases."""

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


@torch.no_grad()
def finding_scores(model, dataset, prompt_sets, cases: int = 256, batch_size: int = 8):
    """(global, grounding or None, stated): (n, labels) log-odds of each label's prompts, (n,
    labels, 2) the grounding head's readings of them (``zeroshot.grounding_log_odds``), for up to
    ``cases`` cases of ``dataset``, and (n, labels) what each case's report states (the labeller:
    1 present or uncertain, else 0), as the findings objective reads it."""
    from ..data.dataset import batches
    from ..inference.zeroshot import global_log_odds, grounding_log_odds
    from ..knowledge.labels import label_report

    device = next(model.parameters()).device
    images, grounded, stated = [], [], []
    for batch in batches(dataset, batch_size, cases):
        x = batch["volume"].to(device)
        images.append(model.image_embedding(x))
        if model.config.grounding:
            grounded.append(grounding_log_odds(model, x, prompt_sets))
        stated += [[label_report(r).get(p.label, 0) for p in prompt_sets] for r in batch["report"]]
    return (global_log_odds(model, torch.cat(images), prompt_sets), torch.cat(grounded) if grounded else None,
            torch.tensor(stated, dtype=torch.float32).reshape(-1, len(prompt_sets)))


def logistic_fit(features: torch.Tensor, targets: torch.Tensor, l2: float = 1.0,
                 steps: int = 25) -> torch.Tensor:
    """Weights (features..., bias) of a logistic regression by Newton's method, the weights (not
    the bias) under an L2 penalty, so that separable data still gives finite weights."""
    x = torch.cat([features.double(), torch.ones(len(features), 1, dtype=torch.float64)], 1)
    y = targets.double()
    w = torch.zeros(x.shape[1], dtype=torch.float64)
    penalty = torch.full((x.shape[1],), l2, dtype=torch.float64)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = torch.sigmoid(x @ w)
        grad = x.t() @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).t() @ x + torch.diag(penalty + 1e-9)
        w = w - torch.linalg.solve(hessian, grad)
    return w.float()


def calibrate_findings(model, dataset, prompt_sets, cases: int = 256) -> dict[str, list[float]]:
    """For a model with a grounding head: label -> [weight of the global log-odds, of the grounding
    head's log mean exp, of its maximum, bias] (``inference.zeroshot.combined_log_odds``), a
    logistic fit on up to ``cases`` training cases against what their reports state, for each label
    that some and not all of those reports state. Empty otherwise."""
    if not model.config.grounding or len(dataset) < 2:
        return {}
    was_training = model.training
    model.eval()
    scores, grounded, stated = finding_scores(model, dataset, prompt_sets, cases)
    model.train(was_training)
    out = {}
    for j, p in enumerate(prompt_sets):
        if 0 < stated[:, j].sum() < len(stated):
            w = logistic_fit(torch.cat([scores[:, j, None], grounded[:, j]], 1), stated[:, j])
            out[p.label] = [round(float(v), 6) for v in w]
    return out


def label_counts(reports: list[str], labels) -> dict[str, dict[str, int]]:
    """label -> {"positive": training reports that state it (present or uncertain), "negative": the
    others}: what the findings objective had to learn each label from, stored in the checkpoint
    (``model.capabilities.learnt_labels`` reads it)."""
    from ..data.report_inputs import stated_labels

    positive = stated_labels(reports, labels).sum(0).astype(int) if reports else [0] * len(labels)
    return {label: {"positive": int(n), "negative": len(reports) - int(n)} for label, n in zip(labels, positive)}


MIN_TEMPERATURE_CASES = 16  # validation cases needed to fit the temperature


def fit_scale(logits: torch.Tensor, targets: torch.Tensor, steps: int = 50) -> float:
    """The factor ``a`` in (0, 1] that makes sigmoid(a * logits) fit ``targets`` best (the pooled
    log-loss over every entry; one temperature, 1 / a, Guo et al. 2017), by Newton's method on its
    convex log-loss. At most 1: a fit on training cases can only be too sure for new cases, and a
    sharpening read off a few validation cases would be their noise's."""
    z, y = logits.double().flatten(), targets.double().flatten()
    a = torch.tensor(1.0, dtype=torch.float64)
    for _ in range(steps):
        p = torch.sigmoid(a * z)
        grad, curve = ((p - y) * z).sum(), (p * (1 - p) * z * z).sum() + 1e-9
        a = (a - grad / curve).clamp(1e-3, 1.0)
    return float(a)


def temper_findings(model, dataset, prompt_sets, calibration: dict,
                    cases: int = 256) -> tuple[dict, dict | None]:
    """(``calibration`` with every label's weights and bias times ``fit_scale`` of its log-odds on
    up to ``cases`` cases of ``dataset`` (validation cases: never the training cases), and a record
    {"cases", "temperature"}); unchanged and None where there are fewer than
    ``MIN_TEMPERATURE_CASES`` or no calibration."""
    from ..inference.zeroshot import combined_log_odds

    if not calibration or len(dataset) < MIN_TEMPERATURE_CASES:
        return calibration, None
    was_training = model.training
    model.eval()
    scores, grounded, stated = finding_scores(model, dataset, prompt_sets, cases)
    model.train(was_training)
    labels = [p.label for p in prompt_sets]
    known = [j for j, label in enumerate(labels) if label in calibration]
    logits = combined_log_odds(scores, grounded, labels, calibration)[:, known]
    a = fit_scale(logits, stated[:, known])
    tempered = {label: [round(float(v) * a, 6) for v in w] for label, w in calibration.items()}
    return tempered, {"cases": int(len(stated)), "temperature": round(1 / a, 4)}
