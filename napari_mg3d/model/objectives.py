"""The five MG-3D pre-training objectives as plain functions of tensors (hand-checkable), and
``pretraining_losses``, which assembles them from the model's features (the model computes
features, this module losses, as open_clip keeps its loss apart from its model).

total = L_MLM + L_MIM + 0.1 * (L_CML + L_DCL + L_SSM), where L_MLM includes 0.1 x the
sentence-alignment term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .distributed import gather_rows, global_mean, share, world

AUX_WEIGHT = 0.1


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric InfoNCE over the global batch; row i of ``a`` and ``b`` are a positive pair.
    Inputs are L2-normalised (b, d) embeddings; each process scores its own rows against every
    process's, and its value is its share of the global mean (``distributed.share``)."""
    a_all, offset = gather_rows(a)
    b_all, _ = gather_rows(b)
    targets = torch.arange(a.shape[0], device=a.device) + offset
    logits_ab = a @ b_all.t() / temperature
    logits_ba = b @ a_all.t() / temperature
    both = F.cross_entropy(logits_ab, targets, reduction="sum") + F.cross_entropy(logits_ba, targets, reduction="sum")
    return share(both / 2, a.shape[0])


def mim_loss(reconstruction: torch.Tensor, target: torch.Tensor, voxel_mask: torch.Tensor) -> torch.Tensor:
    """MSE on the masked voxels only (``voxel_mask`` 1 where the input was zeroed)."""
    m = voxel_mask.to(reconstruction.dtype).expand_as(reconstruction)
    return share(((reconstruction - target) ** 2 * m).sum(), m.sum().detach())


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on masked tokens (of the global batch); labels are -100 elsewhere."""
    flat = labels.reshape(-1)
    summed = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat, ignore_index=-100, reduction="sum")
    return share(summed, (flat != -100).sum())


def sentence_alignment(fused: torch.Tensor, text: torch.Tensor, reports: int) -> torch.Tensor:
    """SAL as the release computes it: 1 - cosine between each sentence's projection of the predicted
    tokens (``fused``, rows x 8) and of its input embeddings (``text``), summed over the sentences of
    a report and averaged over the ``reports`` of the batch."""
    if fused.numel() == 0:
        return share(fused.sum() * 0.0, reports)
    return share((1 - F.cosine_similarity(fused, text, dim=-1)).sum(), reports)


def ssm_loss(text_sentences: torch.Tensor, visual_sentences: torch.Tensor, owner: torch.Tensor,
             positive: float = 0.9, negative: float = 0.6) -> torch.Tensor:
    """Sentence-level inter-patient similarity matching, the release's formula over the global
    batch: for every pair of patients i < j, G = cosine of their sentences' text vectors (target, no
    gradient) and P = cosine of their sentence-wise visual features, an S_i x S_j grid; cells with
    G >= ``positive`` are positives, G <= ``negative`` negatives, the band between asks nothing;
    L1(P * (pos + neg), G * pos) averaged over all S_i x S_j cells of the pair, then over the pairs.
    ``text_sentences`` (s, d), ``visual_sentences`` (s, e) are this process's real sentences,
    ``owner`` (s,) their patient, numbered within this process's batch.

    The release pairs the patients of each GPU's batch only, so its loss changes with the number of
    GPUs; here every process pairs its patients with those of every process (rows gathered, padded to
    the longest, patients numbered by their place in the global batch), so that one process with
    batch 4 computes what two with batch 2 do, and a run's loss does not depend on its GPU count.
    In one process the two are the same. Fewer than two patients: zero, still in the graph."""
    patients_here = int(owner.max()) + 1 if owner.numel() else 0
    starts, _ = gather_rows(torch.tensor([[patients_here]], device=owner.device), grad=False)
    offset = int(starts[: world()[0], 0].sum())
    g_all, row0 = gather_rows(text_sentences.detach().float(), grad=False)
    v_all, _ = gather_rows(visual_sentences.float())
    o_all, _ = gather_rows((owner + offset)[:, None], grad=False)
    o_all = o_all[:, 0]
    patients, counts = o_all.unique(return_counts=True)
    if len(patients) < 2:
        return visual_sentences.sum() * 0.0
    rows = slice(row0, row0 + len(owner))
    g = F.normalize(g_all, dim=-1)
    g = g[rows] @ g.t()
    v = F.normalize(v_all, dim=-1)
    p = F.normalize(visual_sentences.float(), dim=-1) @ v.t()
    pos = (g >= positive).to(p.dtype)
    neg = (g <= negative).to(p.dtype)
    cell = (p * (pos + neg) - g * pos).abs()
    size = counts[torch.searchsorted(patients, o_all)].to(p.dtype)  # S of each row's patient
    mine = o_all[rows]
    pair = (mine[:, None] < o_all[None, :]).to(p.dtype) / (size[rows][:, None] * size[None, :])
    pairs = len(patients) * (len(patients) - 1) / 2
    # this process's pairs (its patients against every later one); data-parallel averaging divides by
    # the world size, which the factor undoes
    return (cell * pair).sum() / pairs * world()[1]


def finding_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of each label's (positive - negative prompt) log-odds against what the
    report states of it (1 present or uncertain, 0 denied or not mentioned)."""
    return global_mean(F.binary_cross_entropy_with_logits(logits, targets.to(logits), reduction="none"))


def grounding_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Multiple-instance BCE (our addition): ``scores`` (q, b, n) are the log-odds of each query
    sentence for each patch of each image of the batch; an image's log-odds are their smooth
    maximum over its patches, log mean exp, so an image shows what a sentence states where some
    patch of it does. ``targets`` (q, b): 1 where image b's report states all that sentence q
    states. No sentence to ask about: zero, still attached to the graph."""
    if scores.numel() == 0:
        return share(scores.sum() * 0.0, 0)
    pooled = torch.logsumexp(scores, -1) - math.log(scores.shape[-1])
    return global_mean(F.binary_cross_entropy_with_logits(pooled, targets.to(pooled), reduction="none"))


def grounding_targets(named: torch.Tensor, stated: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which sentences ask, and what each image answers. ``named`` (rows, labels): 1 where a
    sentence states a label as present; ``stated`` (b, labels): the same for each image's report.
    Returns the (rows,) mask of sentences that state something (the queries) and (q, b) targets,
    1 where image b's report states all that query states."""
    query = named.sum(-1) > 0
    missing = named[query].float() @ (1 - stated.float()).t()  # findings of the query the image lacks
    return query, (missing == 0).float()


def region_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Where a finding is (our addition, for grounded report data): ``logits`` (r, n) a sentence's
    map over n places, ``masks`` (r, n) the share of each place that the named finding's mask
    covers. The KL divergence from the mask's spread (normalised to sum to 1) to the map's softmax:
    0 when the map spreads exactly as the mask does. Rows with an empty mask ask nothing; none
    left: zero, still attached to the graph."""
    logits, masks = _with_masks(logits, masks)
    if logits.numel() == 0:
        return share(logits.sum() * 0.0, 0)
    target = masks.to(logits) / masks.to(logits).sum(-1, keepdim=True).clamp_min(1e-12)
    entropy = torch.special.entr(target).sum(-1)  # - sum t log t
    return global_mean(-(target * torch.log_softmax(logits, -1)).sum(-1) - entropy)


def _with_masks(logits: torch.Tensor, masks: torch.Tensor):
    """The rows whose mask covers something; with none, an empty selection that keeps the graph."""
    if masks.numel() == 0:
        return logits, masks
    keep = masks.reshape(len(masks), -1).sum(-1) > 0
    return (logits, masks) if bool(keep.all()) else (logits[keep], masks[keep])


def peak_loss(logits: torch.Tensor, masks: torch.Tensor, sharpness: float = 5.0) -> torch.Tensor:
    """The map's highest place inside the finding (our addition, with ``region_loss``): softplus of
    (the highest log-odds outside the mask - the highest inside), each a smooth maximum
    (log sum exp of ``sharpness`` x log-odds, / ``sharpness``). Inside: places the mask covers at
    least half as much as its best-covered place; outside: every other place (a place the mask
    only grazes, at the finding's edge, is not where the peak belongs). The spread
    (``region_loss``) puts the map's mass on the finding; this puts its maximum there, which is
    where the viewer marks a sentence's peak (a bright rib beside an effusion otherwise wins)."""
    logits, masks = _with_masks(logits, masks)
    if logits.numel() == 0:
        return share(logits.sum() * 0.0, 0)
    masks = masks.to(logits)
    inside = masks >= 0.5 * masks.amax(-1, keepdim=True)
    high_in, high_out = _split_logsumexp(logits * sharpness, inside)
    return global_mean(F.softplus((high_out - high_in) / sharpness))


def _split_logsumexp(x: torch.Tensor, inside: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log sum exp of ``x`` over each row's ``inside`` places, the same over the others), in one
    pass of exp over the row (two masked ``torch.logsumexp`` make four, with their backward): each
    side shifted by its own maximum, so neither underflows. A side with no place: about -1e9."""
    with torch.no_grad():
        top_in = x.masked_fill(~inside, -1e9).amax(-1, keepdim=True)
        top_out = x.masked_fill(inside, -1e9).amax(-1, keepdim=True)
    e = torch.exp(x - torch.where(inside, top_in, top_out))
    sum_in = (e * inside).sum(-1, keepdim=True)
    sum_out = (e * ~inside).sum(-1, keepdim=True)
    return ((torch.log(sum_in.clamp_min(1e-30)) + top_in).squeeze(-1),
            (torch.log(sum_out.clamp_min(1e-30)) + top_out).squeeze(-1))


def outline_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Where a finding ends (our addition, with ``region_loss``): ``logits`` (r, n) a sentence's map
    shifted by its outline offset (``MG3D._outline_offsets``), read as the probability (sigmoid)
    that each place is in the finding, ``masks`` (r, n) the share of each place the finding's mask
    covers. Per row, the soft Dice loss (1 - (2 sum p m + 1) / (sum p + sum m + 1): a 6 mm nodule
    counts as much as a lobe) plus the mean binary cross-entropy over the places (every place told
    apart, also where the Dice's gradient is flat). Rows with an empty mask ask nothing; none left:
    zero, still attached to the graph."""
    logits, masks = _with_masks(logits, masks)
    if logits.numel() == 0:
        return share(logits.sum() * 0.0, 0)
    logits = logits.float()
    masks = masks.to(logits)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * masks).sum(-1) + 1) / (p.sum(-1) + masks.sum(-1) + 1)
    bce = F.binary_cross_entropy_with_logits(logits, masks, reduction="none").mean(-1)
    return global_mean(dice + bce)


def organ_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The map inside the organ its sentence names (our addition, for organ-segmented data):
    ``logits`` (r, n) a sentence's map, ``masks`` (r, n) the share of each place the named organs
    cover. Minus the log of the map's mass (softmax) on the places the organs touch: 0 when all of
    it lies there, whatever its spread inside (the finding is somewhere in the organ, not all over
    it). Rows with an empty mask ask nothing; none left: zero, still attached to the graph."""
    logits, masks = _with_masks(logits, masks)
    if logits.numel() == 0:
        return share(logits.sum() * 0.0, 0)
    inside = masks.to(logits) > 0
    return global_mean(torch.logsumexp(logits, -1) - torch.logsumexp(logits.masked_fill(~inside, -1e9), -1))


DEFAULT_WEIGHTS = {"mlm": 1.0, "align": AUX_WEIGHT, "mim": 1.0, "cml": AUX_WEIGHT, "dcl": AUX_WEIGHT,
                   "ssm": AUX_WEIGHT, "ga": AUX_WEIGHT, "findings": 0.0, "grounding": 0.0,
                   "regions": 0.0, "peaks": 0.0, "organs": 0.0, "outlines": 0.0}


def loss_weights(overrides: dict | None = None) -> dict[str, float]:
    """The recipe's weights with ``overrides`` (a model config's ``loss_weights``) applied."""
    return {**DEFAULT_WEIGHTS, **(overrides or {})}


def pretraining_losses(features: dict, weights: dict | None = None) -> dict[str, torch.Tensor]:
    """Every pre-training loss from the model's features (``MG3D.forward``), and their weighted
    total under 'loss' (``weights``: a model config's ``loss_weights``)."""
    t = features["temperature"]
    losses = {
        "mim": mim_loss(*features["mim"]),
        "mlm": mlm_loss(*features["mlm"]),
        "align": sentence_alignment(*features["align"]),
        "cml": info_nce(*features["cml"], t),
        "dcl": info_nce(*features["dcl"], t),
        "ssm": ssm_loss(*features["ssm"], *features["ssm_bounds"]),
        "ga": info_nce(*features["ga"], t),
    }
    if "findings" in features:
        losses["findings"] = finding_loss(*features["findings"])
    if "grounding" in features:
        losses["grounding"] = grounding_loss(*features["grounding"])
    if "regions" in features:
        losses["regions"] = region_loss(*features["regions"])
        losses["peaks"] = peak_loss(*features["regions"])
    if "organs" in features:
        losses["organs"] = organ_loss(*features["organs"])
    if "outlines" in features:
        losses["outlines"] = outline_loss(*features["outlines"])
    losses["loss"] = total_loss(losses, weights)
    return losses


def total_loss(losses: dict[str, torch.Tensor], weights: dict | None = None) -> torch.Tensor:
    """MLM (+0.1 alignment) + MIM + 0.1 (CML + DCL + SSM), plus 0.1 x the global alignment term
    when present (our addition, see docs/method.md); the findings, grounding, region and peak terms
    (ours too) weigh 0 unless a model config sets them; ``weights`` overrides any of these."""
    w = loss_weights(weights)
    return sum(w[name] * value for name, value in losses.items() if name in w)
