"""Masks for the masked-modelling objectives: 3D blocks of a volume, whole words of a report.

Each row is drawn from its own generator when given one per row (``sample_generators``: from the
run's seed, the step and the sample's index in its dataset), so a sample's masks do not depend on
the batch it is in, nor on how a global batch is split between processes."""

from __future__ import annotations

import hashlib

import torch


def sample_generators(seed: int, step: int, indices) -> list[torch.Generator]:
    """One generator per sample, seeded from (``seed``, ``step``, the sample's dataset index): the
    same sample at the same step of the same run draws the same masks, whatever its batch."""
    out = []
    for index in indices:
        digest = hashlib.blake2b(f"{seed}:{step}:{int(index)}".encode(), digest_size=8).digest()
        out.append(torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1)))
    return out


def _per_row(generator, batch: int) -> list:
    """A generator for each row: the given list, or one generator (or None) shared in turn."""
    if isinstance(generator, (list, tuple)):
        if len(generator) != batch:
            raise ValueError(f"{len(generator)} generators for a batch of {batch}")
        return list(generator)
    return [generator] * batch


def block_grid(shape: tuple[int, int, int], block: int, ratio: float, batch: int, generator=None) -> torch.Tensor:
    """(batch, 1, gd, gh, gw) float grid of the ``block``^3 blocks of a volume of ``shape``, 1 on
    ``ratio`` of them (each row drawn from its generator). Small: draw it on the host, move it to the
    device, and ``expand_blocks`` there."""
    grid = [-(-s // block) for s in shape]
    n = grid[0] * grid[1] * grid[2]
    k = int(round(ratio * n))
    scores = torch.stack([torch.rand(n, generator=g) for g in _per_row(generator, batch)]) if batch else \
        torch.zeros(0, n)
    blocks = torch.zeros(batch, n)
    blocks.scatter_(1, scores.argsort(1)[:, :k], 1.0)
    return blocks.view(batch, 1, *grid)


def expand_blocks(blocks: torch.Tensor, block: int, shape: tuple[int, int, int]) -> torch.Tensor:
    """(batch, 1, d, h, w) voxel mask of a ``block_grid``, on the grid's device."""
    full = blocks.repeat_interleave(block, 2).repeat_interleave(block, 3).repeat_interleave(block, 4)
    return full[:, :, : shape[0], : shape[1], : shape[2]]


def block_mask(shape: tuple[int, int, int], block: int, ratio: float, batch: int, generator=None) -> torch.Tensor:
    """(batch, 1, d, h, w) float mask, 1 on ``ratio`` of the non-overlapping ``block``^3 blocks.
    ``generator``: one for the batch, or a list of one per row."""
    return expand_blocks(block_grid(shape, block, ratio, batch, generator), block, shape)


def word_tensor(word_ids: list[list[int | None]], length: int) -> torch.Tensor:
    """(rows, length) the word of each token, -1 for none (special tokens, padding)."""
    out = torch.full((len(word_ids), length), -1, dtype=torch.long)
    for row, words in enumerate(word_ids):
        values = [-1 if w is None else w for w in words[:length]]
        out[row, : len(values)] = torch.tensor(values, dtype=torch.long)
    return out


def whole_word_mask(input_ids: torch.Tensor, word_ids, ratio: float, mask_id: int, vocab_size: int,
                    generator=None):
    """BERT masking over whole words: of the chosen words' tokens, 80% become [MASK], 10% a random
    token, 10% stay. ``word_ids``: (rows, tokens) tensor, -1 for none, or per row a list of the word
    of each token (None for none). ``generator``: one for the batch, or a list of one per row.
    Returns (masked ids, labels with -100 where not masked)."""
    if not isinstance(word_ids, torch.Tensor):
        word_ids = word_tensor(word_ids, input_ids.shape[1])
    masked = input_ids.clone()
    labels = torch.full_like(input_ids, -100)
    for row, g in enumerate(_per_row(generator, input_ids.shape[0])):
        words = word_ids[row]
        ids = words[words >= 0].unique()  # sorted
        if not len(ids):
            continue
        k = max(1, int(round(ratio * len(ids))))
        chosen = ids[torch.randperm(len(ids), generator=g)[:k]]
        hit = torch.isin(words, chosen)
        where = hit.nonzero()[:, 0]
        r = torch.rand(len(where), generator=g)
        random_ids = torch.randint(vocab_size, (len(where),), generator=g)
        labels[row, where] = input_ids[row, where]
        masked[row, where[r < 0.8]] = mask_id
        swap = (r >= 0.8) & (r < 0.9)
        masked[row, where[swap]] = random_ids[swap]
    return masked, labels
