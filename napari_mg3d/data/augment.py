"""Training-time augmentation (off by default; ``TrainConfig.augment``): each sample of a training
step has its volume and every mask of it (finding masks, organ masks) moved together by a few
voxels of the model's grid, and the volume's values scaled and offset a little. A patient lies a
few centimetres this way or that on the table and scanners differ in calibration; a model that has
seen each training case in one place only can learn where a case's findings lie instead of what
they look like. No flips: a report's 'left' and 'right' would no longer hold.

A sample's draw comes from (the run's seed, the step, the sample's index in its dataset), as its
masked-modelling masks do (``model.masking.sample_generators``): the same sample at the same step
is moved alike whatever its batch, however the global batch is split between processes, however
many DataLoader workers read it, and in a run resumed from a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAM = 0xA06  # keeps these draws apart from any other seeded by the same (seed, step, index)


@dataclass(frozen=True)
class Draw:
    move: tuple[int, int, int]  # voxels (z, y, x)
    scale: float
    offset: float


@dataclass(frozen=True)
class Augment:
    seed: int = 0
    shift: int = 3  # voxels of the model's grid along each axis, at most (5.5 mm voxels: 16.5 mm)
    scale: float = 0.05  # the values times 1 +- at most this
    offset: float = 0.02  # plus +- at most this (model inputs in [0, 1]: 40 HU on a 2000 HU window)

    def draw(self, step: int, index: int) -> Draw:
        """The move and rescaling of the sample of dataset index ``index`` at training step ``step``."""
        rng = np.random.default_rng([STREAM, int(self.seed), int(step), int(index)])
        move = rng.integers(-self.shift, self.shift + 1, 3)
        return Draw(tuple(int(m) for m in move), float(1 + rng.uniform(-self.scale, self.scale)),
                    float(rng.uniform(-self.offset, self.offset)))

    def batch(self, batch: dict, step: int) -> dict:
        """A collated batch (``data.dataset.collate``: ``volume`` (b, 1, z, y, x), ``index``, and where
        present ``region_masks`` / ``organ_masks`` (r, z, y, x) with their ``*_slots`` (r, 2): image,
        sentence) with each sample moved and rescaled as ``draw`` says; the input is left as it is."""
        import torch

        draws = [self.draw(step, i) for i in batch["index"].tolist()]
        out = dict(batch)
        volume = batch["volume"]
        out["volume"] = torch.stack([moved(v, d.move, float(v.min())) * d.scale + d.offset
                                     for v, d in zip(volume, draws)]).to(volume.dtype)
        for kind in ("region", "organ"):
            masks, slots = batch.get(f"{kind}_masks"), batch.get(f"{kind}_slots")
            if masks is not None and len(masks):
                out[f"{kind}_masks"] = torch.stack([moved(m[None], draws[int(i)].move, 0.0)[0]
                                                    for m, i in zip(masks, slots[:, 0].tolist())])
        return out


def moved(a, move, fill: float):
    """(n, z, y, x) tensor ``a`` (on any device) moved by ``move`` voxels (z, y, x); what comes in
    from the edge is ``fill``."""
    out = a.new_full(a.shape, fill)
    src, dst = [slice(None)], [slice(None)]
    for m, n in zip(move, a.shape[1:]):
        m = int(m)
        if abs(m) >= n:  # moved wholly out
            return out
        src.append(slice(max(0, -m), n - max(0, m)))
        dst.append(slice(max(0, m), n - max(0, -m)))
    out[tuple(dst)] = a[tuple(src)]
    return out
