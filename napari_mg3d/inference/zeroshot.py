"""Zero-shot findings: each label's positive and negative prompts against an image embedding."""

from __future__ import annotations

import torch


@torch.no_grad()
def prompt_embeddings(model, prompt_sets) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. All prompts go
    through the text encoder as one batch."""
    texts = [t for p in prompt_sets for t in (*p.positive, *p.negative)]
    emb = model.report_embedding(model.tokenize(texts).to(next(model.parameters()).device))
    pos, neg, i = [], [], 0
    for p in prompt_sets:
        for n, out in ((len(p.positive), pos), (len(p.negative), neg)):
            out.append(torch.nn.functional.normalize(emb[i:i + n].mean(0), dim=-1))
            i += n
    return torch.stack(pos), torch.stack(neg)


def probabilities(image_embeddings: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, temperature: float):
    """(n, labels) probability that each label is present: softmax over (positive, negative)."""
    sp = image_embeddings @ pos.t() / temperature
    sn = image_embeddings @ neg.t() / temperature
    return torch.sigmoid(sp - sn)
