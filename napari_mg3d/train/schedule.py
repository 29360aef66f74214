"""The official learning-rate recipe: linear warm-up, then linear decay to zero at the last step."""

from __future__ import annotations


def warmup_linear(step: int, warmup: int, total: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    return max(0.0, (total - step) / (total - warmup))
