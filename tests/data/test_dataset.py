import numpy as np

from napari_mg3d.data.dataset import CaseDataset
from napari_mg3d.data.synth_writer import write_synthetic


def test_items_carry_the_region_masks_of_their_findings_on_request(tmp_path):
    manifest = write_synthetic(tmp_path / "synth", 3, seed=5, shape=(16, 32, 32), split="train")
    plain = CaseDataset(manifest, "synthetic-tiny", cache_dir=tmp_path / "cache")
    grounded = CaseDataset(manifest, "synthetic-tiny", cache_dir=tmp_path / "cache", regions=True)
    assert "regions" not in plain[0] and "regions" not in plain.collate([plain[0], plain[1]])
    items = [grounded[i] for i in range(3)]
    for case, item in zip(grounded.cases, items):
        assert set(item["regions"]) == set(case.regions) and all(case.labels[k] == 1 for k in case.regions)
        for mask in item["regions"].values():
            assert mask.shape == item["volume"].shape[1:] and mask.dtype == np.float32
            assert 0 <= mask.min() and 0 < mask.max() <= 1
    batch = grounded.collate(items)
    assert [set(r) for r in batch["regions"]] == [set(it["regions"]) for it in items]
