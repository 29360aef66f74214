"""`mg3d finetune align` from official-layout weights: random values in the official Swin-B key layout
(../shared/reference), converted by `mg3d convert-checkpoint`, then aligned on synthetic cases (the
image encoder frozen, a probe; the offline MiniLM text encoder, since RadBERT's tokenizer is not on
this machine). Held-out report -> volume R@k and zero-shot AUC before (the release's untrained
`itc_head`) and after, side by side.
Usage: python bench/align.py [--train 60] [--held-out 40] [--steps 120] [--out runs/align]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table, synthetic_cases  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mg3d_official_state_dict_swin_b.json"


def official_file(path: Path, seed: int) -> Path:
    """A Lightning checkpoint of random official-layout weights."""
    import torch

    from napari_mg3d.model.official_layout import random_official_state

    torch.save({"state_dict": random_official_state(REFERENCE, seed)}, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=60)
    parser.add_argument("--held-out", type=int, default=40)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out", default="runs/align")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not REFERENCE.is_file():
        sys.exit(f"needs the official key layout at {REFERENCE}")
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synthetic import CT_RATE_LABEL
    from napari_mg3d.knowledge.prompts import prompt_set
    from napari_mg3d.model.checkpoint import read_checkpoint, read_metadata
    from napari_mg3d.model.config import ModelConfig
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.config import load_config
    from napari_mg3d.train.evaluate import evaluate
    from napari_mg3d.train.finetune import FinetuneConfig, run
    from napari_mg3d.train.finetune_align import align_model

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = synthetic_cases(out / "train", args.train, args.seed, "train")
    test = synthetic_cases(out / "test", args.held_out, args.seed + 1, "test")
    converted = out / "official.safetensors"
    if not converted.is_file():
        src = official_file(out / "official.ckpt", args.seed)
        subprocess.run([sys.executable, "-m", "napari_mg3d.cli", "convert-checkpoint", str(src), str(converted)],
                       check=True)
        src.unlink()
    labels = list(CT_RATE_LABEL.values())
    prompts = [prompt_set(name) for name in labels]
    held_out = CaseDataset(test, "ct-rate", split="test", cache_dir=out / "cache")
    state, meta = read_checkpoint(converted)
    t0 = time.time()
    before = evaluate(align_model(ModelConfig.from_dict(meta["model_config"]), state, "minilm-offline").eval(),
                      held_out, labels, prompts)
    t_before = time.time() - t0
    config = load_config(None, [
        "task=align", f"manifest={train}", f"out={out / 'run'}", f"checkpoint={converted}", "mode=probe",
        "text=minilm-offline", f"max_steps={args.steps}", f"batch_size={args.batch}", f"lr={args.lr}",
        f"warmup_steps={max(1, args.steps // 20)}", "log_every=10", "val_every_epochs=1000", "val_max_cases=0",
        f"cache_dir={out / 'cache'}", f"seed={args.seed}",
    ], kind=FinetuneConfig)
    t1 = time.time()
    final = run(config)
    t_align = time.time() - t1
    after = evaluate(create_model("mg3d-swin-b", checkpoint=final, device="cpu").eval(), held_out, labels, prompts,
                     (read_metadata(final) or {}).get("findings_calibration"))
    print(f"mg3d-swin-b from random official-layout weights: finetune align (probe, MiniLM text) on "
          f"{args.train} synthetic cases, {args.steps} steps in {t_align / 60:.1f} min; {len(held_out)} held-out "
          f"cases (chance R@5 = {5 / len(held_out):.2f}); evaluation before took {t_before:.0f} s")
    print_table(["metric", "before (untrained itc_head)", "after finetune align"],
                [[k, f"{before[k]:.3f}", f"{after[k]:.3f}"] for k in before])
    (out / "results.json").write_text(json.dumps({"before": before, "after": after, "steps": args.steps,
                                                  "align_minutes": t_align / 60}, indent=2))


if __name__ == "__main__":
    main()
