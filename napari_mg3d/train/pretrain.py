"""``mg3d pretrain``: MG-3D pre-training on a case manifest, from one CPU to many GPUs and nodes
(Lightning DDP, launched directly or by torchrun)."""

from __future__ import annotations

import json
from pathlib import Path

from .config import TrainConfig, start_run


def run(config: TrainConfig, resume: bool = False) -> Path:
    import lightning as L
    import torch

    from ..data.dataset import CaseDataset, collate
    from ..io.errors import InputError
    from ..model.checkpoint import save_checkpoint
    from ..model.config import get_config
    from .callbacks import AtomicCheckpoint, JsonlMetrics
    from .validation import RetrievalValidation
    from .module import PretrainModule

    out, last = start_run(config, resume)
    torch.set_float32_matmul_precision("high")
    profile = config.profile or get_config(config.model).profile
    cache = config.cache_dir or out / "cache"
    data = CaseDataset(None, profile, cache_dir=cache, cases=checked_cases(config, "train", out))
    if len(data) == 0:
        raise InputError(f"{config.manifest} has no usable cases in the train split")
    held_out = CaseDataset(None, profile, cache_dir=cache, cases=held_out_cases(config, out))
    loader = torch.utils.data.DataLoader(data, batch_size=config.batch_size, shuffle=True, drop_last=True,
                                         collate_fn=collate, num_workers=config.num_workers)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    module = PretrainModule(config.to_dict())
    trainer = L.Trainer(
        max_steps=config.max_steps, default_root_dir=str(out), enable_checkpointing=False,
        logger=L.pytorch.loggers.TensorBoardLogger(str(out), name="tensorboard"),
        callbacks=[JsonlMetrics(out / "metrics.jsonl", config.log_every),
                   AtomicCheckpoint(out, config.checkpoint_every),
                   RetrievalValidation(held_out, out / "metrics.jsonl", config.val_every_epochs)],
        log_every_n_steps=config.log_every, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=True, **config.trainer,
    )
    # our own checkpoints hold only tensors and plain values: load them without running code
    trainer.fit(module, loader, ckpt_path=str(last) if resume else None, weights_only=True)
    final = out / "model.safetensors"
    if trainer.is_global_zero:
        from .calibrate import calibrate_alignment

        calibrate_alignment(module.model, data)
        from ..data.profiles import get_profile
        from ..knowledge.prompts import default_prompts

        save_checkpoint(module.model, final, profile=get_profile(profile).to_dict(),
                        prompts=[p.__dict__ for p in default_prompts()],
                        extra={"step": trainer.global_step, "manifest": str(config.manifest)})
    return final


def checked_cases(config, split: str, out: Path) -> list:
    """The manifest's good cases of ``split``; the bad ones are written to <out>/bad_cases.json
    and named on stderr, and with ``bad_cases=refuse`` the run stops before it starts."""
    import sys

    from ..data.case_check import check_manifest
    from ..io.errors import InputError

    if config.bad_cases not in ("skip", "refuse"):
        raise InputError(f"bad_cases must be skip or refuse, not {config.bad_cases!r}")
    check = check_manifest(config.manifest, split)
    if check.problems:
        (out / f"bad_cases_{split}.json").write_text(json.dumps(check.problems, indent=2))
        if config.bad_cases == "refuse":
            raise InputError(f"{Path(config.manifest).name}: {check.summary()} (bad_cases=refuse)")
        print(f"mg3d: skipping {check.summary()}", file=sys.stderr)
    return check.cases


def held_out_cases(config, out: Path, minimum: int = 2) -> list:
    """The validation cases: ``val_split``, else "test", whichever has ``minimum`` good cases
    (retrieval needs two to choose between)."""
    for split in dict.fromkeys([config.val_split, "test"]):
        cases = checked_cases(config, split, out)
        if len(cases) >= minimum:
            return cases[: config.val_max_cases]
    return []
