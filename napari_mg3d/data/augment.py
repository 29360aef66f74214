"""Training-time augmentation (off by default; ``TrainConfig.augment``): each time a case is drawn,
its volume and every mask of it (finding masks, organ masks) are moved together by a few voxels
of the model's grid, and the volume's values scaled and offset a little. A patient lies a few
centimetres this way or that on the table and scanners differ in calibration; a model that has
seen each training case in one place only can learn where a case's findings lie instead of what
they look like. No flips: a report's 'left' and 'right' would no longer hold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASK_KEYS = ("region_masks", "organ_masks")  # (r, z, y, x) masks of a case item, on the volume's grid


@dataclass(frozen=True)
class Augment:
    seed: int = 0
    shift: int = 3  # voxels of the model's grid along each axis, at most (5.5 mm voxels: 16.5 mm)
    scale: float = 0.05  # the values times 1 +- at most this
    offset: float = 0.02  # plus +- at most this (model inputs in [0, 1]: 40 HU on a 2000 HU window)

    def __call__(self, item: dict, draw: int, stream: int = 0) -> dict:
        """``item`` (``data.dataset.CaseDataset``'s) moved and rescaled; ``draw``: how often this case
        was drawn before by this ``stream`` (a DataLoader worker, which keeps its own count), so each
        draw differs and a run is the same run again."""
        rng = np.random.default_rng([self.seed, int(item["index"]), stream, draw])
        move = rng.integers(-self.shift, self.shift + 1, 3)
        volume = item["volume"]  # (1, z, y, x)
        fill = float(volume.min())
        out = dict(item)
        out["volume"] = moved(volume, move, fill) * (1 + rng.uniform(-self.scale, self.scale)) \
            + rng.uniform(-self.offset, self.offset)
        out["volume"] = out["volume"].astype(np.float32)
        for key in MASK_KEYS:
            if key in item and len(item[key]):
                out[key] = moved(item[key], move, 0.0)
        if "regions" in item:
            out["regions"] = {k: moved(v[None], move, 0.0)[0] for k, v in item["regions"].items()}
        return out


def moved(a: np.ndarray, move, fill: float) -> np.ndarray:
    """(n, z, y, x) ``a`` moved by ``move`` voxels (z, y, x); what comes in from the edge is ``fill``."""
    out = np.full_like(a, fill)
    src, dst = [slice(None)], [slice(None)]
    for m, n in zip(move, a.shape[1:]):
        m = int(m)
        src.append(slice(max(0, -m), n - max(0, m)))
        dst.append(slice(max(0, m), n - max(0, -m)))
    out[tuple(dst)] = a[tuple(src)]
    return out
