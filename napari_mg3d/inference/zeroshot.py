"""Zero-shot findings: each label's positive and negative prompts against an image embedding."""

from __future__ import annotations

import torch

from ..model.findings import LabelPrompts, finding_logits, prompt_pairs


@torch.no_grad()
def prompt_embeddings(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. All prompts go
    through the text encoder as one batch."""
    device = next(model.parameters()).device
    return prompt_pairs(model, LabelPrompts.of(model, prompt_sets).to(device), running=True)


def probabilities(image_embeddings: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, temperature: float):
    """(n, labels) probability that each label is present: softmax over (positive, negative)."""
    return torch.sigmoid(finding_logits(image_embeddings, pos, neg, temperature))
