"""What a checkpoint's training volumes looked like, kept compact in its metadata, and whether a
new volume is like them (numpy only).

The summary (``summarise``): the modality and profile the training volumes were given in, the body
region their reports spoke of, the spread of their model inputs' values (a histogram: a volume of
another body region or scan holds other tissues, whether or not the model has learnt to tell), and
their image embeddings (unit vectors of the unimodal image
vector, ``MG3D.image_vector``) as a few k-means centres with the 99th percentile of the training
cases' cosine distance to their nearest centre, each case measured against centres fit without it
(two halves, each against the other's centres: a new case is never one the centres were fit to). A volume is unfamiliar (``unfamiliar``) when its
modality differs, when its histogram lies farther from theirs (L1) than 99 in 100 of them do, or
when its embedding lies farther from every centre than that percentile (one
training case in a hundred does): a volume unlike anything the model was trained on, on which its
findings and maps mean nothing."""

from __future__ import annotations

import numpy as np

PERCENTILE = 99.0
MAX_CENTRES = 16
BINS = 16  # of the model input's values in [0, 1]: air, lung, fat, soft tissue, bone on a CT window


def histogram(x) -> np.ndarray:
    """(BINS,) share of a model input's voxels in each value bin: what the volume holds (an abdomen
    has little lung, an MR another spread), whatever the model has learnt to see."""
    values = np.clip(np.asarray(x, np.float32).ravel(), 0.0, 1.0)
    counts = np.bincount(np.minimum((values * BINS).astype(np.int64), BINS - 1), minlength=BINS)
    return counts / max(1, counts.sum())


def _histogram_spread(h: np.ndarray) -> tuple[np.ndarray, float]:
    """Mean histogram and the 99th percentile L1 distance to it, each half against the other's mean."""
    half = np.random.default_rng(1).permutation(len(h)) < len(h) // 2
    if half.sum() == 0 or (~half).sum() == 0:
        return h.mean(0), float(np.abs(h - h.mean(0)).sum(1).max())
    d = np.concatenate([np.abs(h[half] - h[~half].mean(0)).sum(1), np.abs(h[~half] - h[half].mean(0)).sum(1)])
    return h.mean(0), float(np.percentile(d, PERCENTILE))


def kmeans(x: np.ndarray, k: int, seed: int = 0, rounds: int = 30) -> np.ndarray:
    """(k, d) centres of the rows of ``x`` (unit vectors; cosine k-means, k-means++ start)."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = 1 - np.max(x @ np.stack(centres).T, 1)
        p = np.clip(d, 0, None)
        centres.append(x[rng.choice(len(x), p=p / p.sum())] if p.sum() > 0 else x[rng.integers(len(x))])
    c = np.stack(centres)
    for _ in range(rounds):
        near = np.argmax(x @ c.T, 1)
        new = np.stack([x[near == j].mean(0) if (near == j).any() else c[j] for j in range(k)])
        new /= np.linalg.norm(new, axis=1, keepdims=True).clip(1e-12)
        if np.allclose(new, c):
            break
        c = new
    return c


def distance(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Cosine distance of each row of ``x`` to its nearest centre."""
    x = x / np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-12)
    return 1 - np.max(np.atleast_2d(x) @ np.asarray(centres).T, 1)


def summarise(embeddings: np.ndarray, modality: str, profile: str, region: str | None,
              histograms: np.ndarray | None = None) -> dict:
    """The training data's summary for the checkpoint's metadata (a few KB); ``histograms``: (n,
    BINS) of the same cases' model inputs (``histogram``)."""
    x = np.asarray(embeddings, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
    k = int(max(1, min(MAX_CENTRES, len(x) // 8)))
    centres = kmeans(x, k)
    if len(x) >= 2:  # each half against the centres of the other
        half = np.random.default_rng(0).permutation(len(x)) < len(x) // 2
        k_half = int(max(1, min(k, half.sum() // 8, (~half).sum() // 8)))
        spread = np.concatenate([distance(x[half], kmeans(x[~half], k_half)),
                                 distance(x[~half], kmeans(x[half], k_half))])
    else:
        spread = distance(x, centres)
    out = {"modality": modality, "profile": profile, "region": region, "cases": int(len(x)),
           "centres": np.round(centres, 5).tolist(), "threshold": float(np.percentile(spread, PERCENTILE)),
           "percentile": PERCENTILE}
    if histograms is not None and len(histograms):
        mean, limit = _histogram_spread(np.asarray(histograms, np.float64))
        out["histogram"], out["histogram_threshold"] = np.round(mean, 6).tolist(), limit
    return out


def unfamiliar(summary: dict | None, embedding: np.ndarray | None, modality: str | None,
               values: np.ndarray | None = None) -> str | None:
    """One line saying how a volume falls outside the training data, or None (in it, or the
    checkpoint keeps no summary). ``values``: the volume's ``histogram``, checked before the
    embedding (it holds whatever the model has or has not learnt to see)."""
    if not summary:
        return None
    trained = summary.get("modality")
    if modality and modality not in ("unknown", None) and trained and not modality.upper().startswith(trained):
        return (f"outside this model's training data: the volume looks like {modality}, the model was trained "
                f"on {trained} only; its findings and maps mean nothing here")
    if values is not None and summary.get("histogram"):
        d = float(np.abs(np.asarray(values) - np.asarray(summary["histogram"])).sum())
        if d > summary["histogram_threshold"]:
            where = f" {summary['region']}" if summary.get("region") else ""
            return (f"outside this model's training data: the volume's intensities are unlike its {summary['cases']}"
                    f"{where} training cases' (another body region or scan: L1 {d:.2f} > their "
                    f"{summary['percentile']:.0f}th percentile {summary['histogram_threshold']:.2f}); its findings and "
                    f"maps may mean nothing here")
    if embedding is not None and summary.get("centres"):
        d = float(distance(np.asarray(embedding, np.float64).reshape(1, -1), np.asarray(summary["centres"]))[0])
        if d > summary["threshold"]:
            where = f" ({summary['region']})" if summary.get("region") else ""
            return (f"outside this model's training data: the volume is unlike its {summary['cases']} training "
                    f"cases{where} (distance {d:.3f} > their {summary['percentile']:.0f}th percentile "
                    f"{summary['threshold']:.3f}); its findings and maps may mean nothing here")
    return None
