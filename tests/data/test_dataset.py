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
            assert 0 <= mask.min() and mask.max() <= 1
        # a finding smaller than the model's voxel may come out empty (it then asks nothing)
        assert not item["regions"] or max(m.max() for m in item["regions"].values()) > 0
    batch = grounded.collate(items)
    assert [set(r) for r in batch["regions"]] == [set(it["regions"]) for it in items]


import pytest  # noqa: E402


@pytest.mark.parametrize("family", ["a", "b"])
def test_each_supervision_kind_gives_the_targets_it_has(tmp_path, family):
    """``mg3d synth --supervision mixed``: finding masks, organ maps and reports alone, case by
    case. Items carry region targets where the case has finding masks, organ targets (the organs
    the sentence names, from the case's own organ map) where it has organs, neither for reports."""
    from napari_mg3d.data.profiles import label_profile
    from napari_mg3d.data.preprocess import preprocess_file
    from napari_mg3d.data.report_inputs import ReportInputs
    from napari_mg3d.knowledge.labels import CT_RATE_LABELS
    from napari_mg3d.knowledge.organs import organs_named
    from napari_mg3d.model.text import build_text_encoder

    manifest = write_synthetic(tmp_path / "synth", 6, seed=7, shape=(32, 64, 64), split="train", family=family,
                               supervision="mixed")
    tokenizer = build_text_encoder("minilm-offline", pretrained=False)[1]
    data = CaseDataset(manifest, "synthetic-tiny", cache_dir=tmp_path / "cache", regions=True, organs=True,
                       text=ReportInputs(tokenizer, 128, CT_RATE_LABELS))
    kinds = {"regions": 0, "organs": 0}
    for i, case in enumerate(data.cases):
        item = data[i]
        assert (len(item["region_slots"]) > 0) <= bool(case.regions)
        assert (len(item["organ_slots"]) > 0) <= (case.organs is not None)
        kinds["regions"] += len(item["region_slots"])
        kinds["organs"] += len(item["organ_slots"])
        if case.organs is None:
            continue
        organ_map = np.rint(preprocess_file(case.organs, label_profile("synthetic-tiny"))).astype(int)
        for k, mask in zip(item["organ_slots"], item["organ_masks"]):
            names = organs_named(item["text"]["sentences"][k], case.organ_names.values())
            wanted = np.isin(organ_map, [v for v, n in case.organ_names.items() if n in names])
            assert item["text"]["named"][k].any() and np.array_equal(mask > 0, wanted)
    assert kinds["regions"] > 0 and kinds["organs"] > 0
    batch = data.collate([data[i] for i in range(len(data))])
    assert len(batch["organ_slots"]) == kinds["organs"] and batch["organ_masks"].shape[1:] == (64, 64, 64)
