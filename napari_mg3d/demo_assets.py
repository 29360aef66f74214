"""What the demo needs, made once and cached: synthetic cases, an ``mg3d-tiny`` pre-trained on them,
a segmentation model fine-tuned from it, and a case library of the training cases. Each step runs
the real commands (training in its own process, followed through its metrics file, with progress
and ETA on stderr) and is skipped when its result is already in the cache; an interrupted training
step resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .data.synthetic import ORGANS


@dataclass(frozen=True)
class DemoSize:
    cases: int = 240
    pretrain_steps: int = 450
    seg_steps: int = 240
    shape: tuple = (64, 128, 128)

    @classmethod
    def from_env(cls) -> "DemoSize":
        """``MG3D_DEMO_CASES``, ``MG3D_DEMO_STEPS``, ``MG3D_DEMO_SEG_STEPS`` shrink it (tests)."""
        d = cls()
        return cls(int(os.environ.get("MG3D_DEMO_CASES", d.cases)), int(os.environ.get("MG3D_DEMO_STEPS", d.pretrain_steps)),
                   int(os.environ.get("MG3D_DEMO_SEG_STEPS", d.seg_steps)), d.shape)

    def key(self) -> str:
        """The cache folder's name: the sizes and the model config, so that a changed ``mg3d-tiny``
        never reuses a model trained under the old one."""
        sizes = f"n{self.cases}-s{self.pretrain_steps}-g{self.seg_steps}-{'x'.join(map(str, self.shape))}"
        return f"{sizes}-m{model_signature()}"


def model_signature(name: str = "mg3d-tiny") -> str:
    """Eight hex digits of the named model config's content and of what the model computes
    (``mg3d.FORWARD_REVISION``): a demo model cached before either changed is made again."""
    import hashlib

    from .model.config import get_config
    from .model.mg3d import FORWARD_REVISION

    text = json.dumps({**get_config(name).to_dict(), "forward": FORWARD_REVISION}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def cache_root() -> Path:
    return Path(os.environ.get("MG3D_CACHE_DIR") or Path.home() / ".cache" / "napari-mg3d")


def prepare(size: DemoSize | None = None, folder=None, say=None) -> dict:
    """Paths of the demo's manifest, model, segmenter, library and case (made when missing)."""
    size = size or DemoSize.from_env()
    folder = Path(folder or cache_root() / f"demo-{size.key()}")
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "cases" / "manifest.csv"
    if not (folder / "cases" / "done").is_file():
        from .data.synth_writer import write_synthetic

        say(f"demo: writing {size.cases} synthetic chest CT cases ...")
        write_synthetic(folder / "cases", size.cases, seed=0, shape=size.shape,
                        progress=lambda d, n: _line(f"demo: cases {d} / {n}"))
        (folder / "cases" / "done").write_text(json.dumps(asdict(size)))
        _end_line()
    model = folder / "pretrain" / "model.safetensors"
    if not (folder / "pretrain" / "done").is_file():
        say(f"demo: pre-training mg3d-tiny for {size.pretrain_steps} steps (once; cached in {folder}) ...")
        warmup = max(1, size.pretrain_steps // 20)
        _train("pretrain", folder / "pretrain", manifest, [
            "batch_size=8", f"max_steps={size.pretrain_steps}", "lr=0.003", "head_lr_scale=1.0",
            f"warmup_steps={warmup}", "log_every=5", "checkpoint_every=25"], say)
    segmenter = folder / "seg" / "model.safetensors"
    if not (folder / "seg" / "done").is_file():
        say(f"demo: fine-tuning organ segmentation for {size.seg_steps} steps ...")
        classes = json.dumps(list(ORGANS.values()))
        _train("finetune seg", folder / "seg", manifest, [
            f"checkpoint={model}", f"classes={classes}", "batch_size=2", f"max_steps={size.seg_steps}",
            "lr=0.003", "encoder_lr_scale=0.3", f"warmup_steps={max(1, size.seg_steps // 20)}", "log_every=5",
            "checkpoint_every=25"], say)
    library = folder / "library"
    if not (library / "done").is_file():
        from .inference.library_commands import add_manifest

        say("demo: adding the training cases to a case library ...")
        add_manifest(library, manifest, model, device="auto", split="train",
                     progress=lambda d, n: _line(f"demo: library {d} / {n}"))
        (library / "done").write_text("ok")
        _end_line()
    return {"folder": folder, "manifest": manifest, "model": model, "segmenter": segmenter, "library": library,
            "case": demo_case(manifest)}


def demo_case(manifest: Path) -> dict:
    """The first held-out case with a pleural effusion (else any finding): volume, organs, finding."""
    import csv

    rows = [r for r in csv.DictReader(manifest.open(encoding="utf-8")) if r["split"] == "test"]
    for wanted in ("pleural_effusion", None):
        for row in rows:
            findings = json.loads(row["findings"] or "{}")
            name = wanted if wanted in findings else (next(iter(findings), None) if wanted is None else None)
            if name:
                return {"id": row["id"], "volume": manifest.parent / row["volume"],
                        "organs": manifest.parent / row["segmentation"], "finding": name,
                        "mask": manifest.parent / findings[name]["mask"]}
    raise RuntimeError(f"{manifest}: no held-out case with a finding")


def _train(kind: str, out: Path, manifest: Path, overrides: list[str], say) -> None:
    from .train.follow import MetricsFollower, format_duration, training_command

    resume = (out / "last.ckpt").is_file()
    if resume:
        say(f"demo: resuming the interrupted run in {out}")
    out.mkdir(parents=True, exist_ok=True)
    argv = training_command(kind, out, manifest, None, overrides, resume)
    follower = MetricsFollower(out / "metrics.jsonl")
    with open(out / "log.txt", "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            time.sleep(1.0)
            follower.poll()
            step, total, eta = follower.progress()
            if total:
                eta_text = f" · ETA {format_duration(eta)}" if eta is not None else ""
                _line(f"demo: {kind}: step {step} / {total}{eta_text}")
    _end_line()
    if process.returncode != 0:
        tail = (out / "log.txt").read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"demo: {kind} failed (exit {process.returncode}): {' | '.join(tail)}")
    (out / "done").write_text("ok")


def _line(text: str) -> None:
    print("\r" + text.ljust(70), end="", file=sys.stderr, flush=True)


def _end_line() -> None:
    print(file=sys.stderr, flush=True)
