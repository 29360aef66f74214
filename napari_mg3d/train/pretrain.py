"""``mg3d pretrain``: MG-3D pre-training on a case manifest, from one CPU to many GPUs and nodes
(Lightning DDP, launched directly or by torchrun)."""

from __future__ import annotations

from pathlib import Path

from ..inference.outline import IMAGE_MEAN_RULE
from .config import TrainConfig

# the outline rule a run chooses its levels for, measures its outlines by and records (inference.outline)
OUTLINE_RULE = IMAGE_MEAN_RULE


def run(config: TrainConfig, resume: bool = False) -> Path:
    import torch

    from ..data.cache import default_folder
    from ..data.dataset import CaseDataset
    from ..data.profiles import get_profile
    from ..io.errors import InputError
    from ..model.checkpoint import save_checkpoint
    from ..model.config import get_config
    from .calibrate import calibrate_alignment, calibrate_findings, temper_findings
    from .familiarity import training_summary
    from .module import PretrainModule
    from .run import checked_cases, fit, held_out_cases, start_run, tuning_cases
    from .validation import RetrievalValidation

    out, last = start_run(config, resume)
    torch.set_float32_matmul_precision("high")
    profile = config.profile or get_config(config.model).profile
    cache = config.cache_dir or default_folder()
    # the manifest first: a bad one is reported before the model and its text encoder load
    train_cases = checked_cases(config, "train", out)
    if not train_cases:
        raise InputError(f"{config.manifest} has no usable cases in the train split")
    val_cases = held_out_cases(config, out)
    module = PretrainModule(config.to_dict())
    module.model.vision_encoder.checkpointing = config.activation_checkpointing
    module.model.mim_swin_unter_head.checkpointing = config.activation_checkpointing
    data = CaseDataset(None, profile, cache_dir=cache, cases=train_cases, regions=module.wants_regions,
                       text=module.report_inputs(), organs=module.wants_organs)
    held_out = CaseDataset(None, profile, cache_dir=cache, cases=val_cases)
    validation = RetrievalValidation(held_out, out / "metrics.jsonl", config.val_every_epochs)
    trainer = fit(config, module, data, validation, out, last, resume)
    final = out / "model.safetensors"
    if trainer.is_global_zero:
        from ..inference.outline_quality import choose_levels, measure as measure_outlines
        from ..model.capabilities import OUTLINES

        calibrate_alignment(module.model, data)
        calibration = calibrate_findings(module.model, data, module.prompt_sets)
        # one temperature from the validation split's cases (not the test cases the fallback may give)
        tuning = CaseDataset(None, profile, cache_dir=cache, cases=tuning_cases(config, val_cases))
        calibration, temperature = temper_findings(module.model, tuning, module.prompt_sets, calibration)
        # the outline rule's level per finding, chosen on training cases, measured on held-out ones
        levels = (choose_levels(module.model, get_profile(profile), data.cases, rule=OUTLINE_RULE)
                  if data.regions else {})
        learnt = what_was_learnt(module, data, calibration, levels)
        save_checkpoint(module.model, final, profile=get_profile(profile).to_dict(),
                        prompts=[p.__dict__ for p in module.prompt_sets],
                        extra={"step": trainer.global_step, "manifest": str(Path(config.manifest).resolve()),
                               "source": "ours", **learnt,
                               # its outlines against the held-out cases' finding masks (the viewer's ml),
                               # outlined as the viewer will: at their own cuts only if the record says so
                               "outline_quality": measure_outlines(module.model, get_profile(profile), val_cases,
                                                                   levels=levels,
                                                                   cuts=OUTLINES in learnt["trained"],
                                                                   rule=OUTLINE_RULE),
                               # what its training volumes looked like (the viewer's out-of-distribution line)
                               "training_data": training_summary(module.model, data, get_profile(profile)),
                               # the findings' calibration softened on its validation cases (None: too few)
                               "findings_temperature": temperature})
    return final


def what_was_learnt(module, data, calibration: dict, levels: dict) -> dict:
    """A pre-trained checkpoint's record of its training: the parts trained, how many training
    cases (``data``, a CaseDataset) gave finding masks and organ maps, the findings' calibration,
    the outline levels and what each label was learnt from."""
    from ..model.capabilities import trained_parts
    from ..model.objectives import loss_weights
    from .calibrate import label_counts

    from ..model.capabilities import OUTLINES

    config = module.model.config
    region_cases = sum(bool(c.regions) for c in data.cases) if data.regions else 0
    trained = trained_parts(config, loss_weights(config.loss_weights))
    if not region_cases:  # the outline offset learns from finding masks only
        trained = [part for part in trained if part != OUTLINES]
    return {"trained": trained,
            # how many training cases had their findings' masks (the region and outline terms)
            "region_cases": region_cases,
            # how many had their organs segmented (the organ term)
            "organ_cases": sum(c.organs is not None for c in data.cases) if data.organs else 0,
            "findings_calibration": calibration,
            "outline_levels": levels,
            # the outline rule those levels were chosen for, and the viewer outlines by
            "outline_rule": OUTLINE_RULE,
            # what each label was learnt from (none: the findings objective was off)
            "findings_learnt": label_counts([c.report for c in data.cases], module.labels)
            if module.prompts is not None else {}}
