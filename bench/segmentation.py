"""Segmentation quality where it matters: a fine-tuned checkpoint (``mg3d finetune seg``) run the
way ``mg3d segment`` runs it (sliding window on the profile's grid, probabilities resampled onto
each volume's own grid), Dice per class against the reference label maps on that original grid.
Usage: python bench/segmentation.py CHECKPOINT MANIFEST [--split val] [--cases 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("manifest")
    parser.add_argument("--split", default="val")
    parser.add_argument("--cases", type=int, default=20)
    args = parser.parse_args()
    from napari_mg3d.data.case_check import check_manifest
    from napari_mg3d.inference.segment import load_segmenter, segment_volume
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.train.finetune_seg import dice_per_class

    cases = [c for c in check_manifest(args.manifest, args.split).cases if c.segmentation][: args.cases]
    net, meta = load_segmenter(args.checkpoint, "cpu")
    classes = meta["classes"]
    scores, seconds = [], []
    for case in cases:
        volume = read_volume(case.volume)
        t = time.perf_counter()
        labels = segment_volume(net, meta, volume)
        seconds.append(time.perf_counter() - t)
        truth = read_volume(case.segmentation).array
        scores.append(dice_per_class(labels, truth, len(classes) + 1))
    scores = np.array(scores)
    rows = [[name, f"{np.nanmean(scores[:, k]):.3f}", f"{np.nanmin(scores[:, k]):.3f}"] for k, name in enumerate(classes)]
    rows.append(["mean", f"{np.nanmean(scores):.3f}", ""])
    print(f"{len(cases)} {args.split} cases, Dice on each volume's own grid, "
          f"{np.median(seconds):.2f} s a volume (median, CPU)")
    print_table(["class", "Dice mean", "Dice min"], rows)


if __name__ == "__main__":
    main()
