"""The learning bench's recipe for many settings at once, on a machine with a GPU and no SimpleITK:
cases of both generator families made in memory (preprocessed onto the model's grid as the cache
would hold them), the training set with the supervision asked for (finding masks, organ maps only,
reports only), ``PretrainModule``'s own losses in a plain loop (no Lightning trainer; the schedule
of ``train/schedule.py`` for STEPS steps), then what ``bench/learning.py`` reports (R@5, zero-shot AUC
of the learnt labels, calibrated on the training cases) on 100 held-out cases of each family, and
the pointing game on the model's input grid (the peak of each finding-naming sentence's map, upsampled
from its token grid, inside the finding's mask).
Settings side by side on one GPU: bench/learning_sweep.sh (bench/sweeps/*.jsonl).
Usage: python bench/learning_sweep.py make DATA [--n 500] [--held-out 100]   (every case, once)
       python bench/learning_sweep.py train DATA SPEC [--device cuda]   (one setting; prints JSON)
SPEC: JSON with "supervision" (findings | organs | reports), "steps", "batch", "lr", "warmup",
"family" (trained on), "seed", "augment" (true: data.augment's moves and rescaling of each sample
at each step), and model overrides under "model" (e.g. {"loss_weights.regions": 2});
"eval_at": steps at which a copy of the model is assessed too (a learning curve from one run; the
schedule is that of "steps", so the figures at a step are not those of a run as long), "held_out":
test cases per family (100); "assess_train": that many of its own training cases assessed the same
way beside them ("train"; fitted or not: a model that fits its training cases and no held-out ones
has learnt the cases, not the findings); "save": a folder for each assessed model's checkpoint
(model-STEPS.safetensors, calibrated as ``mg3d pretrain`` writes it), "levels_from": the manifest of
the same training cases on disk (``mg3d synth``), where the outline levels are chosen as ``mg3d
pretrain`` chooses them (needs SimpleITK); then ``bench/attention.py`` measures the saved models.
"""

from __future__ import annotations

import copy
import functools
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

PROFILE = "synthetic-tiny"


def make(job):
    """One case, preprocessed: volume, finding masks (region grid), organ label map (label grid)."""
    from napari_mg3d.data.preprocess import preprocess_array
    from napari_mg3d.data.profiles import label_profile, region_profile
    from napari_mg3d.data.synth_writer import case_id, family_module, grid_spacing

    family, seed, i, shape = job
    generator = family_module(family)
    case = generator.make_case(seed * 100_000 + i, shape=shape, spacing_xyz=grid_spacing(shape))
    regions = {generator.CT_RATE_LABEL[f]: preprocess_array(m.astype(np.float32), case.geometry,
                                                            region_profile(PROFILE)).astype(np.float16)
               for f, m in case.findings.items()}
    return {"id": case_id(seed, i, family), "family": family, "report": case.report, "labels": case.labels,
            "volume": preprocess_array(case.image, case.geometry, PROFILE).astype(np.float16),
            "regions": regions,
            "organs": np.rint(preprocess_array(case.organs, case.geometry, label_profile(PROFILE))).astype(np.uint8),
            "organ_names": {int(k): v for k, v in generator.ORGANS.items()}}


def make_all(folder: Path, n: int, held_out: int) -> None:
    from multiprocessing import Pool

    shape = (64, 128, 128)
    jobs = {f"train-{f}": [(f, 0, i, shape) for i in range(n)] for f in "ab"}
    jobs.update({f"test-{f}": [(f, 1, i, shape) for i in range(held_out)] for f in "ab"})
    folder.mkdir(parents=True, exist_ok=True)
    with Pool() as pool:
        for name, todo in jobs.items():
            t = time.time()
            cases = pool.map(make, todo, chunksize=4)
            with open(folder / f"{name}.pkl", "wb") as f:
                pickle.dump(cases, f, protocol=pickle.HIGHEST_PROTOCOL)
            print(f"{name}: {len(cases)} cases in {time.time() - t:.0f} s", flush=True)


class Memory:
    """A volume cache that holds its arrays: ``get(key)``."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def get(self, key):
        return self.arrays[str(key)]


class MemoryOrgans:
    def __init__(self, maps: dict):
        self.maps = maps

    def get(self, case):
        if case.organs is None:
            return {}
        labels = self.maps[str(case.organs)]
        return {name: labels == value for value, name in case.organ_names.items()}


def dataset(cases: list[dict], supervision: str, module=None):
    """A ``CaseDataset`` over cases held in memory, with the supervision asked for."""
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.io.manifest import Case

    rows, volumes, masks, organs = [], {}, {}, {}
    for c in cases:
        volumes[c["id"]] = c["volume"]
        regions = {}
        if supervision in ("findings", "all"):
            for label, m in c["regions"].items():
                regions[label] = Path(f"{c['id']}/{label}")
                masks[str(regions[label])] = m
        organ = None
        if supervision in ("organs", "all"):
            organ = Path(f"{c['id']}/organs")
            organs[str(organ)] = c["organs"]
        rows.append(Case(id=c["id"], volume=Path(c["id"]), report=c["report"], labels=c["labels"], split="train",
                         regions=regions, organs=organ, organ_names=c["organ_names"] if organ else {}))
    kw = {} if module is None else dict(regions=module.wants_regions, text=module.report_inputs(),
                                        organs=module.wants_organs)
    data = CaseDataset(None, PROFILE, cases=rows, **kw)
    data.cache = Memory(volumes)
    if data.regions is not None:
        data.regions = Memory(masks)
    if data.organs is not None:
        data.organs = MemoryOrgans(organs)
    return data


def pointing(model, cases: list[dict], labels: set) -> dict:
    """Pointing game on the model's grid: each finding-naming sentence's map peak inside its mask."""
    import torch
    import torch.nn.functional as F

    from napari_mg3d.inference.attention import sentence_maps
    from napari_mg3d.knowledge.labels import label_report

    device = next(model.parameters()).device
    hits: dict[str, list] = {}
    for c in cases:
        x = torch.from_numpy(c["volume"].astype(np.float32))[None, None].to(device)
        maps = sentence_maps(model, x, c["report"])
        for label, mask in c["regions"].items():
            if label not in labels or mask.max() < 0.5:
                continue
            naming = [m for m in maps if label_report(m.text).get(label) == 1]
            if not naming:
                continue
            grid = torch.from_numpy(np.asarray(naming[0].grid, np.float32))[None, None]
            heat = F.interpolate(grid, size=mask.shape, mode="trilinear", align_corners=False)[0, 0].numpy()
            peak = np.unravel_index(int(heat.argmax()), heat.shape)
            hits.setdefault(label, []).append(bool(mask[peak] >= 0.5))
    per = {k: float(np.mean(v)) for k, v in hits.items()}
    every = [h for v in hits.values() for h in v]
    return {"pointing": float(np.mean(every)) if every else float("nan"),
            **{f"pointing {k}": v for k, v in sorted(per.items())}}


def train(folder: Path, spec: dict, device: str) -> dict:
    import torch
    from lightning.pytorch.utilities import move_data_to_device

    from napari_mg3d.train.config import load_config
    from napari_mg3d.train.module import PretrainModule
    from napari_mg3d.train.schedule import scheduled

    family, supervision = spec.get("family", "a"), spec.get("supervision", "findings")
    steps, batch, lr, seed = spec.get("steps", 300), spec.get("batch", 8), spec.get("lr", 3e-3), spec.get("seed", 0)
    warmup = spec.get("warmup", max(1, steps // 10))
    torch.manual_seed(seed)
    torch.set_float32_matmul_precision("high")
    augment = "true" if spec.get("augment") else "false"
    config = load_config(None, [f"batch_size={batch}", f"max_steps={steps}", f"lr={lr}", "head_lr_scale=1.0",
                                f"warmup_steps={warmup}", f"seed={seed}", f"augment={augment}"])
    config.model_overrides.update(spec.get("model", {}))
    module = PretrainModule(config.to_dict()).to(device)
    train_cases = pickle.loads((folder / f"train-{family}.pkl").read_bytes())
    data = dataset(train_cases, supervision, module)
    optim = scheduled(module.configure_optimizers()["optimizer"], module.config)
    optimizer, schedule = optim["optimizer"], optim["lr_scheduler"]["scheduler"]
    rng = np.random.default_rng(seed)
    order: list[int] = []
    t = time.time()
    log, done, curve, eval_s = [], 0, [], 0.0
    for step in range(steps):
        if time.time() - t - eval_s > spec.get("max_s", float("inf")):  # cut short (the schedule not run out)
            break
        if len(order) < batch:
            order += list(rng.permutation(len(data)))
        idx, order = order[:batch], order[batch:]
        b = move_data_to_device(data.collate([data[i] for i in idx]), device)
        module.train()
        losses = module.losses(b, step)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
        schedule.step()
        done += 1
        if step % 100 == 0:
            print(f"{spec} step {step} {time.time() - t:.0f} s", file=sys.stderr, flush=True)
        if step % 50 == 0 or step == steps - 1:
            log.append({k: round(float(v.detach()), 3) for k, v in losses.items()})
        if done in spec.get("eval_at", ()) and done < steps:
            t_eval = time.time()
            curve.append({"steps_run": done, "train_s": round(t_eval - t - eval_s),
                          **assess(copy.deepcopy(module.model), module, data, train_cases, folder, spec, done)})
            print(json.dumps({"spec": spec, **curve[-1]}), file=sys.stderr, flush=True)
            eval_s += time.time() - t_eval
    seconds = time.time() - t - eval_s
    out = {"spec": spec, "steps_run": done, "train_s": round(seconds), "last_losses": log[-1], "first_losses": log[0]}
    out.update(assess(module.model, module, data, train_cases, folder, spec, done))
    if curve:
        out["curve"] = curve
    return out


def assess(model, module, data, train_cases: list[dict], folder: Path, spec: dict, steps: int) -> dict:
    """Calibrated on the training cases (``model`` changed: pass a copy to go on training), then
    R@k, AUC of the learnt labels and the pointing game on the held-out cases of each family; saved
    when the spec asks."""
    from napari_mg3d.data.synth_writer import family_module
    from napari_mg3d.model.capabilities import MIN_LEARNT
    from napari_mg3d.train.calibrate import calibrate_alignment, calibrate_findings, label_counts

    model = model.eval()
    calibrate_alignment(model, data)
    calibration = calibrate_findings(model, data, module.prompt_sets)
    counts = label_counts([c["report"] for c in train_cases], module.labels)
    learnt = {k for k, v in counts.items() if min(v["positive"], v["negative"]) >= MIN_LEARNT}
    if spec.get("save"):
        save(model, module, data, calibration, spec, steps)
    out = {}
    for f in "ab":
        test = held_out_cases(folder, f)[:spec.get("held_out", 100)]
        shown = sorted(learnt & set(family_module(f).CT_RATE_LABEL.values()))
        out[f"test {f}"] = scores(model, test, shown, calibration)
    if spec.get("assess_train"):
        shown = sorted(learnt & set(family_module(spec.get("family", "a")).CT_RATE_LABEL.values()))
        out["train"] = scores(model, train_cases[:spec["assess_train"]], shown, calibration)
    return out


def scores(model, cases: list[dict], shown: list[str], calibration: dict) -> dict:
    """R@k and the AUC of the ``shown`` labels (``train.evaluate``), and the pointing game, on ``cases``."""
    from napari_mg3d.knowledge.prompts import prompt_set
    from napari_mg3d.train.evaluate import evaluate

    r = evaluate(model, dataset(cases, "reports"), shown, [prompt_set(n) for n in shown], calibration)
    r.update(pointing(model, cases, set(shown)))
    return {k: round(v, 3) for k, v in r.items()}


@functools.cache
def held_out_cases(folder: Path, family: str) -> list[dict]:
    """The held-out cases of ``family``, read once per run (every assessment reads them)."""
    return pickle.loads((folder / f"test-{family}.pkl").read_bytes())


def save(model, module, data, calibration: dict, spec: dict, steps: int) -> Path:
    """The model as ``mg3d pretrain`` exports it (``train.pretrain.what_was_learnt``; outline levels
    where the training cases are on disk), without what only a manifest run knows (held-out outline
    quality, the training data's summary)."""
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.train.pretrain import what_was_learnt

    profile = get_profile(PROFILE)
    levels = {}
    if spec.get("levels_from") and spec.get("supervision", "findings") in ("findings", "all"):
        from napari_mg3d.inference.outline_quality import choose_levels
        from napari_mg3d.io.manifest import read_manifest
        from napari_mg3d.train.pretrain import OUTLINE_RULE

        levels = choose_levels(model, profile, read_manifest(spec["levels_from"]), rule=OUTLINE_RULE)
    path = Path(spec["save"]) / f"model-{steps}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(model, path, profile=profile.to_dict(), prompts=[p.__dict__ for p in module.prompt_sets],
                           extra={"step": steps, "source": "ours", "spec": spec,
                                  **what_was_learnt(module, data, calibration, levels)})


def main() -> None:
    mode, folder = sys.argv[1], Path(sys.argv[2])
    if mode == "make":
        n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else 500
        held_out = int(sys.argv[sys.argv.index("--held-out") + 1]) if "--held-out" in sys.argv else 100
        make_all(folder, n, held_out)
    else:
        device = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cuda"
        print(json.dumps(train(folder, json.loads(sys.argv[3]), device)), flush=True)


if __name__ == "__main__":
    main()
