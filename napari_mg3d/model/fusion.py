"""MG-3D's fusion layers: local cross-attention, gated aggregation and CLIP-style attention pooling."""

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
    """Two sets scale their own values by their mean sigmoid affinity to the other set:

    x_i <- v1(x_i) * mean_j sigmoid(q1(x_i) . k1(y_j) / sqrt(D)), and the same for y with q2, k2, v2.
    No residual, no norm, no feed-forward (as in MG-3D).
    """

    def __init__(self, dim: int):
        super().__init__()
        for name in ("query1", "key1", "value1", "query2", "key2", "value2"):
            setattr(self, name, nn.Linear(dim, dim))
        self.scale = 1.0 / math.sqrt(dim)

    def gate(self, q, k, k_mask):
        affinity = torch.sigmoid(q @ k.transpose(-1, -2) * self.scale)  # (b, nq, nk)
        return masked_mean(affinity, None if k_mask is None else k_mask[:, None, :], dim=-1)

    def forward(self, x, y, x_mask=None, y_mask=None):
        gx = self.gate(self.query1(x), self.key1(y), y_mask)
        gy = self.gate(self.query2(y), self.key2(x), x_mask)
        return self.value1(x) * gx.unsqueeze(-1), self.value2(y) * gy.unsqueeze(-1)


class GatedAggregation(nn.Module):
    """out_i = sigmoid(q(x_i) . k(y) / sqrt(D)) * v(y): each x_i takes a gated share of y."""

    def __init__(self, dim: int):
        super().__init__()
        self.query2, self.key1, self.value1 = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, x, y):  # x (b, n, d), y (b, m, d) -> (b, n, m, d)
        gate = torch.sigmoid(self.query2(x) @ self.key1(y).transpose(-1, -2) * self.scale)
        return gate.unsqueeze(-1) * self.value1(y).unsqueeze(1)


class AttentionPool(nn.Module):
    """CLIP-style pooling: the first token queries all tokens with multi-head attention."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.k_proj, self.q_proj, self.v_proj, self.c_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, tokens, mask=None):  # (b, n, d), mask (b, n) -> (b, d)
        b, n, d = tokens.shape
        h = self.heads
        q = self.q_proj(tokens[:, :1]).view(b, 1, h, d // h).transpose(1, 2)
        k = self.k_proj(tokens).view(b, n, h, d // h).transpose(1, 2)
        v = self.v_proj(tokens).view(b, n, h, d // h).transpose(1, 2)
        attn_mask = None if mask is None else mask[:, None, None, :].bool()
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.c_proj(out.transpose(1, 2).reshape(b, d))
