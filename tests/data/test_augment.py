"""Training samples moved and rescaled: the volume and its masks together, each sample's draw from
(seed, step, its index) alone, whatever its batch."""

import numpy as np
import torch

from napari_mg3d.data.augment import Augment, moved

SHAPE = (20, 24, 28)


def _batch(indices=(3, 5)):
    """A collated batch of ``indices``: random volumes, two region masks of the first sample, one of
    the second, one organ mask of the second."""
    rng = np.random.default_rng(0)
    volume = torch.from_numpy(rng.uniform(0.2, 1.0, (len(indices), 1, *SHAPE)).astype(np.float32))
    masks = torch.zeros(3, *SHAPE)
    masks[0, 8:12, 10:14, 12:16] = 1
    masks[1, 5:7, 5:7, 20:22] = 1
    masks[2, 10:15, 3:6, 3:9] = 1
    return {"index": torch.tensor(indices), "volume": volume,
            "region_slots": torch.tensor([[0, 0], [0, 2], [1, 1]]), "region_masks": masks,
            "organ_slots": torch.tensor([[1, 3]]), "organ_masks": masks[2:].clone()}


def test_each_sample_and_its_masks_move_together():
    batch = _batch()
    out = Augment(seed=0, scale=0.0, offset=0.0).batch(batch, step=4)
    # unscaled: each mask's voxels land on the same values of its own sample's volume as before
    for kind in ("region", "organ"):
        for (image, _), before, after in zip(batch[f"{kind}_slots"].tolist(), batch[f"{kind}_masks"],
                                             out[f"{kind}_masks"]):
            assert after.sum() == before.sum() > 0
            assert torch.equal(out["volume"][image, 0][after > 0].sort().values,
                               batch["volume"][image, 0][before > 0].sort().values)
    assert not torch.equal(out["volume"], batch["volume"])  # seed 0, step 4 moves them
    assert out["volume"].dtype == torch.float32 and out["volume"].shape == batch["volume"].shape
    assert torch.equal(batch["volume"], _batch()["volume"])  # the batch given is left as it was


def test_a_samples_draw_depends_on_seed_step_and_index_only():
    augment = Augment(seed=0)
    pair = augment.batch(_batch((3, 5)), step=7)
    alone = augment.batch({"index": torch.tensor([5]), "volume": _batch((3, 5))["volume"][1:]}, step=7)
    assert torch.equal(pair["volume"][1], alone["volume"][0])  # the same in another batch, at another place
    assert augment.draw(7, 5) == augment.draw(7, 5)
    assert augment.draw(7, 5) != augment.draw(8, 5)
    assert augment.draw(7, 5) != augment.draw(7, 3)
    assert augment.draw(7, 5) != Augment(seed=1).draw(7, 5)
    draws = [augment.draw(step, 2) for step in range(200)]
    assert all(abs(m) <= 3 for d in draws for m in d.move) and {m for d in draws for m in d.move} == set(range(-3, 4))
    assert all(0.95 <= d.scale <= 1.05 and -0.02 <= d.offset <= 0.02 for d in draws)


def test_one_scale_and_one_offset_per_volume():
    batch = _batch()
    out = Augment(seed=0, shift=0).batch(batch, step=1)
    for i, index in enumerate(batch["index"].tolist()):
        d = Augment(seed=0, shift=0).draw(1, index)
        assert d.move == (0, 0, 0)
        a, b = np.polyfit(batch["volume"][i].numpy().ravel(), out["volume"][i].numpy().ravel(), 1)
        assert abs(a - d.scale) < 1e-5 and abs(b - d.offset) < 1e-5 and (d.scale, d.offset) != (1, 0)


def test_what_comes_in_from_the_edge_is_the_fill():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    out = moved(torch.from_numpy(a), (1, -2, 0), -1.0).numpy()
    assert (out[:, 0] == -1).all() and (out[:, :, 2:] == -1).all()
    assert (out[:, 1:, :2] == a[:, :2, 2:]).all()
    assert (moved(torch.from_numpy(a), (0, 4, 0), -1.0) == -1).all()  # moved wholly out of the grid
