"""What the demo needs: synthetic cases, an ``mg3d-tiny`` pre-trained on them, a segmentation model
fine-tuned from it, and a case library of the training cases.

The two models ship with the package (``demo_model/``, a few MB: trained weights only, the frozen
text encoder named, the pre-training heads left out), made by ``scripts/make_demo_model.sh`` with
the project's own commands from seed 0; ``recipe.json`` says what made them. They are used when
they were made by the present model and generator code; otherwise, or with ``retrain``, the demo
trains its own as the script does. Each step is skipped when its result is already in the cache
(``~/.cache/napari-mg3d/demo-*``); training runs in its own process, followed through its metrics
file, with progress and ETA on stderr; an interrupted training step resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .data.synthetic import ORGANS

SHIPPED = Path(__file__).parent / "demo_model"


@dataclass(frozen=True)
class DemoSize:
    cases: int = 240  # the demo's own cases (seed 0): its training cases are its case library
    pretrain_steps: int = 1000
    seg_steps: int = 240
    shape: tuple = (64, 128, 128)
    # the models' training cases in all: the demo's own training cases and, to make up this many,
    # more of seed 0 after its cases (written only to train; its held-out cases stay held out)
    train_cases: int = 600

    @classmethod
    def from_env(cls) -> "DemoSize":
        """``MG3D_DEMO_CASES``, ``MG3D_DEMO_STEPS``, ``MG3D_DEMO_SEG_STEPS`` shrink it (tests),
        ``MG3D_DEMO_TRAIN_CASES`` sets its training cases; fewer demo cases than the default train on
        their own training cases alone unless ``MG3D_DEMO_TRAIN_CASES`` says otherwise."""
        d = cls()
        cases = int(os.environ.get("MG3D_DEMO_CASES", d.cases))
        train = int(os.environ.get("MG3D_DEMO_TRAIN_CASES", d.train_cases if cases == d.cases else 0))
        return cls(cases, int(os.environ.get("MG3D_DEMO_STEPS", d.pretrain_steps)),
                   int(os.environ.get("MG3D_DEMO_SEG_STEPS", d.seg_steps)), d.shape, train)

    def extra_cases(self) -> int:
        """How many cases beyond the demo's own are written to train on."""
        from .data.synth_writer import split_of

        own = sum(split_of(i, self.cases) == "train" for i in range(self.cases))
        return max(0, self.train_cases - own)

    def key(self) -> str:
        """The cache folder's name: the sizes, the model config and the generator's code, so that a
        changed ``mg3d-tiny`` or generator never reuses a model trained under the old one."""
        from .data.synth_writer import code_signature

        extra = self.extra_cases()  # cases written only to train
        extra = f"-x{extra}" if extra else ""
        sizes = f"n{self.cases}{extra}-s{self.pretrain_steps}-g{self.seg_steps}-{'x'.join(map(str, self.shape))}"
        return f"{sizes}-m{model_signature()}-c{code_signature('a')[:8]}"


# model settings added after a demo model was made, whose off value changes nothing it computes
ADDED_OFF = ("grounding_outline",)


def model_signature(name: str = "mg3d-tiny") -> str:
    """Eight hex digits of the named model config's content and of what the model computes
    (``mg3d.FORWARD_REVISION``): a demo model cached before either changed is made again."""
    import hashlib

    from .model.config import get_config
    from .model.mg3d import FORWARD_REVISION

    config = get_config(name).to_dict()
    for key in ADDED_OFF:  # a setting added since, left off, computes what the model did before it
        if not config.get(key):
            config.pop(key, None)
    text = json.dumps({**config, "forward": FORWARD_REVISION}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def cache_root() -> Path:
    return Path(os.environ.get("MG3D_CACHE_DIR") or Path.home() / ".cache" / "napari-mg3d")


def prepare(size: DemoSize | None = None, folder=None, say=None, retrain: bool = False) -> dict:
    """Paths of the demo's manifest, model, segmenter, library and case (made when missing): the
    shipped models unless ``retrain`` or they were made by other code than the present."""
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
    shipped = None if retrain else shipped_models(say)
    training = None  # the manifest the models were trained on here
    if shipped is not None:
        model, segmenter = shipped["model"], shipped["segmenter"]
        say(f"demo: the shipped demo model ({model.parent}; scripts/make_demo_model.sh makes it; "
            "mg3d demo --retrain trains one here)")
        library = folder / f"library-shipped-{shipped['recipe']['sha256']['model'][:8]}"  # one per shipped file
    else:
        training = training_manifest(size, folder, manifest, say)
        model, segmenter = train_models(size, folder, training, say)
        library = folder / "library"
    if not (library / "done").is_file():
        from .inference.library_commands import add_manifest

        say("demo: adding the training cases to a case library ...")
        add_manifest(library, manifest, model, device="auto", split="train",
                     progress=lambda d, n: _line(f"demo: library {d} / {n}"))
        (library / "done").write_text("ok")
        _end_line()
    return {"folder": folder, "manifest": manifest, "training": training, "model": model, "segmenter": segmenter,
            "library": library,
            "case": demo_case(manifest), "shipped": shipped is not None}


def training_manifest(size: DemoSize, folder: Path, manifest: Path, say) -> Path:
    """The models' training manifest: the demo's own (``manifest``) where ``size`` adds no cases;
    else the demo's cases written again with ``size.extra_cases()`` more of seed 0 after them, all
    of those for training (``write_synthetic``'s ``train_from``): the same validation and held-out
    cases, more to train on."""
    extra = size.extra_cases()
    if extra == 0:
        return manifest
    out = folder / "training"
    if not (out / "done").is_file():
        from .data.synth_writer import write_synthetic

        total = size.cases + extra
        say(f"demo: writing {total} cases for training (the demo's {size.cases} again, its held-out ones held out, "
            f"and {extra} more) ...")
        write_synthetic(out, total, seed=0, shape=size.shape, train_from=size.cases,
                        progress=lambda d, n: _line(f"demo: training cases {d} / {n}"))
        (out / "done").write_text(json.dumps(asdict(size)))
        _end_line()
    return out / "manifest.csv"


def shipped_models(say=None) -> dict | None:
    """The shipped model and segmenter when ``recipe.json`` says the present model config, forward
    and generator code made them, and their bytes are the ones it records; else None (said why)."""
    import hashlib

    from .data.synth_writer import code_signature

    say = say or (lambda text: None)
    recipe_file = SHIPPED / "recipe.json"
    if not recipe_file.is_file():
        return None
    recipe = json.loads(recipe_file.read_text())
    if recipe.get("model_signature") != model_signature() or recipe.get("generator") != code_signature("a"):
        say("demo: the shipped demo model was made by other model or generator code than this: training one here")
        return None
    paths = {name: SHIPPED / file for name, file in (("model", "model.safetensors"), ("segmenter", "segmenter.safetensors"))}
    for name, path in paths.items():
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != recipe["sha256"][name]:
            say(f"demo: the shipped {path.name} is missing or not the file recipe.json records: training one here")
            return None
    return {**paths, "recipe": recipe}


def train_models(size: DemoSize, folder: Path, manifest: Path, say) -> tuple[Path, Path]:
    """Pre-train ``mg3d-tiny`` on ``manifest``'s cases (``training_manifest``), then fine-tune organ
    segmentation from it."""
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
    return model, segmenter


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
        shown = None
        while process.poll() is None:
            time.sleep(1.0)
            follower.poll()
            step, total, eta = follower.progress()
            if total and step != shown:  # a line when the step moves, not every second
                shown = step
                eta_text = f" · ETA {format_duration(eta)}" if eta is not None else ""
                _line(f"demo: {kind}: step {step} / {total}{eta_text}")
        follower.poll()  # the last steps, written as the run ended
        step, total, _ = follower.progress()
        if total and step != shown:
            _line(f"demo: {kind}: step {step} / {total}")
    _end_line()
    if process.returncode != 0:
        tail = (out / "log.txt").read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"demo: {kind} failed (exit {process.returncode}): {' | '.join(tail)}")
    (out / "done").write_text("ok")


def _line(text: str) -> None:
    print("\r" + text.ljust(70), end="", file=sys.stderr, flush=True)


def _end_line() -> None:
    print(file=sys.stderr, flush=True)
