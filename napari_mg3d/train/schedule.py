"""The official learning-rate recipe: linear warm-up, then linear decay to zero at the last step."""

from __future__ import annotations


def warmup_linear(step: int, warmup: int, total: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    return max(0.0, (total - step) / (total - warmup))


def scheduled(optimizer, config: dict) -> dict:
    """Lightning's optimizer setting: ``optimizer`` under warmup_linear, stepped every step."""
    from torch.optim.lr_scheduler import LambdaLR

    schedule = LambdaLR(optimizer, lambda step: warmup_linear(step, config["warmup_steps"], config["max_steps"]))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
