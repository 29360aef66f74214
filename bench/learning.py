"""Does MG-3D learn, beyond its own generator? Pre-train mg3d-tiny on synthetic cases of one
generator family on this CPU within a time budget, with the supervision a user has (finding masks,
organ maps only, or reports alone), then on held-out cases of BOTH families (the same one, and the
other, written apart: other anatomy, intensities and wording): report -> volume retrieval R@1/5/10
(chance 5/N) and zero-shot AUC per finding, for the labels the training reports held (a label the
model never learnt gets no AUC: it would be shown as "not learnt"). Headline: the other family.
Targets (issue 20; 500 cases, 20 min, 100 held out): finding masks R@5 >= 0.6, AUC mean >= 0.9 and
every learnt label >= 0.8; reports alone AUC mean >= 0.85.
Usage: python bench/learning.py [--family a] [--supervision findings] [--n 500] [--held-out 100]
       [--minutes 20] [--seed 0] [--out runs/learning]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table, synthetic_cases  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--held-out", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seconds-per-step", type=float, default=2.0,
                        help="the most steps a run may take: minutes / this; the time budget ends the decay "
                             "(train/schedule.py) and the run")
    parser.add_argument("--out", default="runs/learning")
    parser.add_argument("--family", choices=["a", "b"], default="a", help="generator family trained on")
    parser.add_argument("--supervision", choices=["findings", "organs", "reports", "all", "mixed"],
                        default="findings", help="what the training manifest gives beside the reports")
    parser.add_argument("--data", default=None, help="folder of the cases (default: --out); runs share them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weight", action="append", default=[], metavar="LOSS=W",
                        help="override one loss weight of the model config, e.g. --weight findings=3 (repeatable)")
    parser.add_argument("--model", action="append", default=[], metavar="KEY=JSON",
                        help="override one setting of mg3d-tiny's config, e.g. --model vision.embed_dim=48 (repeatable)")
    args = parser.parse_args()
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synth_writer import family_module
    from napari_mg3d.knowledge.prompts import prompt_set
    from napari_mg3d.model.capabilities import learnt_labels
    from napari_mg3d.model.checkpoint import read_metadata
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.config import load_config
    from napari_mg3d.train.evaluate import evaluate
    from napari_mg3d.train.pretrain import run

    out = Path(args.out)
    data = Path(args.data or args.out)
    families = [args.family, "b" if args.family == "a" else "a"]  # the same family, then the other
    t0 = time.time()
    train = synthetic_cases(data / f"train-{args.family}-{args.supervision}", args.n, args.seed, "train",
                            args.family, args.supervision)  # a second run reuses them
    tests = {f: synthetic_cases(data / f"test-{f}", args.held_out, args.seed + 1, "test", f) for f in families}
    t_data = time.time() - t0
    # the time budget stops training and ends the learning rate's decay (train/time_budget.py); the
    # warm-up is a twentieth of this estimate of steps
    estimate = int(args.minutes * 60 / args.seconds_per_step)
    config = load_config(None, [
        f"manifest={train}", f"out={out / 'run'}", f"batch_size={args.batch}", f"max_steps={estimate}",
        f"lr={args.lr}", "head_lr_scale=1.0", f"warmup_steps={max(1, estimate // 20)}", "log_every=10",
        "checkpoint_every=100", f"seed={args.seed}", f"cache_dir={data / 'cache'}",
    ])
    for item in args.weight:
        name, _, value = item.partition("=")
        config.model_overrides[f"loss_weights.{name}"] = float(value)
    for item in args.model:
        name, _, value = item.partition("=")
        config.model_overrides[name] = json.loads(value)
    config.trainer["max_time"] = {"minutes": args.minutes}
    t1 = time.time()
    final = run(config)
    t_train = time.time() - t1
    model = create_model("mg3d-tiny", checkpoint=final, device="cpu")  # its own saved config
    meta = read_metadata(final) or {}
    learnt = learnt_labels(meta) or set()
    drawn = set(family_module(args.family).CT_RATE_LABEL.values())
    labels = sorted(drawn & set(learnt))  # what the training reports held, both ways
    calibration = meta.get("findings_calibration")
    results = {}
    for family, manifest in tests.items():
        held_out = CaseDataset(manifest, "synthetic-tiny", split="test", cache_dir=data / "cache")
        shown = [name for name in labels if name in set(family_module(family).CT_RATE_LABEL.values())]
        results[family] = evaluate(model, held_out, shown, [prompt_set(name) for name in shown], calibration)
    metrics = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    last = [m for m in metrics if "loss" in m][-1]
    print(f"mg3d-tiny on family {args.family} with {args.supervision}: {args.n} training cases, {last['step']} steps "
          f"in {t_train / 60:.1f} min (data {t_data:.0f} s); {args.held_out} held-out cases per family, chance R@5 = "
          f"{5 / args.held_out:.2f}; {len(labels)} labels learnt: {', '.join(labels)}")
    names = list(dict.fromkeys(k for r in results.values() for k in r))
    header = [f"family {f} ({'same' if f == args.family else 'other'})" for f in families]
    print_table(["metric", *header], [[k, *(f"{results[f].get(k, float('nan')):.3f}" for f in families)]
                                      for k in names])
    (out / "results.json").write_text(json.dumps({
        "steps": last["step"], "train_minutes": t_train / 60, "family": args.family, "supervision": args.supervision,
        "seed": args.seed, "learnt": labels, **{f"test {f}": results[f] for f in families}}, indent=2))


if __name__ == "__main__":
    main()
