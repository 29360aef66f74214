"""Masks for the masked-modelling objectives: 3D blocks of a volume, whole words of a report."""

from __future__ import annotations

import torch


def block_mask(shape: tuple[int, int, int], block: int, ratio: float, batch: int, generator=None) -> torch.Tensor:
    """(batch, 1, d, h, w) float mask, 1 on ``ratio`` of the non-overlapping ``block``^3 blocks."""
    grid = [-(-s // block) for s in shape]
    n = grid[0] * grid[1] * grid[2]
    k = int(round(ratio * n))
    scores = torch.rand(batch, n, generator=generator)
    chosen = scores.argsort(1)[:, :k]
    blocks = torch.zeros(batch, n)
    blocks.scatter_(1, chosen, 1.0)
    blocks = blocks.view(batch, 1, *grid)
    full = blocks.repeat_interleave(block, 2).repeat_interleave(block, 3).repeat_interleave(block, 4)
    return full[:, :, : shape[0], : shape[1], : shape[2]]


def whole_word_mask(input_ids: torch.Tensor, word_ids: list[list[int | None]], ratio: float, mask_id: int,
                    vocab_size: int, generator=None):
    """BERT masking over whole words: of the chosen words' tokens, 80% become [MASK], 10% a random
    token, 10% stay. Returns (masked ids, labels with -100 where not masked)."""
    masked = input_ids.clone()
    labels = torch.full_like(input_ids, -100)
    for row, words in enumerate(word_ids):
        ids = sorted({w for w in words if w is not None})
        if not ids:
            continue
        k = max(1, int(round(ratio * len(ids))))
        pick = torch.randperm(len(ids), generator=generator)[:k]
        chosen = {ids[i] for i in pick.tolist()}
        for pos, w in enumerate(words):
            if w in chosen:
                labels[row, pos] = input_ids[row, pos]
                r = float(torch.rand(1, generator=generator))
                if r < 0.8:
                    masked[row, pos] = mask_id
                elif r < 0.9:
                    masked[row, pos] = int(torch.randint(vocab_size, (1,), generator=generator))
    return masked, labels
