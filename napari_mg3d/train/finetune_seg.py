"""Segmentation fine-tuning: dataset of (volume, label map) on the profile's grid, the Lightning
module (DiceCE) and the sliding-window validation Dice."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from ..data.cache import VolumeCache
from ..data.profiles import label_profile
from ..inference.segment import predict_probabilities
from .schedule import scheduled
from .validation import EpochValidation


class SegDataset:
    def __init__(self, cases, profile, cache_dir):
        self.cases = list(cases)
        self.images = VolumeCache(cache_dir, profile)
        self.labels = VolumeCache(cache_dir, label_profile(profile))

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, i: int) -> dict:
        case = self.cases[i]
        return {"id": case.id, "volume": self.images.get(case.volume)[None].astype(np.float32),
                "label": np.rint(self.labels.get(case.segmentation))[None].astype(np.int64)}

    @staticmethod
    def collate(items):
        return {"id": [it["id"] for it in items],
                "volume": torch.from_numpy(np.stack([it["volume"] for it in items])),
                "label": torch.from_numpy(np.stack([it["label"] for it in items]))}


def class_names(data: SegDataset, probe: int = 8) -> list[str]:
    """"1".."N" where N is the largest label in the first cases."""
    top = max(int(data[i]["label"].max()) for i in range(min(probe, len(data))))
    return [str(i) for i in range(1, top + 1)]


class SegModule(L.LightningModule):
    def __init__(self, config: dict, model_config, out_channels: int, state: dict | None = None):
        super().__init__()
        from monai.losses import DiceCELoss

        from ..model.segmenter import SwinSegmenter

        self.config = config
        self.net = SwinSegmenter(model_config, out_channels)
        if state is not None:
            self.net.load_encoder(state)
        self.loss = DiceCELoss(to_onehot_y=True, softmax=True)

    def training_step(self, batch, batch_idx):
        loss = self.loss(self.net(batch["volume"]), batch["label"])
        self.log("train/loss", loss.detach(), batch_size=len(batch["id"]))
        return loss

    def configure_optimizers(self):
        c = self.config
        encoder = list(self.net.encoder.parameters())
        rest = [p for n, p in self.net.named_parameters() if not n.startswith("encoder.")]
        optimizer = torch.optim.AdamW([{"params": encoder, "lr": c["lr"] * c["encoder_lr_scale"]},
                                       {"params": rest, "lr": c["lr"]}], weight_decay=c["weight_decay"])
        return scheduled(optimizer, c)


def dice_per_class(prediction: np.ndarray, truth: np.ndarray, classes: int) -> list[float]:
    """Dice of labels 1..classes-1 (NaN where a label is in neither)."""
    out = []
    for k in range(1, classes):
        p, t = prediction == k, truth == k
        total = p.sum() + t.sum()
        out.append(float(2 * (p & t).sum() / total) if total else float("nan"))
    return out


class SegValidation(EpochValidation):
    """Sliding-window Dice per class on the held-out cases (profile grid)."""

    minimum = 1

    def __init__(self, dataset: SegDataset, classes: list[str], metrics_path, every_epochs: int = 1):
        super().__init__(dataset, metrics_path, every_epochs)
        self.classes = classes

    def measure(self, trainer, pl_module):
        net = pl_module.net
        was_training = net.training
        net.eval()
        scores = []
        for i in range(len(self.dataset)):
            item = self.dataset[i]
            probs = predict_probabilities(net, torch.from_numpy(item["volume"][None]).to(pl_module.device))
            scores.append(dice_per_class(probs.argmax(1)[0].cpu().numpy(), item["label"][0], len(self.classes) + 1))
        net.train(was_training)
        per_class = {name: float(np.nanmean([s[k] for s in scores])) for k, name in enumerate(self.classes)}
        mean = float(np.nanmean(list(per_class.values())))
        return {"dice_mean": mean, "dice": per_class}, {"dice_mean": mean}
