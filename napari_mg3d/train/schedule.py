"""The official learning-rate recipe: linear warm-up, then linear decay to zero at the last step.

A run with a time budget (``trainer.max_time``) usually stops long before ``max_steps``: the decay
then also ends when the time does (``time_budget.TimeBudget`` tells the schedule how much of the
budget is spent), so a 20-minute run finishes at a learning rate near zero, not at most of its
peak, whatever this machine's time per step."""

from __future__ import annotations


def warmup_linear(step: int, warmup: int, total: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if total <= warmup:
        return 1.0
    return max(0.0, (total - step) / (total - warmup))


class Schedule:
    """``warmup_linear`` as a learning-rate multiplier of the step, and of the time budget spent
    (``spent``, 0 to 1, set from outside): after warm-up, the lower of the decay over steps and the
    linear decay from the budget spent when warm-up ended to all of it. Its state (the share spent
    and where the decay began: plain numbers) goes into the scheduler's checkpoint, so a resumed
    run decays on from where it was; ``warmup`` and ``total`` are slots, not state, so a resumed
    run takes them from its config, as the plain schedule did."""

    __slots__ = ("warmup", "total", "__dict__")  # LambdaLR saves an object's __dict__ only

    def __init__(self, warmup: int, total: int):
        self.warmup, self.total = warmup, total
        self.spent = 0.0  # share of the time budget spent; stays 0 without a budget
        self.decay_from: float | None = None  # the share spent when warm-up ended

    def __call__(self, step: int) -> float:
        factor = warmup_linear(step, self.warmup, self.total)
        if self.warmup > 0 and step < self.warmup:
            return factor
        if self.decay_from is None:
            self.decay_from = self.spent
        if self.spent > self.decay_from:
            factor = min(factor, max(0.0, (1.0 - self.spent) / (1.0 - self.decay_from)))
        return factor


def scheduled(optimizer, config: dict) -> dict:
    """Lightning's optimizer setting: ``optimizer`` under ``Schedule``, stepped every step."""
    from torch.optim.lr_scheduler import LambdaLR

    schedule = LambdaLR(optimizer, Schedule(config["warmup_steps"], config["max_steps"]))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
