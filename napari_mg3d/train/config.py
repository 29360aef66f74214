"""Training configuration: a JSON or YAML file, overridden by ``--set key=value`` (dotted keys)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..io.errors import InputError


@dataclass
class RunSettings:
    """What every training run has: data, output, schedule, checks, validation, the Lightning trainer."""

    manifest: str = ""
    out: str = "runs/run"
    profile: str | None = None  # default: the model's profile
    cache_dir: str | None = None  # default: the shared cache (data.cache.default_folder)
    batch_size: int = 4
    max_steps: int = 1000
    lr: float = 1e-5
    weight_decay: float = 1e-8
    warmup_steps: int = 10_000
    checkpoint_every: int = 100
    log_every: int = 10
    val_every_epochs: int = 1  # validation on the held-out split each N epochs
    val_split: str = "val"  # falls back to "test" when the manifest has no "val" cases
    val_max_cases: int = 200
    bad_cases: str = "skip"  # a manifest's bad rows are listed and "skip"ped, or the run "refuse"s
    seed: int = 0
    num_workers: int | None = None  # DataLoader workers; default: up to 4, a core left (run.loader_workers)
    trainer: dict = field(default_factory=lambda: {
        # precision None: bf16 mixed precision on a GPU that has bf16, else float32 (run.trainer_settings)
        "accelerator": "auto", "devices": 1, "num_nodes": 1, "strategy": "auto", "precision": None,
        "accumulate_grad_batches": 1,
    })

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig(RunSettings):
    """MG-3D pre-training; defaults are the official recipe."""

    model: str = "mg3d-tiny"
    model_overrides: dict = field(default_factory=dict)  # e.g. {"loss_weights": {"ga": 1.0}}
    out: str = "runs/pretrain"
    head_lr_scale: float = 5.0  # heads and fusion learn 5x faster (official recipe)
    # recompute the Swin stages' and the MIM decoder's activations in the backward pass: less memory
    # (the official recipe's batch 4 of mg3d-swin-b), about a third more time a step
    activation_checkpointing: bool = False
    # each sample of each step moved by a few voxels and its values rescaled a little (data.augment)
    augment: bool = False


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set_nested(group: dict, name: str, path: list[str], value) -> dict:
    """A copy of ``group`` with ``value`` at the dotted ``path``; a value is never made a group."""
    out = dict(group)
    head, *rest = path
    if not rest:
        out[head] = value
        return out
    inner = out.get(head, {})
    if not isinstance(inner, dict):
        raise InputError(f"{name}.{head} is a single value, not a group of settings: --set {name}.{head}=...")
    out[head] = _set_nested(inner, f"{name}.{head}", rest, value)
    return out


def _check_trainer(trainer: dict) -> None:
    """Every trainer setting is one of Lightning's ``Trainer`` arguments."""
    import inspect

    import lightning as L

    known = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"}
    unknown = sorted(set(trainer) - known)
    if unknown:
        raise InputError(f"unknown trainer setting {unknown[0]!r} (Lightning's Trainer takes: "
                         f"{', '.join(sorted(known))})")


def load_config(path: str | Path | None, overrides: list[str] = (), kind=TrainConfig):
    data = {}
    if path:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no such training config: {path}")
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    config = kind()
    known = set(config.to_dict())
    for key in data:
        if key not in known:
            raise InputError(f"unknown training setting {key!r}; known: {', '.join(sorted(known))}")
    merged = {**config.to_dict(), **data}
    merged["trainer"] = {**config.trainer, **data.get("trainer", {})}
    for item in overrides:
        if "=" not in item:
            raise InputError(f"--set takes key=value, not {item!r}")
        key, value = item.split("=", 1)
        target, *rest = key.split(".")
        if target not in known:
            raise InputError(f"unknown training setting {target!r}; known: {', '.join(sorted(known))}")
        if not rest:
            merged[target] = parse_value(value)
        elif target == "model_overrides":  # a dotted path into the model config, checked by it
            merged[target] = {**merged[target], ".".join(rest): parse_value(value)}
        elif isinstance(merged[target], dict):
            merged[target] = _set_nested(merged[target], target, rest, parse_value(value))
        else:
            raise InputError(f"{target} is a single value, not a group of settings: --set {target}=...")
    if "trainer" in merged:
        _check_trainer(merged["trainer"])
    if "model_overrides" in merged and merged["model_overrides"]:
        from ..model.config import get_config

        try:
            get_config(merged.get("model") or "mg3d-tiny", **merged["model_overrides"])
        except ValueError as exc:
            raise InputError(str(exc)) from None
    config = kind(**merged)
    if config.warmup_steps >= config.max_steps > 0:
        import sys

        clipped = max(1, config.max_steps // 10)
        print(f"mg3d: warmup_steps={config.warmup_steps} is not shorter than max_steps={config.max_steps}; "
              f"the learning rate would never leave its warm-up: warming up over {clipped} steps instead",
              file=sys.stderr)
        config.warmup_steps = clipped
    return config
