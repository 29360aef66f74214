"""Training callbacks: a JSON-lines metrics file a widget can follow, and atomic checkpoints."""

from __future__ import annotations

import os
import time
from pathlib import Path

import lightning as L

from .follow import STOP_FILE, append_record
from .time_budget import time_remaining


class JsonlMetrics(L.Callback):
    """One line per logged step: step, losses, learning rate, samples/s, ETA; and lifecycle events."""

    def __init__(self, path: str | Path, every: int = 10):
        self.path, self.every = Path(path), every
        self._t0 = self._last_t = None
        self._last_step = 0

    def write(self, trainer, record: dict) -> None:
        if trainer.is_global_zero:
            append_record(self.path, record)

    def on_train_start(self, trainer, pl_module):
        self._t0 = self._last_t = time.monotonic()
        self._last_step = trainer.global_step
        self.write(trainer, {"event": "start", "step": trainer.global_step, "max_steps": trainer.max_steps,
                             "time": time.time()})

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if step == 0 or step % self.every and step != trainer.max_steps:
            return
        now = time.monotonic()
        steps = max(1, step - self._last_step)
        global_batch = len(batch["id"]) * trainer.world_size * trainer.accumulate_grad_batches
        rate = steps * global_batch / max(now - self._last_t, 1e-9)
        eta = (trainer.max_steps - step) * (now - self._last_t) / steps
        remaining = time_remaining(trainer)  # a time budget may end the run first
        if remaining is not None:
            eta = min(eta, max(0.0, remaining))
        metrics = {k.removeprefix("train/"): float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith("train/")}
        lrs = [g["lr"] for g in trainer.optimizers[0].param_groups]
        self.write(trainer, {"step": step, **metrics, "lr": lrs[0], "lr_heads": lrs[-1],
                             "samples_per_s": rate, "eta_s": eta, "time": time.time()})
        self._last_t, self._last_step = now, step

    def on_train_end(self, trainer, pl_module):
        self.write(trainer, {"event": "end", "step": trainer.global_step, "time": time.time()})


class AtomicCheckpoint(L.Callback):
    """``last.ckpt`` every N steps, written beside and renamed over: a kill never leaves it torn."""

    def __init__(self, folder: str | Path, every: int):
        self.folder, self.every = Path(folder), every

    def save(self, trainer) -> None:
        target = self.folder / "last.ckpt"
        tmp = self.folder / ".last.ckpt.tmp"
        trainer.save_checkpoint(tmp, weights_only=False)  # optimizer, scheduler, loops: all to resume
        if trainer.is_global_zero:
            os.replace(tmp, target)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step and trainer.global_step % self.every == 0:
            self.save(trainer)

    def on_train_end(self, trainer, pl_module):
        self.save(trainer)


class StopRequest(L.Callback):
    """Ends the run cleanly when ``<out>/stop`` appears (the Training widget's Stop): the last
    checkpoint and the exported model are written as at the end of a run, and --resume goes on."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / STOP_FILE

    def on_train_start(self, trainer, pl_module):
        self.path.unlink(missing_ok=True)  # a request left from an earlier run

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.path.exists():
            trainer.should_stop = True
            if trainer.is_global_zero:
                append_record(self.path.parent / "metrics.jsonl",
                              {"event": "stopped", "step": trainer.global_step, "time": time.time()})

    def on_train_end(self, trainer, pl_module):
        if trainer.is_global_zero:
            self.path.unlink(missing_ok=True)
