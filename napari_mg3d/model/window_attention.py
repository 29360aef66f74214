"""Shifted-window multi-head self-attention for 3D Swin, fast on CPU and GPU.

Same parameters and the same results as MONAI's ``WindowAttention`` (relative position bias table,
``relative_position_index`` buffer, ``qkv`` and ``proj``), computed differently:

- ``scaled_dot_product_attention`` (a fused kernel) with the relative position bias as a
  (1, heads, n, n) mask that broadcasts over windows, so no per-window 343x343 score matrix is
  ever materialised;
- padding, cyclic shift and window partition are one gather with a precomputed index, and their
  inverse another, instead of six copies of the feature map;
- without gradients on a CPU (``SwinBlock.streamed``), a few windows at a time from gathering
  their tokens to adding the projection back, so that the large intermediates (q, k, v, scores'
  inputs, the projection) stay in the cache instead of crossing memory whole (``attend``);
- for shifted windows, the windows are ordered by the mask they need. Only the last window along
  each shifted axis straddles the cyclic wrap, so there are at most 8 groups (interior windows need
  no mask at all), each a contiguous range attended with one (heads, n, n) mask.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

MASK_VALUE = -100.0  # what MONAI (and the original Swin) put between regions of a shifted window


def relative_position_index(window: tuple[int, int, int]) -> torch.Tensor:
    """(n, n) index into the (2w-1)^3 bias table for every pair of positions in a window."""
    grid = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")).flatten(1)
    rel = (grid[:, :, None] - grid[:, None, :]).permute(1, 2, 0)
    rel = rel + torch.tensor([w - 1 for w in window])
    strides = torch.tensor([(2 * window[1] - 1) * (2 * window[2] - 1), 2 * window[2] - 1, 1])
    return (rel * strides).sum(-1)


@dataclass(frozen=True)
class WindowPlan:
    """How tokens of a (d, h, w) grid become windows and come back."""

    gather: torch.Tensor  # (windows * n,) source token for each window slot; d*h*w means "zero padding"
    scatter: torch.Tensor  # (d*h*w,) window slot of each grid token
    n: int  # tokens per window
    windows: int
    groups: tuple  # ((start, stop, (n, n) mask or None), ...) ranges of windows


@functools.lru_cache(maxsize=64)
def window_plan(size: tuple[int, int, int], window: tuple[int, int, int], shift: tuple[int, int, int],
                device: str = "cpu") -> WindowPlan:
    d, h, w = size
    pads = [(k - s % k) % k for s, k in zip(size, window)]
    padded = [s + p for s, p in zip(size, pads)]
    counts = [p // k for p, k in zip(padded, window)]
    # source grid coordinate of each padded, shifted position (torch.roll by -shift)
    coords = [(torch.arange(p) + s) % p for p, s in zip(padded, shift)]
    zd, zh, zw = torch.meshgrid(*coords, indexing="ij")
    inside = (zd < d) & (zh < h) & (zw < w)
    source = torch.where(inside, (zd * h + zh) * w + zw, torch.tensor(d * h * w))
    # window-major order: (wd, wh, ww, kd, kh, kw)
    source = source.view(counts[0], window[0], counts[1], window[1], counts[2], window[2])
    source = source.permute(0, 2, 4, 1, 3, 5).reshape(counts[0] * counts[1] * counts[2], -1)
    group_of = _window_groups(counts, shift)
    order = torch.argsort(group_of, stable=True)
    source = source[order]
    n = source.shape[1]
    gather = source.reshape(-1)
    scatter = torch.empty(d * h * w, dtype=torch.int64)
    valid = gather < d * h * w
    scatter[gather[valid]] = torch.arange(gather.numel())[valid]
    groups, start = [], 0
    for g in range(8):
        count = int((group_of == g).sum())
        if count:
            mask = _group_mask(g, window, shift)
            groups.append((start, start + count, None if mask is None else mask.to(device)))
            start += count
    return WindowPlan(gather.to(device), scatter.to(device), n, len(order), tuple(groups))


def _window_groups(counts, shift) -> torch.Tensor:
    """Group 0..7 of each window: bit per axis, set for the last window along a shifted axis."""
    wd, wh, ww = torch.meshgrid(*[torch.arange(c) for c in counts], indexing="ij")
    group = torch.zeros_like(wd)
    for axis, g in enumerate((wd, wh, ww)):
        last = (g == counts[axis] - 1) & bool(shift[axis])
        group = group * 2 + last.long()
    return group.flatten()


def _group_mask(group: int, window, shift):
    """Swin's region mask inside a window of ``group``; None when the window is one region.

    Along a shifted axis the padded grid has regions [0, p-w), [p-w, p-s), [p-s, p); only the last
    window holds two of them: its first w-s positions and its last s.
    """
    labels = torch.zeros(window, dtype=torch.int64)
    for axis in range(3):
        if (group >> (2 - axis)) & 1:
            pos = torch.arange(window[axis])
            shape = [1, 1, 1]
            shape[axis] = window[axis]
            labels = labels * 2 + (pos >= window[axis] - shift[axis]).long().view(shape)
    flat = labels.flatten()
    if (flat == flat[0]).all():
        return None
    return torch.where(flat[:, None] == flat[None, :], 0.0, MASK_VALUE)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, window_size: tuple[int, int, int], qkv_bias: bool = True):
        super().__init__()
        self.dim, self.num_heads, self.window_size = dim, num_heads, tuple(window_size)
        self.scale = (dim // num_heads) ** -0.5
        size = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) * (2 * window_size[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(size, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def position_bias(self, n: int) -> torch.Tensor:
        """(heads, n, n). For a window clipped to a small input, MONAI takes the first n rows and
        columns of the full window's index; so do we, to give the same numbers."""
        index = self.relative_position_index[:n, :n].reshape(-1)
        return self.relative_position_bias_table[index].view(n, n, -1).permute(2, 0, 1)

    def masks(self, plan: WindowPlan, dtype) -> list:
        """[(start, stop, (1, heads, n, n) additive mask)] per window group: the position bias, plus
        the region mask of the group's shifted windows."""
        bias = self.position_bias(plan.n).to(dtype).unsqueeze(0)
        return [(start, stop, bias if mask is None else bias + mask.to(dtype)) for start, stop, mask in plan.groups]

    def attend(self, x: torch.Tensor, n: int, mask: torch.Tensor) -> torch.Tensor:
        """``x``: (windows * n, c) tokens of some windows that share ``mask``; returns the same shape."""
        c, heads = x.shape[1], self.num_heads
        windows = x.shape[0] // n
        q, k, v = self.qkv(x).view(windows, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype), scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(windows * n, c))

    def forward(self, x: torch.Tensor, plan: WindowPlan) -> torch.Tensor:
        """``x``: (batch, windows * n, c) tokens in the plan's window order."""
        b, _, c = x.shape
        n, heads = plan.n, self.num_heads
        qkv = self.qkv(x).view(b * plan.windows, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (b * windows, heads, n, head_dim), windows of a batch item together
        masks = self.masks(plan, q.dtype)  # 4D, each broadcast over its group's windows
        if len(masks) == 1:  # every window the same mask
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=masks[0][2], scale=self.scale)
        else:
            out = torch.empty_like(q)
            qs, ks, vs, os_ = (t.view(b, plan.windows, *t.shape[1:]) for t in (q, k, v, out))
            for start, stop, attn_mask in masks:
                part = F.scaled_dot_product_attention(
                    qs[:, start:stop].flatten(0, 1), ks[:, start:stop].flatten(0, 1), vs[:, start:stop].flatten(0, 1),
                    attn_mask=attn_mask, scale=self.scale,
                )
                os_[:, start:stop] = part.view(b, stop - start, *part.shape[1:])
        return self.proj(out.transpose(1, 2).reshape(b, plan.windows * n, c))
