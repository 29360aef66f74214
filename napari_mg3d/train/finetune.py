"""``mg3d finetune seg|cls|align``: fine-tuning from an MG-3D checkpoint, on Lightning.

seg: a SwinUNETR-style network (model/segmenter.py), DiceCE loss, sliding-window validation Dice.
cls: a linear probe (frozen encoder) or full fine-tuning on the manifest's labels, validation AUC.
align: a report-volume space for the checkpoint (train/finetune_align.py), validation R@k.
Both write metrics.jsonl (steps and ``{"event": "val"}`` records), last.ckpt (resumable) and
model.safetensors with the model config, profile and class names in its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..io.errors import InputError
from .config import RunSettings


@dataclass
class FinetuneConfig(RunSettings):
    task: str = "seg"  # "seg", "cls" or "align"
    checkpoint: str = ""  # MG-3D checkpoint whose vision encoder starts the model ("": from scratch)
    model: str = "mg3d-tiny"  # the architecture when no checkpoint brings one
    out: str = "runs/finetune"
    classes: list = field(default_factory=list)  # seg: names of labels 1..N (default "1".."N" from the data)
    labels: list = field(default_factory=list)  # cls: label names (default: all in the manifest)
    mode: str = "full"  # cls, align: "probe" (frozen image encoder) or "full"
    text: str = ""  # align: another text encoder (name or folder); "": the checkpoint's own
    batch_size: int = 2
    max_steps: int = 500
    lr: float = 1e-3
    encoder_lr_scale: float = 0.1  # the pre-trained encoder moves slower than the new head
    weight_decay: float = 1e-5
    warmup_steps: int = 20
    val_max_cases: int = 50


def base_model(config: FinetuneConfig):
    """(ModelConfig, MG-3D state dict or None, profile name) from the checkpoint or the named model."""
    from ..model.checkpoint import read_checkpoint
    from ..model.config import ModelConfig, get_config

    if not config.checkpoint:
        model = get_config(config.model)
        return model, None, config.profile or model.profile
    state, meta = read_checkpoint(config.checkpoint)
    if meta and meta.get("model_config"):
        model = ModelConfig.from_dict(meta["model_config"])
    else:
        from ..model.checkpoint import architecture_of, strip_prefixes

        state = strip_prefixes(state)
        model = get_config(architecture_of(state))
    saved = (meta or {}).get("profile") or {}
    return model, state, config.profile or saved.get("name") or model.profile


def run(config: FinetuneConfig, resume: bool = False) -> Path:
    from ..data.cache import default_folder
    from ..data.dataset import CaseDataset
    from ..data.profiles import get_profile
    from ..model.checkpoint import save_checkpoint
    from .run import checked_cases, fit, held_out_cases, start_run, tuning_cases

    if config.task not in ("seg", "cls", "align"):
        raise InputError(f"task must be seg, cls or align, not {config.task!r}")
    if config.mode not in ("probe", "full"):
        raise InputError(f"mode must be probe or full, not {config.mode!r}")
    if config.task == "align" and not config.checkpoint:
        raise InputError("finetune align needs checkpoint=<an MG-3D checkpoint>")
    out, last = start_run(config, resume)
    model_config, state, profile = base_model(config)
    profile = get_profile(profile)
    cache = config.cache_dir or default_folder()
    train_cases = checked_cases(config, "train", out)
    val_cases = held_out_cases(config, out, minimum=1 if config.task == "seg" else 2)
    metrics = out / "metrics.jsonl"
    if config.task == "seg":
        from .finetune_seg import SegDataset, SegModule, SegValidation, class_names

        train_cases = [c for c in train_cases if c.segmentation is not None]
        val_cases = [c for c in val_cases if c.segmentation is not None]
        if not train_cases:
            raise InputError(f"{config.manifest}: no training case has a segmentation")
        data = SegDataset(train_cases, profile, cache)
        classes = config.classes or class_names(data)
        module = SegModule(config.to_dict(), model_config, len(classes) + 1, state)
        validation = SegValidation(SegDataset(val_cases, profile, cache), classes, metrics, config.val_every_epochs)
        extra = {"kind": "segmenter", "classes": classes}
    elif config.task == "align":
        from .finetune_align import AlignModule, align_model
        from .validation import RetrievalValidation

        data = CaseDataset(None, profile, cache_dir=cache, cases=train_cases)
        aligned = align_model(model_config, state, config.text)
        if not config.text:  # the frozen text encoder the checkpoint names is the one built here
            from ..model.checkpoint import read_metadata
            from ..model.text_source import check, leaves_out

            meta = read_metadata(config.checkpoint)
            if leaves_out(meta):
                check(meta["text_encoder"], aligned.language_encoder)
        module = AlignModule(config.to_dict(), aligned)
        validation = RetrievalValidation(CaseDataset(None, profile, cache_dir=cache, cases=val_cases), metrics,
                                         config.val_every_epochs)
    else:
        from .finetune_cls import ClsModule, ClsValidation, label_names

        labels = config.labels or label_names(train_cases)
        if not labels:
            raise InputError(f"{config.manifest}: no labels to learn (set labels=[...] or add a labels column)")
        data = CaseDataset(None, profile, cache_dir=cache, cases=train_cases)
        module = ClsModule(config.to_dict(), model_config, labels, state)
        validation = ClsValidation(CaseDataset(None, profile, cache_dir=cache, cases=val_cases), labels, metrics,
                                   config.val_every_epochs)
        extra = {"kind": "classifier", "labels": labels, "mode": config.mode}
    if len(data) < config.batch_size:
        raise InputError(f"{len(data)} usable training case(s), fewer than batch_size={config.batch_size}")
    trainer = fit(config, module, data, validation, out, last, resume)
    final = out / "model.safetensors"
    if trainer.is_global_zero and config.task == "align":
        # the findings' temperature from the validation split's cases (not the test cases the fallback may give)
        tuning = CaseDataset(None, profile, cache_dir=cache, cases=tuning_cases(config, val_cases))
        save_aligned(module, data, final, profile, config, trainer.global_step, tuning)
    elif trainer.is_global_zero:
        save_checkpoint(module.net, final, profile=profile.to_dict(),
                        extra={**extra, "step": trainer.global_step, "manifest": str(config.manifest)})
    return final


def save_aligned(module, data, path, profile, config: FinetuneConfig, step: int, tuning=None) -> None:
    """The aligned model, its alignment statistics recomputed over training cases, with what it
    trained added to what its checkpoint had; its findings' calibration (a model with a grounding
    head) fitted on the training cases and softened by one temperature on ``tuning``'s (validation
    cases; ``train.calibrate.temper_findings``), as pre-training does."""
    from ..model.capabilities import ALIGNMENT, FINDINGS, capabilities_of
    from ..model.checkpoint import read_metadata, save_checkpoint
    from .calibrate import calibrate_alignment, calibrate_findings, label_counts, temper_findings
    from .familiarity import training_summary

    model = module.model
    calibrate_alignment(model, data)
    calibration, temperature = temper_findings(model, tuning or [], module.prompt_sets,
                                               calibrate_findings(model, data, module.prompt_sets))
    meta = read_metadata(config.checkpoint)  # None: an official file read as it is
    before = capabilities_of(meta or {}, model.config, official_file=meta is None)
    trained = [*before.trained, *(p for p in (ALIGNMENT, FINDINGS) if p not in before.trained)]
    source = before.source if before.source != "untrained" else "ours"
    save_checkpoint(model, path, profile=profile.to_dict(), prompts=[p.__dict__ for p in module.prompt_sets],
                    extra={"source": source, "trained": trained, "aligned_from": str(config.checkpoint),
                           "step": step, "manifest": str(config.manifest), "mode": config.mode,
                           "findings_calibration": calibration, "findings_temperature": temperature,
                           "findings_learnt": label_counts([c.report for c in data.cases],
                                                           [p.label for p in module.prompt_sets]),
                           # what its training volumes looked like (the viewer's out-of-distribution line)
                           "training_data": training_summary(model, data, profile)})
