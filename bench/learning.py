"""Does MG-3D learn? Pre-train mg3d-tiny on synthetic cases on this CPU within a time budget, then
on held-out synthetic cases: report -> volume retrieval R@1/5/10 (chance 5/N) and zero-shot AUC of
the synthetic findings. Targets (500 cases, 20 min, 100 held out): R@5 >= 0.5, AUC >= 0.8.
Usage: python bench/learning.py [--n 500] [--held-out 100] [--minutes 20] [--out runs/learning]
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
                        help="estimate on this machine: the schedule decays over minutes / this many steps")
    parser.add_argument("--out", default="runs/learning")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weight", action="append", default=[], metavar="LOSS=W",
                        help="override one loss weight of the model config, e.g. --weight findings=3 (repeatable)")
    args = parser.parse_args()
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synthetic import CT_RATE_LABEL
    from napari_mg3d.knowledge.prompts import prompt_set
    from napari_mg3d.model.checkpoint import read_metadata
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.config import load_config
    from napari_mg3d.train.evaluate import evaluate
    from napari_mg3d.train.pretrain import run

    out = Path(args.out)
    t0 = time.time()
    train = synthetic_cases(out / "train", args.n, args.seed, "train")  # a second run reuses them
    test = synthetic_cases(out / "test", args.held_out, args.seed + 1, "test")
    t_data = time.time() - t0
    # the time budget stops training; the schedule warms up and decays over this estimate of steps
    estimate = int(args.minutes * 60 / args.seconds_per_step)
    config = load_config(None, [
        f"manifest={train}", f"out={out / 'run'}", f"batch_size={args.batch}", f"max_steps={estimate}",
        f"lr={args.lr}", "head_lr_scale=1.0", f"warmup_steps={max(1, estimate // 20)}", "log_every=10",
        "checkpoint_every=100", f"seed={args.seed}",
    ])
    for item in args.weight:
        name, _, value = item.partition("=")
        config.model_overrides[f"loss_weights.{name}"] = float(value)
    config.trainer["max_time"] = {"minutes": args.minutes}
    t1 = time.time()
    final = run(config)
    t_train = time.time() - t1
    model = create_model("mg3d-tiny", checkpoint=final, device="cpu")  # its own saved config
    labels = list(CT_RATE_LABEL.values())
    held_out = CaseDataset(test, "synthetic-tiny", split="test", cache_dir=out / "run" / "cache")
    calibration = (read_metadata(final) or {}).get("findings_calibration")
    results = evaluate(model, held_out, labels, [prompt_set(name) for name in labels], calibration)
    metrics = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    last = [m for m in metrics if "loss" in m][-1]
    print(f"mg3d-tiny: {args.n} training cases, {last['step']} steps in {t_train / 60:.1f} min "
          f"(data {t_data:.0f} s); {len(held_out)} held-out cases, chance R@5 = {5 / len(held_out):.2f}")
    print_table(["metric", "value"], [[k, f"{v:.3f}"] for k, v in results.items()])
    (out / "results.json").write_text(json.dumps({"steps": last["step"], "train_minutes": t_train / 60,
                                                  **results}, indent=2))


if __name__ == "__main__":
    main()
