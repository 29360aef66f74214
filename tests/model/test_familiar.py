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
