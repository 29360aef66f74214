"""A reference for the learning bench: what direct supervision learns in the same budget. A plain 3D
CNN (blocks of two 3x3x3 convolutions, the first of stride 2, 16 to 64 channels, batch norm, ReLU;
maximum and mean pooled; one linear layer to the 18 CT-RATE labels) trained with binary
cross-entropy on the learning bench's preprocessed training volumes and their labels (no reports),
then its AUC per label on 100 held-out cases of both families.
``--masks``: the finding masks too, as densely as they come: a decoder back to half the input grid
(skip connections, a U-Net) learns each finding's mask voxel by voxel (binary cross-entropy, the
masks max-pooled so that a one-voxel nodule stays), and a label's score is the pooled head's logit
plus its map's log-sum-exp (``--score lse``) or maximum (``max``: a lone voxel counts alone), each
asked for printed: the most a case's masks can teach a network of this size per step.
``--assess-train N``: N of its training cases assessed the same way (fitted, or not). ``--eval-at M ...``:
minutes at which it is assessed too (a learning curve from one run).
``--generate N``: N training cases made in memory as ``bench/learning_sweep.py make`` makes them (the
same first cases), each kept as its volume, labels and masks on half the grid: how far more distinct
cases carry the same budget.
Usage: python bench/supervised.py [--family a] [--minutes 10] [--data runs/learning] [--seed 0]
       python bench/supervised.py --made DIR [--masks] ...   (cases of ``bench/learning_sweep.py make``)
       python bench/supervised.py --made DIR --generate 2000 --masks ...
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table, synthetic_cases  # noqa: E402


def disk_cases(data: Path, family: str, n: int, seed: int, split: str, masks: bool):
    """(volume, labels, finding masks) of each case written by ``mg3d synth`` and preprocessed by
    the cache, in the learning bench's folders (its cases reused)."""
    from napari_mg3d.data.dataset import CaseDataset

    if split == "train":
        supervision = "findings" if masks else "reports"
        manifest = synthetic_cases(data / f"train-{family}-{supervision}", n, seed, split, family,
                                   supervision)
    else:
        manifest = synthetic_cases(data / f"test-{family}", n, seed + 1, split, family)
    ds = CaseDataset(manifest, "synthetic-tiny", split=split, cache_dir=data / "cache", regions=masks)
    return [(item["volume"][0], item["labels"], item.get("regions", {})) for item in ds]


def made_cases(folder: Path, name: str, n: int | None):
    """The same from the learning sweep's cases made in memory (``bench/learning_sweep.py make``)."""
    with open(folder / f"{name}.pkl", "rb") as f:
        cases = pickle.load(f)[:n]
    return [(c["volume"], c["labels"], c["regions"]) for c in cases]


def compact(job):
    """One case of ``learning_sweep.make``, its masks max-pooled onto half the grid (as ``tensors``)."""
    import learning_sweep

    c = learning_sweep.make(job)
    half = {name: pooled(r) for name, r in c["regions"].items()}
    return c["volume"], c["labels"], half


def pooled(mask) -> np.ndarray:
    """A mask max-pooled by 2 along each axis and thresholded at 0.5 (uint8)."""
    r = np.asarray(mask, np.float32)
    d, h, w = (s // 2 for s in r.shape)
    return (r[:2 * d, :2 * h, :2 * w].reshape(d, 2, h, 2, w, 2).max((1, 3, 5)) > 0.5).astype(np.uint8)


def generated_cases(family: str, n: int, seed: int = 0):
    from multiprocessing import Pool

    with Pool() as pool:
        return pool.map(compact, [(family, seed, i, (64, 128, 128)) for i in range(n)], chunksize=8)


def tensors(cases, labels, masks: bool):
    import torch

    x = torch.from_numpy(np.stack([v for v, _, _ in cases]).astype(np.float32)[:, None])
    y = torch.tensor([[lab.get(name, 0) for name in labels] for _, lab, _ in cases], dtype=torch.float32)
    if not masks:
        return x, y, None
    m = torch.zeros(len(cases), len(labels), *(s // 2 for s in x.shape[2:]), dtype=torch.uint8)
    for i, (_, _, regions) in enumerate(cases):
        for name, r in regions.items():
            if name in labels:
                r = np.asarray(r)
                m[i, labels.index(name)] = torch.from_numpy(r if r.shape == m.shape[2:] else pooled(r))
    return x, y, m


def network(n_labels: int, masks: bool):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def conv(i, o, stride=1):
        return nn.Sequential(nn.Conv3d(i, o, 3, stride, 1), nn.BatchNorm3d(o), nn.ReLU())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.ModuleList([nn.Sequential(conv(i, o, 2), conv(o, o))
                                       for i, o in [(1, 16), (16, 32), (32, 64), (64, 64)]])
            self.head = nn.Linear(128, n_labels)
            if masks:
                self.up = nn.ModuleList([conv(64 + 64, 64), conv(64 + 32, 32), conv(32 + 16, 16)])
                self.out = nn.Conv3d(16, n_labels, 1)

        def forward(self, v):
            skips = []
            for block in self.down:
                v = block(v)
                skips.append(v)
            logits = self.head(torch.cat([v.amax((2, 3, 4)), v.mean((2, 3, 4))], 1))
            if not masks:
                return logits, None
            for block, skip in zip(self.up, reversed(skips[:-1])):
                v = block(torch.cat([F.interpolate(v, size=skip.shape[2:]), skip], 1))
            return logits, self.out(v)

    return Net()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["a", "b"], default="a")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--n", type=int, default=500, help="training cases (the first n of --made's)")
    parser.add_argument("--data", default="runs/learning", help="the learning bench's --data (cases reused)")
    parser.add_argument("--made", default=None, help="a folder of bench/learning_sweep.py make instead")
    parser.add_argument("--masks", action="store_true", help="learn the finding masks voxel by voxel too")
    parser.add_argument("--score", nargs="+", choices=["lse", "max"], default=["lse"],
                        help="how a finding's map scores a case (--masks): log-sum-exp, maximum")
    parser.add_argument("--generate", type=int, default=0, help="training cases made in memory instead")
    parser.add_argument("--assess-train", type=int, default=0)
    parser.add_argument("--eval-at", type=float, nargs="*", default=[], help="minutes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.generate and not args.made:
        parser.error("--generate needs --made (its held-out cases)")
    import torch
    import torch.nn.functional as F

    from napari_mg3d.inference.metrics import roc_auc
    from napari_mg3d.knowledge.labels import CT_RATE_LABELS

    labels = list(CT_RATE_LABELS)
    torch.manual_seed(args.seed)
    families = [args.family, "b" if args.family == "a" else "a"]
    if args.made:
        train = (generated_cases(args.family, args.generate) if args.generate
                 else made_cases(Path(args.made), f"train-{args.family}", args.n))
        tests = {f: made_cases(Path(args.made), f"test-{f}", 100) for f in families}
    else:
        data = Path(args.data)
        train = disk_cases(data, args.family, args.n, args.seed, "train", args.masks)
        tests = {f: disk_cases(data, f, 100, args.seed, "test", False) for f in families}
    x, y, m = tensors(train, labels, args.masks)
    sets = {f"family {f}": tensors(c, labels, False) for f, c in tests.items()}
    if args.assess_train:
        sets["own training cases"] = (x[:args.assess_train], y[:args.assess_train], None)
    net = network(len(labels), args.masks)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    what = "labels and finding masks (a U-Net)" if args.masks else "labels"

    def scores(v, rule):
        logits, maps = net(v)
        if maps is None:
            return logits
        return logits + (torch.logsumexp(maps.flatten(2), 2) if rule == "lse" else maps.flatten(2).amax(2))

    def assess(steps, minutes):
        net.eval()
        for rule in args.score if args.masks else ["pooled"]:
            results = {}
            with torch.no_grad():
                for name, (xt, yt, _) in sets.items():
                    p = torch.cat([scores(xt[i:i + 16], rule) for i in range(0, len(xt), 16)]).numpy()
                    results[name] = {label: roc_auc(p[:, j], yt[:, j].numpy())
                                     for j, label in enumerate(labels)}
                    shown = [v for v in results[name].values() if not np.isnan(v)]
                    results[name]["mean"] = float(np.mean(shown))
                    results[name]["labels >= 0.8"] = f"{sum(v >= 0.8 for v in shown)} of {len(shown)}"
            print(f"a 3D CNN on family {args.family}'s {what}: {len(x)} cases, {steps} steps of batch 8 in "
                  f"{minutes:.1f} min; AUC per label, score: {rule}")
            print_table(["label", *sets], [[k, *(v if isinstance(v := results[s][k], str) else f"{v:.3f}"
                                                 for s in sets)] for k in [*labels, "mean", "labels >= 0.8"]])
            print(flush=True)
        net.train()

    rng = np.random.default_rng(args.seed)
    todo = sorted(at for at in args.eval_at if at < args.minutes)
    steps, spent = 0, 0.0  # spent: training minutes, not counting assessments
    while spent < args.minutes:
        t = time.time()
        idx = torch.from_numpy(rng.choice(len(x), 8, replace=False))
        logits, maps = net(x[idx])
        loss = F.binary_cross_entropy_with_logits(logits, y[idx])
        if maps is not None:  # masks are sparse: a finding's voxel weighs as ten of its background's
            loss = loss + F.binary_cross_entropy_with_logits(maps, m[idx].float(),
                                                             pos_weight=torch.tensor(10.0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
        spent += (time.time() - t) / 60
        if todo and spent >= todo[0]:
            todo.pop(0)
            assess(steps, spent)
    assess(steps, spent)


if __name__ == "__main__":
    main()
