"""Make the shipped demo models (``python -m napari_mg3d.demo_make``; ``scripts/make_demo_model.sh``):
the demo's cases from seed 0, ``mg3d pretrain`` and ``mg3d finetune seg`` on them (the commands the
demo runs with ``--retrain``), then the viewer's copies in ``napari_mg3d/demo_model/``: trained
weights only (``checkpoint.slim_copy``), and ``recipe.json`` with what made them, their SHA-256 and
the findings the demo shows for its case, which ``tests/test_demo_model.py`` checks the shipped
file still gives. A remake by the same code on the same torch says whether its bytes are the
shipped ones."""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .demo_assets import SHIPPED, DemoSize, cache_root, demo_case, model_signature, prepare


def demo_findings(model: Path, volume: Path) -> dict:
    """What the Findings widget shows for ``volume``: each learnt label's probability, the others apart."""
    from .inference.analysis import findings
    from .inference.encode import load_model
    from .io.volume import read_volume

    loaded = load_model(model, "cpu")
    probabilities, not_learnt = findings(loaded, read_volume(volume))
    return {"findings": {k: round(v, 4) for k, v in sorted(probabilities.items())}, "not_learnt": sorted(not_learnt)}


def outline_meta(checkpoint: Path, manifest: Path) -> dict:
    """The checkpoint's ``outline_levels``, ``outline_quality`` and ``outline_rule``; for a run written
    before pre-training chose its levels by today's rule (``train.pretrain.OUTLINE_RULE``), chosen on
    the manifest's training cases and measured on its validation cases
    (``inference.outline_quality``), as ``mg3d pretrain`` does."""
    from .inference.encode import load_model
    from .inference.outline_quality import choose_levels, measure
    from .io.manifest import read_manifest
    from .model.checkpoint import read_metadata
    from .train.pretrain import OUTLINE_RULE

    meta = read_metadata(checkpoint) or {}
    if "outline_levels" in meta and meta.get("outline_rule") == OUTLINE_RULE:
        return {k: meta[k] for k in ("outline_levels", "outline_quality", "outline_rule") if k in meta}
    loaded = load_model(checkpoint, "cpu")
    cases = read_manifest(manifest)
    levels = choose_levels(loaded.model, loaded.profile, [c for c in cases if c.split == "train"], rule=OUTLINE_RULE)
    return {"outline_levels": levels, "outline_rule": OUTLINE_RULE, "outline_quality": measure(
        loaded.model, loaded.profile, [c for c in cases if c.split == "val"], levels=levels, rule=OUTLINE_RULE)}


def findings_meta(checkpoint: Path, manifest: Path) -> dict:
    """The checkpoint's findings calibration softened by one temperature on the manifest's
    validation cases, as ``mg3d pretrain`` does (``train.calibrate.temper_findings``), for a run
    written before pre-training did; the run's own record for a run that did (both files carry
    it, as they carry ``outline_meta``'s, so that either way gives the same bytes)."""
    from .data.cache import default_folder
    from .data.dataset import CaseDataset
    from .inference.encode import load_model
    from .io.manifest import read_manifest
    from .knowledge.prompts import default_prompts
    from .model.checkpoint import read_metadata
    from .train.calibrate import temper_findings
    from .train.config import TrainConfig
    from .train.run import tuning_cases

    meta = read_metadata(checkpoint) or {}
    if "findings_temperature" in meta:
        return {k: meta.get(k) for k in ("findings_calibration", "findings_temperature")}
    loaded = load_model(checkpoint, "cpu")
    defaults = TrainConfig(manifest=str(manifest))
    tuning = CaseDataset(None, loaded.model.config.profile, cache_dir=default_folder(),
                         cases=tuning_cases(defaults, read_manifest(manifest)))
    calibration, temperature = temper_findings(loaded.model, tuning, default_prompts(),
                                               meta.get("findings_calibration") or {})
    return {"findings_calibration": calibration, "findings_temperature": temperature}


def make(out: Path = SHIPPED, work: Path | None = None, size: DemoSize | None = None) -> dict:
    from .data.synth_writer import code_signature
    from .model.checkpoint import slim_copy

    size = size or DemoSize()
    work = Path(work or cache_root() / f"demo-make-{size.key()}")
    start = time.monotonic()
    # runs finished earlier in the work folder are reused (only what follows them is made again)
    reused = all((work / run / "done").is_file() for run in ("pretrain", "seg"))
    assets = prepare(size, folder=work, retrain=True)
    out.mkdir(parents=True, exist_ok=True)
    before = json.loads((out / "recipe.json").read_text()) if (out / "recipe.json").is_file() else None
    # the training manifest named as the demo makes it, not by this machine's path
    cases = {"manifest": f"demo cases: mg3d synth seed 0, {size.cases} cases, {'x'.join(map(str, size.shape))}"}
    if size.extra_cases():
        cases["manifest"] += (f"; trained on {size.train_cases} of seed 0 (the demo's own training cases and "
                              f"{size.extra_cases()} after its {size.cases})")
    # a run made before pre-training chose and measured its outlines' levels: here, as it now does
    cases.update(outline_meta(assets["model"], Path(assets["training"])))
    cases.update(findings_meta(assets["model"], Path(assets["training"])))
    files = {"model": slim_copy(assets["model"], out / "model.safetensors", cases),
             "segmenter": slim_copy(assets["segmenter"], out / "segmenter.safetensors", cases)}
    import torch

    case = demo_case(Path(assets["manifest"]))
    recipe = {
        "made_by": "python -m napari_mg3d.demo_make (scripts/make_demo_model.sh)",
        "seed": 0, "size": asdict(size), "model_signature": model_signature(), "generator": code_signature("a"),
        "torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(),
        "minutes": round((time.monotonic() - start) / 60, 1),
        "sha256": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()},
        "megabytes": {name: round(path.stat().st_size / 1e6, 2) for name, path in files.items()},
        "demo_case": {"id": case["id"], "index": int(case["id"].rsplit("-", 1)[1]), "finding": case["finding"]},
        **demo_findings(files["model"], case["volume"]),
    }
    same = ("model_signature", "generator", "size")  # the same recipe (as JSON: the shape a list in both)
    if before and all(before.get(k) == json.loads(json.dumps(recipe[k])) for k in same):
        recipe["same_bytes_as_before"] = before["sha256"] == recipe["sha256"]
        if reused:  # the minutes the runs took, not the finishing
            recipe["minutes"] = before["minutes"]
            recipe["finished_from_earlier_runs_minutes"] = round((time.monotonic() - start) / 60, 1)
    (out / "recipe.json").write_text(json.dumps(recipe, indent=1) + "\n")
    return recipe


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(SHIPPED), help="folder for the models and recipe.json")
    parser.add_argument("--work", default=None, help="folder for the cases and the training runs")
    args = parser.parse_args(argv)
    recipe = make(Path(args.out), Path(args.work) if args.work else None, DemoSize.from_env())
    print(json.dumps({k: recipe[k] for k in ("sha256", "megabytes", "minutes", "findings", "not_learnt")
                      + (("same_bytes_as_before",) if "same_bytes_as_before" in recipe else ())}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
