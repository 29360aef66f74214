"""Zero-shot findings: each label's positive and negative prompts against an image embedding, and,
for a model with a grounding head, where in the volume its positive prompts are found.

A label's log-odds are the global prompt pair's (positive minus negative cosine / temperature).
With a grounding head (ours, ``mg3d-tiny``), the head's image log-odds of the label's positive
prompts (log mean exp over the map's places, as the grounding objective pools them; mean over the
prompts) join them, weighed by a logistic calibration fit on training cases at the end of
pre-training (``train.calibrate.calibrate_findings``, stored in the checkpoint): a label the
calibration does not know keeps the global log-odds alone."""

from __future__ import annotations

import math

import torch

from ..model.findings import LabelPrompts, finding_logits, prompt_pairs
from ..model.fusion import masked_mean


@torch.no_grad()
def prompt_embeddings(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. All prompts go
    through the text encoder as one batch."""
    device = next(model.parameters()).device
    return prompt_pairs(model, LabelPrompts.of(model, prompt_sets).to(device), running=True)


def global_log_odds(model, images: torch.Tensor, prompt_sets) -> torch.Tensor:
    """(n, labels) on the CPU: each label's prompt pair against the (n, d) image embeddings, the
    log-odds of a softmax over (positive, negative)."""
    pos, neg = prompt_embeddings(model, prompt_sets)
    return finding_logits(images.to(pos.device), pos, neg, model.config.temperature).cpu()


def label_log_odds(model, images: torch.Tensor, volume_batches, prompt_sets,
                   calibration=None) -> torch.Tensor:
    """(n, labels) the zero-shot log-odds of the (n, d) image embeddings: the global prompt pairs',
    joined by ``calibration`` with the grounding head's (``combined_log_odds``) for a model that has
    the head. ``volume_batches``: the same n volumes' model inputs, (b, 1, ...) at a time, read only
    then."""
    grounding = None
    if model.config.grounding and calibration:
        grounding = torch.cat([grounding_log_odds(model, x, prompt_sets) for x in volume_batches])
    labels = [p.label for p in prompt_sets]
    return combined_log_odds(global_log_odds(model, images, prompt_sets), grounding, labels, calibration)


@torch.no_grad()
def phrase_vectors(model, texts: list[str]) -> torch.Tensor:
    """(t, hidden) each text as one sentence: the mean of its tokens, as a typed phrase's map takes it."""
    device = next(model.parameters()).device
    batch = model.tokenize(list(texts)).to(device)
    tokens = model.text_tokens(batch.input_ids, batch.attention_mask)
    return masked_mean(tokens, batch.attention_mask[..., None], dim=1)


@torch.no_grad()
def grounding_log_odds(model, volumes: torch.Tensor, prompt_sets) -> torch.Tensor:
    """(n, labels) the grounding head's image log-odds of each label's positive prompts for each
    volume of the (n, 1, ...) model inputs: log mean exp over the places of each prompt's map, mean
    over the label's prompts. One volume at a time (a map per prompt on the input grid)."""
    device = next(model.parameters()).device
    texts = [t for p in prompt_sets for t in p.positive]
    owner = torch.tensor([i for i, p in enumerate(prompt_sets) for _ in p.positive], device=device)
    vectors = phrase_vectors(model, texts)[None]  # (1, t, hidden)
    rows = []
    for x in volumes.to(device).split(1):
        feats = model.vision_encoder(x)
        patches = model.grounding_head.patches(feats)
        logits = model.grounding_logits(patches, vectors, model.grounding_voxels(x))[0]
        pooled = torch.logsumexp(logits, -1) - math.log(logits.shape[-1])  # (t,)
        per_label = torch.zeros(len(prompt_sets), device=device).index_add_(0, owner, pooled)
        rows.append(per_label / torch.bincount(owner, minlength=len(prompt_sets)).clamp_min(1))
    return torch.stack(rows).cpu()


def combined_log_odds(global_log_odds: torch.Tensor, grounding: torch.Tensor | None, labels,
                      calibration) -> torch.Tensor:
    """(n, labels): where ``calibration`` (label -> [weight of the global log-odds, weight of the
    grounding log-odds, bias]) knows a label and ``grounding`` is given, their weighed sum; else the
    global log-odds."""
    out = global_log_odds.clone()
    if grounding is None or not calibration:
        return out
    for j, label in enumerate(labels):
        if label in calibration:
            a, b, c = calibration[label]
            out[:, j] = a * global_log_odds[:, j] + b * grounding[:, j] + c
    return out
