"""Validation each N epochs, on rank zero only (other ranks meet no collective, so DDP is
unaffected): one ``{"event": "val", "step", "epoch", "cases", ...}`` record in the metrics file
and the headline figures in TensorBoard. Subclasses measure; this class schedules and reports."""

from __future__ import annotations

import time
from pathlib import Path

import lightning as L

from .follow import append_record


class EpochValidation(L.Callback):
    minimum = 2  # held-out cases needed to validate at all

    def __init__(self, dataset, metrics_path: str | Path, every_epochs: int = 1, batch_size: int = 8):
        self.dataset, self.path = dataset, Path(metrics_path)
        self.every, self.batch_size = max(1, every_epochs), batch_size

    def measure(self, trainer, pl_module) -> tuple[dict, dict]:
        """(the record's figures, the TensorBoard figures)."""
        raise NotImplementedError

    def on_train_epoch_end(self, trainer, pl_module):
        if len(self.dataset) < self.minimum or (trainer.current_epoch + 1) % self.every or not trainer.is_global_zero:
            return
        figures, headline = self.measure(trainer, pl_module)
        record = {"event": "val", "step": trainer.global_step, "epoch": trainer.current_epoch,
                  "cases": len(self.dataset), **figures, "time": time.time()}
        append_record(self.path, record)
        if trainer.logger is not None and headline:
            trainer.logger.log_metrics({f"val/{k}": v for k, v in headline.items()}, step=trainer.global_step)


class RetrievalValidation(EpochValidation):
    """Report -> volume retrieval R@1/5/10 on the held-out split, the alignment statistics first
    recomputed over training cases."""

    def measure(self, trainer, pl_module):
        from ..inference.metrics import recall_at_k
        from .calibrate import calibrate_alignment
        from .evaluate import embed

        model = pl_module.model
        was_training = model.training
        calibrate_alignment(model, trainer.train_dataloader.dataset, cases=128)
        images, reports, _ = embed(model, self.dataset, self.batch_size, device=pl_module.device)
        model.train(was_training)
        scores = recall_at_k((reports @ images.t()).float().cpu().numpy())
        return scores, scores
