"""What every training run does, pre-training or fine-tuning: check the output folder and the
manifest's cases, load batches, and fit with the metrics file, atomic checkpoints and validation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..io.errors import InputError


def start_run(config, resume: bool) -> tuple[Path, Path]:
    """(output folder, its last.ckpt) after the checks every run makes first; seeds everything."""
    import lightning as L

    if not config.manifest:
        raise InputError("no manifest: set manifest in the config or with --set manifest=PATH")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.ckpt"
    if resume and not last.is_file():
        raise InputError(f"nothing to resume: {last} does not exist")
    L.seed_everything(config.seed, workers=True)
    return out, last


def checked_cases(config, split: str, out: Path) -> list:
    """The manifest's good cases of ``split``; the bad ones are written to <out>/bad_cases_<split>.json
    and named on stderr, and with ``bad_cases=refuse`` the run stops before it starts."""
    from ..data.case_check import check_manifest

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


def tuning_cases(config, cases: list) -> list:
    """Of ``cases``, up to ``val_max_cases`` of the validation split: what the findings' temperature
    is fitted on (``train.calibrate.temper_findings``), never the test cases ``held_out_cases``
    falls back to."""
    return [c for c in cases if c.split == config.val_split][: config.val_max_cases]


def resolved_trainer(settings: dict) -> dict:
    """Lightning's settings with the defaults resolved: precision None is bf16 mixed precision where
    the accelerator is a CUDA GPU that has bf16 (Ampere and later), float32 elsewhere."""
    import torch

    out = dict(settings)
    if out.get("precision") is None:
        gpu = out.get("accelerator", "auto") in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        out["precision"] = "bf16-mixed" if gpu and torch.cuda.is_bf16_supported() else "32-true"
    return out


def loader_workers(setting: int | None) -> int:
    """DataLoader workers: the setting, else up to 4, one core left to the training process."""
    import os

    if setting is not None:
        return int(setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(4, cores - 1))


def worker_context() -> str:
    """How DataLoader workers start: "spawn", a fresh interpreter that is the training process's own
    child. Not "fork": a process forked after SimpleITK has run a filter inherits its thread pool
    without the threads, and the worker's first resampling waits forever. Not "forkserver": its
    workers are the server's children, so a killed training run would leave them running (PyTorch's
    workers watch their parent process)."""
    return "spawn"


def fit(config, module, data, validation, out: Path, last: Path, resume: bool):
    """Train ``module`` on ``data`` (a dataset with a ``collate``) under Lightning; returns the trainer."""
    import lightning as L
    import torch

    from .callbacks import AtomicCheckpoint, JsonlMetrics, StopRequest
    from .time_budget import TimeBudget

    workers = loader_workers(config.num_workers)
    loader = torch.utils.data.DataLoader(data, batch_size=config.batch_size, shuffle=True, drop_last=True,
                                         collate_fn=data.collate, num_workers=workers,
                                         persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
                                         multiprocessing_context=worker_context() if workers else None)
    trainer_settings = resolved_trainer(config.trainer)
    # the config as run: every default resolved (workers, precision)
    (out / "config.json").write_text(json.dumps({**config.to_dict(), "num_workers": workers,
                                                 "trainer": trainer_settings}, indent=2))
    trainer = L.Trainer(
        max_steps=config.max_steps, default_root_dir=str(out), enable_checkpointing=False,
        logger=L.pytorch.loggers.TensorBoardLogger(str(out), name="tensorboard"),
        callbacks=[JsonlMetrics(out / "metrics.jsonl", config.log_every),
                   AtomicCheckpoint(out, config.checkpoint_every), StopRequest(out), TimeBudget(), validation],
        log_every_n_steps=config.log_every, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=True, **trainer_settings,
    )
    # our own checkpoints hold only tensors and plain values: load them without running code
    trainer.fit(module, loader, ckpt_path=str(last) if resume else None, weights_only=True)
    return trainer
