"""Label prompts in the global alignment space: each label's positive and negative prompts, embedded
as reports are, averaged per side. Zero-shot findings read them; the findings objective trains them
against what each training report states (see objectives.finding_loss and docs/method.md)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .text import ReportBatch


@dataclass
class LabelPrompts:
    """Every label's positive then negative prompts, tokenised once; ``hidden`` caches the frozen
    text encoder's output for them (it never changes while the encoder is frozen)."""

    labels: tuple[str, ...]
    batch: ReportBatch
    counts: tuple[tuple[int, int], ...]  # per label: (positives, negatives)
    hidden: torch.Tensor | None = None

    @classmethod
    def of(cls, model, prompt_sets) -> "LabelPrompts":
        texts = [t for p in prompt_sets for t in (*p.positive, *p.negative)]
        return cls(tuple(p.label for p in prompt_sets), model.tokenize(texts),
                   tuple((len(p.positive), len(p.negative)) for p in prompt_sets))

    def to(self, device) -> "LabelPrompts":
        self.batch.to(device)
        if self.hidden is not None:
            self.hidden = self.hidden.to(device)
        return self


def prompt_pairs(model, prompts: LabelPrompts, running: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(labels, d) mean positive and mean negative prompt embeddings, re-normalised. ``running``
    centres the prompts with the alignment's running report statistics, as at inference, rather than
    with the statistics of the prompts themselves (training mode)."""
    b = prompts.batch
    if model.config.text.frozen:
        if prompts.hidden is None or prompts.hidden.device != b.input_ids.device:
            prompts.hidden = model.text_hidden(b.input_ids, b.attention_mask)
        tokens = model.text_projection(prompts.hidden)
    else:
        tokens = model.text_tokens(b.input_ids, b.attention_mask)
    vectors = model.report_vector(tokens, b)
    emb = model.itc_head.language(vectors, running=running)
    pos, neg, i = [], [], 0
    for n_pos, n_neg in prompts.counts:
        pos.append(F.normalize(emb[i:i + n_pos].mean(0), dim=-1))
        neg.append(F.normalize(emb[i + n_pos:i + n_pos + n_neg].mean(0), dim=-1))
        i += n_pos + n_neg
    return torch.stack(pos), torch.stack(neg)


def finding_logits(images: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, temperature: float):
    """(n, labels) log-odds that each label is present: a softmax over its (positive, negative) pair."""
    return (images @ pos.t() - images @ neg.t()) / temperature
