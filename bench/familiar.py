"""Out of distribution, said at once: how many volumes of each kind get the line
(``inference.familiarity``) from a checkpoint that keeps its training data's summary: held-out
synthetic cases of the family it trained on (want none), of the other family, and real volumes
(the TotalSegmentator example CT, an abdomen, and its MR; want both).
Usage: python bench/familiar.py CHECKPOINT --same MANIFEST [--other MANIFEST] [--cases 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "totalsegmentator_examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--same", required=True, help="manifest of held-out cases of the training family")
    parser.add_argument("--other", default=None, help="manifest of held-out cases of the other family")
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args()
    from napari_mg3d.inference.encode import load_model
    from napari_mg3d.inference.familiarity import unfamiliar_line
    from napari_mg3d.io.manifest import read_manifest
    from napari_mg3d.io.volume import read_volume

    loaded = load_model(args.checkpoint, "cpu")
    if not loaded.training_data:
        sys.exit(f"{args.checkpoint} keeps no training data summary (written before it was kept)")
    groups = {"held-out, same family": [c.volume for c in read_manifest(args.same)[: args.cases]]}
    if args.other:
        groups["held-out, other family"] = [c.volume for c in read_manifest(args.other)[: args.cases]]
    if SHARED.is_dir():
        groups["TotalSegmentator CT (abdomen)"] = [SHARED / "example_ct_sm.nii.gz"]
        groups["TotalSegmentator MR"] = [SHARED / "example_mr_sm.nii.gz"]
    rows, example = [], {}
    for name, paths in groups.items():
        lines = [unfamiliar_line(loaded, read_volume(p)) for p in paths]
        flagged = [line for line in lines if line]
        example[name] = flagged[0] if flagged else ""
        rows.append([name, len(paths), len(flagged), f"{len(flagged) / len(paths):.2f}"])
    s = loaded.training_data
    print(f"{Path(args.checkpoint).name}: {s['cases']} training cases ({s['modality']}, {s.get('region')}), "
          f"{len(s['centres'])} centres, threshold {s['threshold']:.4f} (the {s['percentile']:.0f}th percentile)")
    print_table(["volumes", "n", "warned", "share"], rows)
    for name, line in example.items():
        if line:
            print(f"{name}: {line}")


if __name__ == "__main__":
    main()
