"""``mg3d finetune align``: a report-volume space for a checkpoint that has none (the official MG-3D
weights never train ``itc_head``; the release itself fine-tunes contrastively for CT-RATE zero-shot
and retrieval). Contrastive alignment (InfoNCE) of the checkpoint's unimodal image vector with a
text encoder's report vector on a manifest's report-volume pairs, and the label prompts against the
image in the same space (the findings objective), the alignment centred and its statistics
recomputed at the end as in pre-training. ``mode``: "probe" trains the alignment side only (the
image encoder frozen, each training volume encoded once), "full" the image encoder too at
``encoder_lr_scale``. ``text``: another text encoder (a name or folder, e.g. minilm-offline) when the
checkpoint's own has no tokenizer on this machine. The result's findings, text search and library
work (its metadata says the alignment was trained)."""

from __future__ import annotations

import lightning as L
import torch

from ..model import objectives as obj
from ..model.findings import LabelPrompts, finding_logits, prompt_pairs
from .module import stated_labels
from .schedule import scheduled

ALIGNMENT_SIDE = ("itc_head.", "uni_global_text_attention.", "multi_modal_language_proj.")
IMAGE_SIDE = ("vision_encoder.", "multi_modal_vision_proj.", "uni_modal_vision_pooler.", "modality_type_embeddings.")


def align_model(model_config, state: dict, text: str = ""):
    """The MG3D to align: ``model_config`` with a centred alignment (and ``text`` as its text encoder
    when given), the checkpoint's ``state`` loaded where names and shapes agree (none of the old text
    side when the text encoder changes)."""
    from ..io.errors import InputError
    from ..model.config import ModelConfig
    from ..model.mg3d import MG3D

    data = model_config.to_dict()
    data["align_center"] = True
    if text:
        data["text"] = {**data["text"], "name": text}
    from ..model.text_source import PREFIX

    # a checkpoint that names its frozen text encoder rather than carrying it: build that one
    carried = any(k.startswith(PREFIX) for k in state)
    model = MG3D(ModelConfig.from_dict(data), pretrained_text=bool(text) or not carried)
    if model.tokenizer is None:
        raise InputError(f"the text encoder {model.config.text.name!r} has no tokenizer on this machine; "
                         "set text=<its folder> or text=minilm-offline")
    own = model.state_dict()
    skip = ("language_encoder.", "multi_modal_language_proj.") if text else ()
    keep = {k: v for k, v in state.items() if k in own and not k.startswith(skip) and own[k].shape == v.shape}
    model.load_state_dict(keep, strict=False)
    return model


class AlignModule(L.LightningModule):
    def __init__(self, config: dict, model):
        super().__init__()
        from ..knowledge.prompts import default_prompts

        self.config, self.model = config, model
        self.probe = config["mode"] == "probe"
        self.prompt_sets = default_prompts()
        self.labels = tuple(p.label for p in self.prompt_sets)
        self.prompts = LabelPrompts.of(model, self.prompt_sets)
        model.requires_grad_(False)
        side = ALIGNMENT_SIDE + (() if self.probe else IMAGE_SIDE)
        for name, p in model.named_parameters():
            if name.startswith(side) or (name.startswith("language_encoder.") and not model.config.text.frozen):
                p.requires_grad_(True)
        self.images: dict[str, torch.Tensor] = {}  # probe: each training volume's vector, made once

    def train(self, mode: bool = True):
        super().train(mode)
        if self.probe:
            self.model.vision_encoder.eval()
        return self

    def image_vectors(self, batch) -> torch.Tensor:
        if not self.probe:
            return self.model.image_vector(batch["volume"])
        todo = [i for i, case in enumerate(batch["id"]) if case not in self.images]
        if todo:
            with torch.no_grad():
                vectors = self.model.image_vector(batch["volume"][todo])
            for i, v in zip(todo, vectors):
                self.images[batch["id"][i]] = v.detach()
        return torch.stack([self.images[case] for case in batch["id"]]).to(self.device)

    def training_step(self, batch, batch_idx):
        model, t = self.model, self.model.config.temperature
        reports = model.tokenize(batch["report"]).to(self.device)
        v, r = model.itc_head(self.image_vectors(batch), model.report_vector_of(reports))
        pos, neg = prompt_pairs(model, self.prompts.to(self.device), running=True)
        stated = stated_labels(batch["report"], self.labels).to(self.device)
        losses = {"ga": obj.info_nce(v, r, t), "findings": obj.finding_loss(finding_logits(v, pos, neg, t), stated)}
        losses["loss"] = losses["ga"] + losses["findings"]
        self.log_dict({f"train/{k}": x.detach() for k, x in losses.items()}, batch_size=len(batch["id"]))
        return losses["loss"]

    def configure_optimizers(self):
        c = self.config
        image, heads = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                (image if name.startswith(IMAGE_SIDE + ("language_encoder.",)) else heads).append(p)
        groups = [{"params": heads, "lr": c["lr"]}]
        if image:
            groups.append({"params": image, "lr": c["lr"] * c["encoder_lr_scale"]})
        return scheduled(torch.optim.Adam(groups, weight_decay=c["weight_decay"]), c)
