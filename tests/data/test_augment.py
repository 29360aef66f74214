"""Training draws moved and rescaled: the volume and its masks together, each draw its own, a run
the same run again."""

import numpy as np

from napari_mg3d.data.augment import Augment, moved


def _item(index=3):
    rng = np.random.default_rng(0)
    volume = rng.uniform(0.2, 1.0, (1, 20, 24, 28)).astype(np.float32)
    mask = np.zeros((2, 20, 24, 28), np.float32)
    mask[0, 8:12, 10:14, 12:16] = 1
    mask[1, 5:7, 5:7, 20:22] = 1
    return {"index": index, "volume": volume, "region_masks": mask, "organ_masks": mask[:1].copy(),
            "regions": {"Lung nodule": mask[0].copy()}}


def test_the_volume_and_its_masks_move_together():
    item = _item()
    out = Augment(seed=0, scale=0.0, offset=0.0)(item, 0)
    # unscaled: each mask's voxels land on the same volume values as before the move
    for key in ("region_masks", "organ_masks"):
        for before, after in zip(item[key], out[key]):
            assert after.sum() == before.sum() > 0
            assert np.allclose(np.sort(out["volume"][0][after > 0]), np.sort(item["volume"][0][before > 0]))
    assert (out["regions"]["Lung nodule"] == out["region_masks"][0]).all()
    assert not np.array_equal(out["volume"], item["volume"])  # seed 0, case 3, draw 0 moves it
    assert out["volume"].dtype == np.float32 and out["volume"].shape == item["volume"].shape


def test_each_draw_differs_and_a_run_is_the_same_run_again():
    item = _item()
    first, second = Augment(seed=0)(item, 0), Augment(seed=0)(item, 1)
    assert not np.array_equal(first["volume"], second["volume"])
    assert np.array_equal(first["volume"], Augment(seed=0)(item, 0)["volume"])
    assert not np.array_equal(first["volume"], Augment(seed=1)(item, 0)["volume"])
    # another DataLoader worker's first draw of the case is not this one's
    assert not np.array_equal(first["volume"], Augment(seed=0)(item, 0, stream=1)["volume"])
    # moves stay within the bound; values within the scale and offset
    for draw in range(20):
        out = Augment(seed=0, scale=0.0, offset=0.0)(item, draw)
        zz, yy, xx = np.nonzero(out["region_masks"][0])
        assert abs(zz.min() - 8) <= 3 and abs(yy.min() - 10) <= 3 and abs(xx.min() - 12) <= 3
    out = Augment(seed=0, shift=0)(item, 0)
    assert np.abs(out["volume"] - item["volume"]).max() <= 0.05 * 1.0 + 0.02 + 1e-6
    a, b = np.polyfit(item["volume"].ravel(), out["volume"].ravel(), 1)  # one scale and one offset
    assert abs(a - 1) <= 0.05 and abs(b) <= 0.02 and (a, b) != (1, 0)
    assert np.abs(a * item["volume"] + b - out["volume"]).max() < 1e-5


def test_what_comes_in_from_the_edge_is_the_fill():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    out = moved(a, (1, -2, 0), -1.0)
    assert (out[:, 0] == -1).all() and (out[:, :, 2:] == -1).all()
    assert (out[:, 1:, :2] == a[:, :2, 2:]).all()


def test_a_dataset_applies_it_only_when_asked(tmp_path):
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.io.manifest import Case

    class Memory:
        def __init__(self, volumes):
            self.volumes, self.profile = volumes, None

        def get(self, path):
            return self.volumes[str(path)]

    volume = _item()["volume"][0]
    data = CaseDataset(None, "synthetic-tiny", cases=[Case(id="c", volume="c", report="", labels={}, split="train")])
    data.cache = Memory({"c": volume})
    plain = [data[0]["volume"] for _ in range(2)]
    assert all(np.array_equal(p[0], volume) for p in plain)
    data.augment = Augment(seed=0)
    drawn = [data[0]["volume"] for _ in range(2)]
    assert not np.array_equal(drawn[0], drawn[1])  # the case's second draw is not its first
    assert np.array_equal(drawn[0], Augment(seed=0)({"index": 0, "volume": volume[None]}, 0)["volume"])
