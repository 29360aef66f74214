"""The Lightning module for MG-3D pre-training."""

from __future__ import annotations

import lightning as L
import torch

from ..knowledge.labels import label_report
from ..knowledge.prompts import default_prompts
from ..model import objectives as obj
from ..model.factory import create_model
from ..model.findings import LabelPrompts
from .schedule import scheduled

ENCODER_PREFIXES = ("vision_encoder.", "language_encoder.")


class PretrainModule(L.LightningModule):
    def __init__(self, config: dict):
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        self.model = create_model(config["model"], device="cpu", **config.get("model_overrides", {}))
        self.prompt_sets = default_prompts()  # the label set the checkpoint carries, and trains
        self.prompts = None
        if obj.loss_weights(self.model.config.loss_weights)["findings"] > 0:
            self.prompts = LabelPrompts.of(self.model, self.prompt_sets)

    def findings(self, reports: list[str]):
        """(label prompts, (b, labels) what each report states of each label), or None when the
        findings objective is off."""
        if self.prompts is None:
            return None
        stated = [label_report(r) for r in reports]
        targets = torch.tensor([[s.get(label, 0) for label in self.prompts.labels] for s in stated],
                               dtype=torch.float32, device=self.device)
        return self.prompts.to(self.device), targets

    def training_step(self, batch, batch_idx):
        reports = self.model.tokenize(batch["report"]).to(self.device)
        losses = self.model(batch["volume"], reports, findings=self.findings(batch["report"]))
        size = batch["volume"].shape[0]
        logs = {f"train/{k}": v.detach() for k, v in losses.items()}
        logs["train/global_batch"] = float(obj.gather(torch.zeros(size, 1, device=self.device)).shape[0])
        self.log_dict(logs, batch_size=size, prog_bar=False, sync_dist=False)
        return losses["loss"]

    def configure_optimizers(self):
        c = self.config
        encoders, heads = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                (encoders if name.startswith(ENCODER_PREFIXES) else heads).append(p)
        optimizer = torch.optim.Adam([
            {"params": encoders, "lr": c["lr"]},
            {"params": heads, "lr": c["lr"] * c["head_lr_scale"]},
        ], weight_decay=c["weight_decay"])
        return scheduled(optimizer, c)
