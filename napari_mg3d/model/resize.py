"""Trilinear resizing as three small matrix products, one per axis: the same numbers as
``F.interpolate(x, size, mode="trilinear", align_corners=False)`` (to float rounding), whose
backward pass on a CPU is several times slower than its forward. Used where a map is resized in
the training step (a sentence's patch map onto the input grid, once per image and step)."""

from __future__ import annotations

import functools

import torch


@functools.lru_cache(maxsize=64)
def _weights(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) float64: each output sample's two source samples and their shares, as PyTorch
    places them without ``align_corners`` (source position (i + 0.5) * n_in / n_out - 0.5, clamped
    at 0)."""
    src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out) - 0.5).clamp_min(0)
    low = src.floor().long().clamp(max=n_in - 1)
    high = (low + 1).clamp(max=n_in - 1)
    share = src - low
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m.index_put_((rows, low), 1 - share, accumulate=True)
    m.index_put_((rows, high), share, accumulate=True)
    return m


@functools.lru_cache(maxsize=64)
def _weights_on(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return _weights(n_in, n_out).to(device=device, dtype=dtype)


def trilinear(x: torch.Tensor, size) -> torch.Tensor:
    """``x`` (..., d, h, w) resized to ``size`` (D, H, W) along its last three axes, in ``x``'s own
    dtype (under autocast too, as ``F.interpolate``: a float32 map stays float32)."""
    a, b, c = (_weights_on(int(n), int(m), x.device, x.dtype) for n, m in zip(x.shape[-3:], size))
    with torch.autocast(x.device.type, enabled=False):
        x = torch.einsum("...dhw,Dd->...Dhw", x, a)
        x = torch.einsum("...dhw,Hh->...dHw", x, b)
        return torch.einsum("...dhw,Ww->...dhW", x, c)
