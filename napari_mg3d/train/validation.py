"""Validation each N epochs: report -> volume retrieval R@1/5/10 on the held-out split."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L


class RetrievalValidation(L.Callback):
    """On rank zero, embeds the held-out cases with the model being trained and writes
    ``{"event": "val", "step", "epoch", "R@1", "R@5", "R@10", "cases"}`` to the metrics file
    (and TensorBoard as val/R@k). Other ranks wait at no collective, so DDP is unaffected."""

    def __init__(self, dataset, metrics_path: str | Path, every_epochs: int = 1, batch_size: int = 8):
        self.dataset, self.path = dataset, Path(metrics_path)
        self.every, self.batch_size = max(1, every_epochs), batch_size

    def on_train_epoch_end(self, trainer, pl_module):
        if len(self.dataset) < 2 or (trainer.current_epoch + 1) % self.every or not trainer.is_global_zero:
            return
        from ..inference.metrics import recall_at_k
        from .evaluate import embed

        from .calibrate import calibrate_alignment

        model = pl_module.model
        was_training = model.training
        calibrate_alignment(model, trainer.train_dataloader.dataset, cases=128)
        images, reports, _ = embed(model, self.dataset, self.batch_size, device=pl_module.device)
        model.train(was_training)
        scores = recall_at_k((reports @ images.t()).float().cpu().numpy())
        record = {"event": "val", "step": trainer.global_step, "epoch": trainer.current_epoch,
                  "cases": len(self.dataset), **scores, "time": time.time()}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if trainer.logger is not None:
            trainer.logger.log_metrics({f"val/{k}": v for k, v in scores.items()}, step=trainer.global_step)
