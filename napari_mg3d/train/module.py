"""The Lightning module for MG-3D pre-training."""

from __future__ import annotations

import lightning as L
import torch

from ..data.report_inputs import ReportInputs, stated_labels as label_matrix
from ..knowledge.prompts import default_prompts
from ..model import objectives as obj
from ..model.factory import create_model
from ..model.distributed import total, world
from ..model.findings import LabelPrompts
from ..model.masking import sample_generators
from .schedule import scheduled

ENCODER_PREFIXES = ("vision_encoder.", "language_encoder.")


def stated_labels(texts: list[str], labels: tuple[str, ...]) -> torch.Tensor:
    """(n, labels) 1 where a text (report or sentence) states a label as present or uncertain."""
    return torch.from_numpy(label_matrix(texts, labels))


class PretrainModule(L.LightningModule):
    """Pre-training: the dataset makes each case's report inputs (``report_inputs``) in the DataLoader
    workers; a step moves the batch to the device, draws each sample's masks (and, with ``augment``,
    its move and rescaling: ``data.augment``) from (seed, step, its dataset index) and computes the
    losses, so that its result does not depend on how the global batch is split between processes
    (tests/train/test_distributed.py)."""

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
        # items need region masks (the region, peak and outline terms)
        self.wants_regions = (weights["regions"] > 0 or weights["peaks"] > 0 or weights["outlines"] > 0) \
            and self.model.config.grounding
        # items need the organs each sentence names (the organ term)
        self.wants_organs = weights["organs"] > 0 and self.model.config.grounding
        self.augment = None
        if config.get("augment"):
            from ..data.augment import Augment

            self.augment = Augment(config.get("seed", 0))

    def report_inputs(self) -> ReportInputs:
        """What the dataset makes of each case's report for this model (tokens, sentences, labels)."""
        return ReportInputs(self.model.tokenizer, self.model.config.text.max_tokens, self.labels)

    def findings(self, stated: torch.Tensor):
        """(label prompts, ``stated``) for the findings objective, or None when it is off."""
        return None if self.prompts is None else (self.prompts.to(self.device), stated)

    def grounding(self, named: torch.Tensor | None, stated: torch.Tensor):
        """(``named``, ``stated``) for the grounding objective, or None when it is off."""
        return (named, stated) if self.grounded else None

    def regions(self, batch: dict, size, kind: str = "region"):
        """((r, 2) image and sentence slot, (r, *size) mask) of each sentence that names a finding
        whose mask its case has (the dataset's ``region_slots``, ``region_masks``), for the region
        objective; None when it is off. ``kind`` "organ": of each other sentence naming a finding,
        the mask of the organs it names (``organ_slots``, ``organ_masks``), for the organ objective.
        None in the batch: r = 0 (every rank runs the same graph)."""
        if not (self.wants_organs if kind == "organ" else self.wants_regions):
            return None
        slots = batch.get(f"{kind}_slots")
        if slots is None or len(slots) == 0:
            none = torch.zeros(0, 2, dtype=torch.long, device=self.device)
            return none, torch.zeros(0, *size, device=self.device)
        return slots.to(self.device), batch[f"{kind}_masks"].to(self.device)

    def features(self, batch: dict, step: int) -> dict:
        """The model's features of a collated batch (with ``reports``, ``stated``, ``named`` and
        ``index`` from a ``CaseDataset`` with ``text``) at training step ``step`` (``MG3D.forward``)."""
        reports = batch["reports"].to(self.device)
        stated = batch["stated"].to(self.device)
        named = batch["named"].to(self.device)
        volume = batch["volume"].to(self.device)
        generators = sample_generators(self.config.get("seed", 0), step, batch["index"].tolist())
        return self.model(volume, reports, generator=generators, findings=self.findings(stated),
                          grounding=self.grounding(named, stated), regions=self.regions(batch, volume.shape[2:]),
                          organs=self.regions(batch, volume.shape[2:], "organ"))

    def drawn(self, batch: dict, step: int) -> dict:
        """The batch as step ``step`` trains on it: each sample moved and rescaled where the run
        augments (``data.augment``), else as it is."""
        return batch if self.augment is None else self.augment.batch(batch, step)

    def losses(self, batch: dict, step: int) -> dict:
        """Every pre-training loss of a collated batch at training step ``step``. In data-parallel
        training each process's values are its share of the global batch's (``model.distributed``)."""
        features = self.features(self.drawn(batch, step), step)
        return obj.pretraining_losses(features, self.model.config.loss_weights)

    def training_step(self, batch, batch_idx):
        losses = self.losses(batch, self.global_step)
        size = batch["volume"].shape[0]
        names = sorted(losses)
        values = torch.stack([losses[k].detach().float() for k in names])
        rank, world_size = world()
        if world_size > 1:  # each process holds its share: their mean is the global batch's loss
            import torch.distributed as dist

            dist.all_reduce(values)
            values = values / world_size
        logs = {f"train/{k}": v for k, v in zip(names, values)}
        logs["train/global_batch"] = float(total(size))
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
