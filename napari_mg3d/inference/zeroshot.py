"""Zero-shot findings: each label's positive and negative prompts against an image embedding, and,
for a model with a grounding head, where in the volume its positive prompts are found.

A label's log-odds are the global prompt pair's (positive minus negative cosine / temperature).
With a grounding head (ours, ``mg3d-tiny``), two readings of the head's maps of the label's positive
prompts (log mean exp over the map's places, as the grounding objective pools them, and the map's
maximum, where a finding of a few voxels shows; each a mean over the prompts) join them, weighed by
a logistic calibration fit on training cases at the end of pre-training
(``train.calibrate.calibrate_findings``, stored in the checkpoint): a label the calibration does
not know keeps the global log-odds alone. A calibration of three numbers (checkpoints made before
the maximum joined) weighs the log mean exp alone."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..model.findings import LabelPrompts, finding_logits, prompt_pairs
from ..model.fusion import masked_mean


@torch.no_grad()
def prompt_embeddings(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. All prompts go
    through the text encoder as one batch."""
    device = next(model.parameters()).device
    return prompt_pairs(model, LabelPrompts.of(model, prompt_sets).to(device), running=True)


@dataclass
class PromptVectors:
    """A label set's prompts through the text side, once (``encode.Loaded.prompt_vectors`` keeps
    them per loaded model): each label's (positive, negative) pair in the global alignment space
    and, for the grounding head, its positive prompts as phrases with the label each belongs to."""

    pos: torch.Tensor  # (labels, d)
    neg: torch.Tensor  # (labels, d)
    phrases: torch.Tensor | None = None  # (1, t, hidden): phrase_vectors of every positive prompt
    owner: torch.Tensor | None = None  # (t,) the label of each

    @classmethod
    def of(cls, model, prompt_sets, phrases: bool = False, known=None) -> "PromptVectors":
        """``known``: vectors already made of the same sets, whose prompt pairs are kept."""
        pos, neg = (known.pos, known.neg) if known is not None else prompt_embeddings(model, prompt_sets)
        out = cls(pos, neg)
        if phrases:
            out.phrases, out.owner = positive_phrases(model, prompt_sets)
        return out


def positive_phrases(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """((1, t, hidden) every label's positive prompts as phrases, (t,) the label of each)."""
    device = next(model.parameters()).device
    texts = [t for p in prompt_sets for t in p.positive]
    owner = torch.tensor([i for i, p in enumerate(prompt_sets) for _ in p.positive], device=device)
    return phrase_vectors(model, texts)[None], owner


def global_log_odds(model, images: torch.Tensor, prompt_sets, vectors: PromptVectors | None = None) -> torch.Tensor:
    """(n, labels) on the CPU: each label's prompt pair against the (n, d) image embeddings, the
    log-odds of a softmax over (positive, negative). ``vectors``: the pairs, when already made."""
    pos, neg = (vectors.pos, vectors.neg) if vectors is not None else prompt_embeddings(model, prompt_sets)
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
    """(n, labels, 2) the grounding head's readings of each label's positive prompts for each
    volume of the (n, 1, ...) model inputs: log mean exp over the places of each prompt's map and
    the map's maximum, each a mean over the label's prompts (``pooled_grounding``). One volume at a
    time (a map per prompt on the input grid)."""
    device = next(model.parameters()).device
    vectors, owner = positive_phrases(model, prompt_sets)
    rows = []
    for x in volumes.to(device).split(1):
        patches = model.grounding_head.patches(model.vision_encoder(x))
        rows.append(pooled_grounding(model, patches, model.grounding_voxels(x), vectors, owner, len(prompt_sets)))
    return torch.stack(rows).cpu()


@torch.no_grad()
def pooled_grounding(model, patches, voxels, phrases, owner, labels: int) -> torch.Tensor:
    """(labels, 2) one volume's grounding readings (see ``grounding_log_odds``) from its grounding
    patches and voxel features and the (1, t, hidden) positive prompts ``phrases`` of ``owner``:
    [log mean exp, maximum] of each prompt's map, averaged over each label's prompts."""
    logits = model.grounding_logits(patches, phrases, voxels)[0]
    pooled = torch.stack([torch.logsumexp(logits, -1) - math.log(logits.shape[-1]), logits.amax(-1)], -1)  # (t, 2)
    per_label = torch.zeros(labels, 2, device=pooled.device).index_add_(0, owner, pooled)
    return per_label / torch.bincount(owner, minlength=labels).clamp_min(1)[:, None]


def combined_log_odds(global_log_odds: torch.Tensor, grounding: torch.Tensor | None, labels,
                      calibration) -> torch.Tensor:
    """(n, labels): where ``calibration`` (label -> [weight of the global log-odds, weight of the
    grounding head's log mean exp, weight of its maximum, bias]; or, from older checkpoints, [global,
    log mean exp, bias]) knows a label and ``grounding`` (n, labels, 2) is given, their weighed sum;
    else the global log-odds."""
    out = global_log_odds.clone()
    if grounding is None or not calibration:
        return out
    for j, label in enumerate(labels):
        if label in calibration:
            *weights, bias = calibration[label]
            readings = [global_log_odds[:, j], *grounding[:, j].unbind(-1)][: len(weights)]
            out[:, j] = sum(w * r for w, r in zip(weights, readings)) + bias
    return out
