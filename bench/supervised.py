"""A reference for the learning bench: what direct supervision learns in the same budget. A plain 3D
CNN (four blocks of two 3x3x3 convolutions, the second of stride 2, 16 to 64 channels, batch norm,
ReLU; maximum and mean pooled; one linear layer to the 18 CT-RATE labels) trained with binary
cross-entropy on the learning bench's preprocessed family training volumes and their labels (no
reports, no masks), then its AUC per label on 100 held-out cases of both families.
Usage: python bench/supervised.py [--family a] [--minutes 10] [--data runs/learning] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table, synthetic_cases  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["a", "b"], default="a")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--data", default="runs/learning", help="the learning bench's --data (cases reused)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.knowledge.labels import CT_RATE_LABELS
    from napari_mg3d.train.evaluate import roc_auc

    torch.manual_seed(args.seed)
    data = Path(args.data)
    families = [args.family, "b" if args.family == "a" else "a"]

    def load(manifest, split):
        ds = CaseDataset(manifest, "synthetic-tiny", split=split, cache_dir=data / "cache")
        x = np.stack([ds.cache.get(c.volume) for c in ds.cases]).astype(np.float32)[:, None]
        y = np.array([[c.labels.get(label, 0) for label in CT_RATE_LABELS] for c in ds.cases], np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)

    x, y = load(synthetic_cases(data / f"train-{args.family}-reports", args.n, args.seed, "train", args.family,
                                "reports"), "train")
    tests = {f: load(synthetic_cases(data / f"test-{f}", 100, args.seed + 1, "test", f), "test") for f in families}

    def block(i, o):
        return nn.Sequential(nn.Conv3d(i, o, 3, padding=1), nn.BatchNorm3d(o), nn.ReLU(),
                             nn.Conv3d(o, o, 3, padding=1, stride=2), nn.BatchNorm3d(o), nn.ReLU())

    features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 64))
    head = nn.Linear(128, len(CT_RATE_LABELS))

    def logits(v):
        z = features(v)
        return head(torch.cat([z.amax((2, 3, 4)), z.mean((2, 3, 4))], 1))

    optimizer = torch.optim.Adam([*features.parameters(), *head.parameters()], 1e-3)
    rng = np.random.default_rng(args.seed)
    start, steps = time.time(), 0
    while time.time() - start < args.minutes * 60:
        idx = rng.choice(len(x), 8, replace=False)
        loss = F.binary_cross_entropy_with_logits(logits(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    features.eval()
    results = {}
    with torch.no_grad():
        for f, (xt, yt) in tests.items():
            p = torch.cat([logits(xt[i:i + 16]) for i in range(0, len(xt), 16)]).numpy()
            results[f] = {label: roc_auc(p[:, j], yt[:, j].numpy()) for j, label in enumerate(CT_RATE_LABELS)}
            shown = [v for v in results[f].values() if not np.isnan(v)]
            results[f]["mean"] = float(np.mean(shown))
    print(f"a 3D CNN on family {args.family}'s labels: {len(x)} cases, {steps} steps of batch 8 in "
          f"{(time.time() - start) / 60:.1f} min; AUC on 100 held-out cases per family")
    print_table(["label", *(f"family {f}" for f in families)],
                [[k, *(f"{results[f][k]:.3f}" for f in families)] for k in [*CT_RATE_LABELS, "mean"]])


if __name__ == "__main__":
    main()
