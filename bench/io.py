"""Reading the real example CT through the plugin against a bare SimpleITK read, side by side.

Target: the plugin costs at most 10% over the bare read.
Usage: python bench/io.py [PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import interleaved, median_ms, print_table  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "totalsegmentator_examples" / "example_ct.nii.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    import SimpleITK as sitk

    from napari_mg3d.plugin.reader import get_volume_reader

    path = args.path
    if not Path(path).exists():
        sys.exit(f"bench/io.py: {path} not found (needs ../shared/data or a PATH)")

    def bare():
        return sitk.GetArrayFromImage(sitk.ReadImage(path))

    def plugin():
        return get_volume_reader(path)(path)

    times = interleaved({"SimpleITK ReadImage + GetArrayFromImage": bare, "napari-mg3d reader": plugin},
                        args.repeat)
    bare_t = times["SimpleITK ReadImage + GetArrayFromImage"]
    rows = []
    for name, t in times.items():
        # each run against the bare read just before it: drift of a noisy machine cancels out
        paired = statistics.median(a / b for a, b in zip(t, bare_t))
        rows.append([name, f"{median_ms(t):.1f}", f"{1000 * min(t):.1f}", f"{100 * (paired - 1):+.1f}%"])
    print(f"{Path(path).name}, {args.repeat} interleaved runs each")
    print_table(["read", "median ms", "min ms", "vs bare (median of paired runs)"], rows)


if __name__ == "__main__":
    main()
