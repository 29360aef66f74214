"""The training data's summary a checkpoint keeps, and the out-of-distribution line it gives."""

import numpy as np

from napari_mg3d.model.familiar import summarise, unfamiliar


def _cloud(rng, centre, n, spread=0.15):
    x = centre + spread * rng.normal(size=(n, len(centre)))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_held_out_cases_of_the_training_distribution_pass_and_others_are_named():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    train = np.concatenate([_cloud(rng, c, 150) for c in centres])
    summary = summarise(train, "CT", "synthetic-tiny", "chest")
    assert len(summary["centres"]) <= 16 and summary["cases"] == 450 and summary["region"] == "chest"
    held_out = np.concatenate([_cloud(rng, c, 40) for c in centres])
    flagged = sum(unfamiliar(summary, v, "CT") is not None for v in held_out)
    assert flagged <= 0.05 * len(held_out), flagged  # the 99th percentile, measured on cases fit without
    other = rng.normal(size=32)
    stranger = _cloud(rng, other / np.linalg.norm(other), 20)
    lines = [unfamiliar(summary, v, "CT") for v in stranger]
    assert all(lines) and "unlike its 450 training cases (chest)" in lines[0]
    assert "looks like MR" in unfamiliar(summary, held_out[0], "MR")
    assert unfamiliar(None, stranger[0], "MR") is None  # a checkpoint without a summary says nothing
    assert unfamiliar(summary, held_out[0], "unknown") == unfamiliar(summary, held_out[0], "CT")  # no guess: no line


def test_a_volume_holding_other_tissues_is_named_by_its_histogram():
    """Chest-like inputs (a share of lung-dark voxels) against an abdomen-like one (none), whatever
    the embedding says: the histogram of the model input's values is checked first."""
    from napari_mg3d.model.familiar import histogram

    rng = np.random.default_rng(1)

    def chest():
        return np.concatenate([rng.uniform(0.0, 0.1, 3000 + rng.integers(-300, 300)), rng.uniform(0.45, 0.6, 5000)])

    train = np.stack([histogram(chest()) for _ in range(200)])
    embeddings = _cloud(rng, np.eye(8)[0], 200)
    summary = summarise(embeddings, "CT", "synthetic-tiny", "chest", train)
    assert sum(unfamiliar(summary, embeddings[0], "CT", histogram(chest())) is not None for _ in range(40)) <= 2
    abdomen = histogram(rng.uniform(0.45, 0.6, 8000))
    line = unfamiliar(summary, embeddings[0], "CT", abdomen)
    assert line and "intensities are unlike its 200 chest training cases'" in line
