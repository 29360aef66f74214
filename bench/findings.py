"""Findings a clinician can read: per label, on held-out cases, whether the checkpoint learnt it, and
for those it did the AUC and the expected calibration error (ECE: the mean |observed rate - mean
probability| over 10 equal-width probability bins, weighted by the cases in each), with the
reliability table of the labels pooled; the others must get no probability at all. Each volume goes
through ``inference.analysis.findings``, what `mg3d zeroshot` and the Findings widget run.

Usage: python bench/findings.py CHECKPOINT HELD_OUT_MANIFEST [--cases 100]
(e.g. the learning bench's DIR/run/model.safetensors and DIR/test/manifest.csv)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402

BINS = 10


def ece(probs: np.ndarray, truth: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error over ``bins`` equal-width bins of the probabilities."""
    which = np.minimum((probs * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(truth[inside].mean() - probs[inside].mean())
    return float(total / len(probs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("manifest")
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    import torch

    from napari_mg3d.inference.analysis import findings
    from napari_mg3d.inference.encode import load_model
    from napari_mg3d.inference.metrics import roc_auc
    from napari_mg3d.io.manifest import read_manifest
    from napari_mg3d.io.volume import read_volume

    torch.set_grad_enabled(False)
    loaded = load_model(args.checkpoint, "cpu")
    cases = read_manifest(args.manifest)[: args.cases]
    rows, not_learnt, shown = [], None, set()
    for case in cases:
        probabilities, apart = findings(loaded, read_volume(case.volume))
        not_learnt = apart if not_learnt is None else not_learnt
        assert apart == not_learnt and not set(probabilities) & set(apart)
        shown |= set(probabilities)
        rows.append((probabilities, case.labels))
    learnt = sorted(shown)
    table, pooled_p, pooled_t = [], [], []
    for label in learnt:
        p = np.array([r[0][label] for r in rows])
        t = np.array([r[1].get(label, 0) for r in rows], float)
        pooled_p.append(p)
        pooled_t.append(t)
        counts = (loaded.learnt or {}).get(label, {})
        table.append([label, counts.get("positive", "?"), counts.get("negative", "?"), int(t.sum()), len(t),
                      f"{roc_auc(p, t):.3f}", f"{ece(p, t):.3f}", f"{p.mean():.3f}", f"{t.mean():.3f}"])
    print(f"{args.checkpoint}: {len(cases)} held-out cases of {args.manifest}")
    print_table(["learnt label", "train +", "train -", "held-out +", "cases", "AUC", "ECE", "mean p", "rate"], table)
    p, t = np.concatenate(pooled_p), np.concatenate(pooled_t)
    which = np.minimum((p * BINS).astype(int), BINS - 1)
    print("\nreliability, learnt labels pooled")
    print_table(["probability bin", "predictions", "mean p", "observed rate"],
                [[f"{b / BINS:.1f}-{(b + 1) / BINS:.1f}", int((which == b).sum()),
                  f"{p[which == b].mean():.3f}" if (which == b).any() else "",
                  f"{t[which == b].mean():.3f}" if (which == b).any() else ""] for b in range(BINS)])
    print(f"\npooled ECE {ece(p, t):.3f}; labels given no probability (not learnt): {len(not_learnt or [])}: "
          f"{', '.join(not_learnt or [])}")


if __name__ == "__main__":
    main()
