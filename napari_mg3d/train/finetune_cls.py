"""Classification fine-tuning: a linear head on the pooled last-stage features of an MG-3D vision
encoder, frozen (linear probe) or trained with it (full fine-tuning); validation AUC per label."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch import nn

from ..model.swin import SwinEncoder
from .schedule import scheduled
from .validation import EpochValidation


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
        return scheduled(optimizer, c)


class ClsValidation(EpochValidation):
    """AUC per label on the held-out cases."""

    def __init__(self, dataset, labels: list[str], metrics_path, every_epochs: int = 1, batch_size: int = 8):
        super().__init__(dataset, metrics_path, every_epochs, batch_size)
        self.labels = labels

    @torch.no_grad()
    def measure(self, trainer, pl_module):
        from ..data.dataset import batches
        from ..inference.metrics import roc_auc

        net = pl_module.net
        was_training = net.training
        net.eval()
        scores, truth = [], []
        for batch in batches(self.dataset, self.batch_size):
            scores.append(torch.sigmoid(net(batch["volume"].to(pl_module.device))).cpu().numpy())
            truth += [[lab.get(n, 0) for n in self.labels] for lab in batch["labels"]]
        net.train(was_training)
        scores, truth = np.concatenate(scores), np.array(truth)
        auc = {n: roc_auc(scores[:, j], truth[:, j]) for j, n in enumerate(self.labels)}
        valid = [v for v in auc.values() if not np.isnan(v)]
        mean = float(np.mean(valid)) if valid else float("nan")
        return {"auc_mean": mean, "auc": auc}, ({"auc_mean": mean} if valid else {})
