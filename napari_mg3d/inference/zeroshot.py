"""Zero-shot findings: each label's positive and negative prompts against an image embedding."""

from __future__ import annotations

import torch


@torch.no_grad()
def prompt_embeddings(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. All prompts go
    through the text encoder as one batch."""
    from ..model.findings import LabelPrompts, prompt_pairs

    device = next(model.parameters()).device
    return prompt_pairs(model, LabelPrompts.of(model, prompt_sets).to(device), running=True)


def probabilities(image_embeddings: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, temperature: float):
    """(n, labels) probability that each label is present: softmax over (positive, negative)."""
    from ..model.findings import finding_logits

    return torch.sigmoid(finding_logits(image_embeddings, pos, neg, temperature))
