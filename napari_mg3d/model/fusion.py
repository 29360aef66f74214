"""MG-3D's fusion layers, as the official release computes them (docs/method.md): local
cross-attention between two sets, the gated aggregation of sentences by the image, and the sentence
attention pool. Parameter names and roles are the release's, so its checkpoints compute what it
computes (tests/model/test_official_parity.py checks them against the formulas)."""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None, dim: int) -> torch.Tensor:
    if mask is None:
        return x.mean(dim)
    mask = mask.to(x.dtype)
    return (x * mask).sum(dim) / mask.sum(dim).clamp_min(1.0)


class LocalCrossAttention(nn.Module):
    """Two sets, A (first argument) and B, each with its own query, key and value: A uses
    ``query1``/``key1``/``value1``, B ``query2``/``key2``/``value2``. Each element keeps its own value,
    scaled by its mean sigmoid affinity to the other set:

        out_A[i] = value1(A_i) * mean_j sigmoid(query1(A_i) . key2(B_j) / sqrt(D))
        out_B[j] = value2(B_j) * mean_i sigmoid(query2(B_j) . key1(A_i) / sqrt(D))

    No residual, no norm, no feed-forward. Masks (b, n) leave padding out of the means (the
    release runs one unpadded sample at a time; where it pads a report to 250 tokens the pads
    count in its means, a departure docs/method.md states).
    """

    def __init__(self, dim: int):
        super().__init__()
        for name in ("query1", "key1", "value1", "query2", "key2", "value2"):
            setattr(self, name, nn.Linear(dim, dim))
        self.scale = 1.0 / math.sqrt(dim)

    def affinity(self, a, b) -> torch.Tensor:
        """(batch, |B|, |A|) log-odds query2(B) . key1(A) / sqrt(D): how each element of B (a
        sentence, when A is the image) asks for each element of A."""
        return self.query2(b) @ self.key1(a).transpose(-1, -2) * self.scale

    def forward(self, a, b, a_mask=None, b_mask=None):
        ga = torch.sigmoid(self.query1(a) @ self.key2(b).transpose(-1, -2) * self.scale)  # (n, |A|, |B|)
        gb = torch.sigmoid(self.affinity(a, b))  # (n, |B|, |A|)
        ga = masked_mean(ga, None if b_mask is None else b_mask[:, None, :], dim=-1)
        gb = masked_mean(gb, None if a_mask is None else a_mask[:, None, :], dim=-1)
        return self.value1(a) * ga.unsqueeze(-1), self.value2(b) * gb.unsqueeze(-1)


class GatedAggregation(nn.Module):
    """One sentence at a time against the image's global vector g (the release's unidirectional
    layer): out(s) = sigmoid(query2(g) . key1(s) / sqrt(D)) * value1(s). The sentence gives key and
    value, the image the query: each sentence keeps its own value, gated by the image."""

    def __init__(self, dim: int):
        super().__init__()
        self.query2, self.key1, self.value1 = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, sentences, image):  # (b, s, d), (b, d) -> (b, s, d)
        gate = torch.sigmoid((self.key1(sentences) * self.query2(image)[:, None]).sum(-1) * self.scale)
        return gate.unsqueeze(-1) * self.value1(sentences)


class AttentionPool(nn.Module):
    """The release's sentence attention pool: the mean of the rows is put first and queries all
    rows (itself included) with multi-head attention; its output is the pooled vector. Masked rows
    (b, n) are left out of the mean and of the attention."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.k_proj, self.q_proj, self.v_proj, self.c_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, rows, mask=None):  # (b, n, d), mask (b, n) -> (b, d)
        mean = masked_mean(rows, None if mask is None else mask[..., None], dim=1)
        tokens = torch.cat([mean[:, None], rows], 1)
        b, n, d = tokens.shape
        h = self.heads
        q = self.q_proj(tokens[:, :1]).view(b, 1, h, d // h).transpose(1, 2)
        k = self.k_proj(tokens).view(b, n, h, d // h).transpose(1, 2)
        v = self.v_proj(tokens).view(b, n, h, d // h).transpose(1, 2)
        attn_mask = None
        if mask is not None:
            keep = torch.cat([torch.ones_like(mask[:, :1]), mask], 1).bool()
            attn_mask = keep[:, None, None, :]
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.c_proj(out.transpose(1, 2).reshape(b, d))
