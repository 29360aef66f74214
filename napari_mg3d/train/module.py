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


def stated_labels(texts: list[str], labels: tuple[str, ...]) -> torch.Tensor:
    """(n, labels) 1 where a text (report or sentence) states a label as present or uncertain."""
    rows = [label_report(t) for t in texts]
    return torch.tensor([[r.get(label, 0) for label in labels] for r in rows],
                        dtype=torch.float32).reshape(len(texts), len(labels))


class PretrainModule(L.LightningModule):
    def __init__(self, config: dict):
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        self.model = create_model(config["model"], device="cpu", **config.get("model_overrides", {}))
        self.prompt_sets = default_prompts()  # the label set the checkpoint carries, and trains
        self.labels = tuple(p.label for p in self.prompt_sets)
        weights = obj.loss_weights(self.model.config.loss_weights)
        self.prompts = LabelPrompts.of(self.model, self.prompt_sets) if weights["findings"] > 0 else None
        self.grounded = weights["grounding"] > 0 and self.model.config.grounding
        # items need region masks (the region and peak terms)
        self.wants_regions = (weights["regions"] > 0 or weights["peaks"] > 0) and self.model.config.grounding

    def stated(self, texts: list[str]) -> torch.Tensor:
        """(n, labels) 1 where a text (report or sentence) states a label as present or uncertain."""
        return stated_labels(texts, self.labels).to(self.device)

    def findings(self, stated: torch.Tensor):
        """(label prompts, ``stated``) for the findings objective, or None when it is off."""
        return None if self.prompts is None else (self.prompts.to(self.device), stated)

    def grounding(self, named: torch.Tensor | None, stated: torch.Tensor):
        """(``named``, ``stated``) for the grounding objective, or None when it is off."""
        return (named, stated) if self.grounded else None

    def regions(self, named: torch.Tensor | None, masks: list[dict] | None, size):
        """((r, 2) image and sentence slot, (r, *size) mask) of each sentence slot that ``named``
        says names a finding whose mask its case's ``masks`` (label -> mask on the input grid of
        ``size``) holds (the union where it names several), for the region objective; None when it
        is off or the batch has no masks. None found: r = 0 (every rank runs the same graph)."""
        if not self.wants_regions or masks is None:
            return None
        slots, found = [], []
        for i, case in enumerate(masks):
            for k in range(named.shape[1]):
                names = [self.labels[j] for j in named[i, k].nonzero()[:, 0].tolist()]
                parts = [case[n] for n in names if n in case]
                if parts and (union := torch.stack(parts).amax(0)).sum() > 0:
                    slots.append((i, k))
                    found.append(union)
        if not slots:
            none = torch.zeros(0, 2, dtype=torch.long, device=self.device)
            return none, torch.zeros(0, *size, device=self.device)
        return torch.tensor(slots, device=self.device), torch.stack(found).to(self.device)

    def named(self, batch) -> torch.Tensor:
        """(b, s, labels) what each sentence slot of the tokenised ``batch`` states as present."""
        b, s = batch.sentence_mask.shape
        named = torch.zeros(b, s, len(self.labels), device=self.device)
        for row, sentences in enumerate(batch.sentences):
            texts = sentences[:s]
            if texts:
                named[row, : len(texts)] = self.stated(texts)
        return named

    def training_step(self, batch, batch_idx):
        reports = self.model.tokenize(batch["report"]).to(self.device)
        stated = self.stated(batch["report"])
        named = self.named(reports) if self.grounded or self.wants_regions else None
        volume = batch["volume"]
        features = self.model(volume, reports, findings=self.findings(stated),
                              grounding=self.grounding(named, stated),
                              regions=self.regions(named, batch.get("regions"), volume.shape[2:]))
        losses = obj.pretraining_losses(features, self.model.config.loss_weights)
        size = volume.shape[0]
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
