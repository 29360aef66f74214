"""A run under a time budget (``trainer.max_time``) decays its learning rate to the budget's end:
before every optimizer step, each ``schedule.Schedule`` of the run learns the share of the budget
spent, read from Lightning's own timer (which a resumed run restores) on the first process."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Timer

from .schedule import Schedule


class TimeBudget(L.Callback):
    def on_train_start(self, trainer, pl_module):
        # a resumed run: the budget as Lightning restored it (none now: no time decay)
        self._tell(trainer, budget_spent(trainer) or 0.0)

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        # before the step, so the schedule's step after it reads the budget spent up to now
        share = budget_spent(trainer)
        if share is not None:
            # every process the same share (their clocks differ by milliseconds): the same rates
            self._tell(trainer, float(trainer.strategy.broadcast(share)))

    @staticmethod
    def _tell(trainer, share: float) -> None:
        for config in trainer.lr_scheduler_configs:
            for fn in getattr(config.scheduler, "lr_lambdas", ()):
                if isinstance(fn, Schedule):
                    fn.spent = share


def _timer(trainer) -> Timer | None:
    return next((c for c in trainer.callbacks if isinstance(c, Timer)), None)


def time_remaining(trainer) -> float | None:
    """Seconds left of the run's time budget, or None without one."""
    timer = _timer(trainer)
    return None if timer is None else timer.time_remaining()


def budget_spent(trainer) -> float | None:
    """The share (0 to 1) of the run's time budget spent, or None without one."""
    timer = _timer(trainer)
    remaining = None if timer is None else timer.time_remaining()
    if remaining is None:
        return None
    elapsed = timer.time_elapsed()
    return min(1.0, elapsed / max(elapsed + remaining, 1e-9))
