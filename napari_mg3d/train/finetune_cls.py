"""Classification fine-tuning: a linear head on the pooled last-stage features of an MG-3D vision
encoder, frozen (linear probe) or trained with it (full fine-tuning); validation AUC per label."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import nn

from ..model.swin import SwinEncoder
from .schedule import warmup_linear


def label_names(cases) -> list[str]:
    return sorted({name for c in cases for name in c.labels})


class Classifier(nn.Module):
    def __init__(self, model_config, labels: list[str]):
        super().__init__()
        v = model_config.vision
        self.config, self.labels = model_config, list(labels)
        self.encoder = SwinEncoder(1, v.embed_dim, v.window_size, v.patch_size, v.depths, v.num_heads)
        self.head = nn.Linear(v.out_dim, len(labels))

    def forward(self, volume):  # logits (b, labels)
        return self.head(self.encoder(volume)[-1].mean((2, 3, 4)))


class ClsModule(L.LightningModule):
    def __init__(self, config: dict, model_config, labels: list[str], state: dict | None = None):
        super().__init__()
        from ..model.segmenter import load_vision_weights

        self.config, self.labels = config, list(labels)
        self.net = Classifier(model_config, labels)
        if state is not None:
            load_vision_weights(self.net.encoder, state)
        if config["mode"] == "probe":
            self.net.encoder.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config["mode"] == "probe":
            self.net.encoder.eval()
        return self

    def targets(self, batch) -> torch.Tensor:
        return torch.tensor([[float(lab.get(n, 0)) for n in self.labels] for lab in batch["labels"]],
                            device=self.device)

    def training_step(self, batch, batch_idx):
        logits = self.net(batch["volume"])
        loss = nn.functional.binary_cross_entropy_with_logits(logits, self.targets(batch))
        self.log("train/loss", loss.detach(), batch_size=len(batch["id"]))
        return loss

    def configure_optimizers(self):
        c = self.config
        groups = [{"params": list(self.net.head.parameters()), "lr": c["lr"]}]
        if c["mode"] != "probe":
            groups.append({"params": list(self.net.encoder.parameters()), "lr": c["lr"] * c["encoder_lr_scale"]})
        optimizer = torch.optim.AdamW(groups, weight_decay=c["weight_decay"])
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_linear(step, c["warmup_steps"], c["max_steps"]))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class ClsValidation(L.Callback):
    def __init__(self, dataset, labels: list[str], metrics_path, every_epochs: int = 1, batch_size: int = 8):
        self.dataset, self.labels, self.path = dataset, labels, Path(metrics_path)
        self.every, self.batch_size = max(1, every_epochs), batch_size

    @torch.no_grad()
    def on_train_epoch_end(self, trainer, pl_module):
        if len(self.dataset) < 2 or (trainer.current_epoch + 1) % self.every or not trainer.is_global_zero:
            return
        from ..data.dataset import collate
        from ..inference.metrics import roc_auc

        net = pl_module.net
        was_training = net.training
        net.eval()
        scores, truth = [], []
        for start in range(0, len(self.dataset), self.batch_size):
            batch = collate([self.dataset[i] for i in range(start, min(start + self.batch_size, len(self.dataset)))])
            scores.append(torch.sigmoid(net(batch["volume"].to(pl_module.device))).cpu().numpy())
            truth += [[lab.get(n, 0) for n in self.labels] for lab in batch["labels"]]
        net.train(was_training)
        scores, truth = np.concatenate(scores), np.array(truth)
        auc = {n: roc_auc(scores[:, j], truth[:, j]) for j, n in enumerate(self.labels)}
        valid = [v for v in auc.values() if not np.isnan(v)]
        record = {"event": "val", "step": trainer.global_step, "epoch": trainer.current_epoch,
                  "cases": len(self.dataset), "auc_mean": float(np.mean(valid)) if valid else float("nan"),
                  "auc": auc, "time": time.time()}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if trainer.logger is not None and valid:
            trainer.logger.log_metrics({"val/auc_mean": record["auc_mean"]}, step=trainer.global_step)
