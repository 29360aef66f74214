"""The ct-rate preprocessing: ours (one resampling pass) against the same steps as MONAI transforms,
and against just decompressing and reading the file, side by side (interleaved runs).

Targets: at least 2x faster than the MONAI chain, within 1.5x of the bare read.
Usage: python bench/preprocess.py [PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import interleaved, median_ms, print_table  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "totalsegmentator_examples" / "example_ct.nii.gz"


def monai_chain(profile):
    """Load, orient (LPS), resample to the profile's spacing, window to [0, 1], centre crop by the
    profile's fractions, resize, put the axes in the encoder's order."""
    import numpy as np
    from monai.transforms import (
        CenterSpatialCrop, Compose, EnsureChannelFirst, Lambda, LoadImage, Orientation, Resize,
        ScaleIntensityRange, Spacing,
    )

    lo, hi = profile.window

    def crop(x):
        roi = [max(1, int(np.floor(s * f))) for s, f in zip(x.shape[1:], profile.crop)]
        return CenterSpatialCrop(roi)(x)

    return Compose([
        LoadImage(image_only=True, reader="NibabelReader"),
        EnsureChannelFirst(),
        Orientation(axcodes="LPS"),
        Spacing(pixdim=profile.spacing, mode="bilinear"),
        ScaleIntensityRange(a_min=lo, a_max=hi, b_min=0.0, b_max=1.0, clip=True),
        Lambda(crop),
        Resize(spatial_size=profile.size, mode="trilinear"),
        Lambda(lambda x: x[0].permute(1, 2, 0)),  # (x, y, z) -> encoder order (y, z, x)
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    import SimpleITK as sitk

    from napari_mg3d.data.preprocess import preprocess_file
    from napari_mg3d.data.profiles import get_profile

    path = args.path
    if not Path(path).exists():
        sys.exit(f"bench/preprocess.py: {path} not found (needs ../shared/data or a PATH)")
    profile = get_profile("ct-rate")
    chain = monai_chain(profile)
    warnings.filterwarnings("ignore")
    runs = {
        "bare read (SimpleITK + array)": lambda: sitk.GetArrayFromImage(sitk.ReadImage(path)),
        "napari-mg3d ct-rate (read + one pass)": lambda: preprocess_file(path, profile),
        "MONAI transforms, same steps": lambda: chain(path),
    }
    shapes = {name: tuple(fn().shape) for name, fn in runs.items()}
    times = interleaved(runs, args.repeat)
    bare, ours = times["bare read (SimpleITK + array)"], times["napari-mg3d ct-rate (read + one pass)"]
    rows = []
    for name, t in times.items():
        rows.append([name, "x".join(map(str, shapes[name])), f"{median_ms(t):.1f}",
                     f"{statistics.median(a / b for a, b in zip(t, bare)):.2f}x",
                     f"{statistics.median(a / b for a, b in zip(t, ours)):.2f}x"])
    print(f"{Path(path).name}, {args.repeat} interleaved runs each; ratios are medians of paired runs")
    print_table(["pipeline", "output", "median ms", "vs bare read", "vs ours"], rows)


if __name__ == "__main__":
    main()
