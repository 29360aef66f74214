import csv
import gzip

import pytest

from napari_mg3d.data.case_check import check_manifest


@pytest.fixture
def bad_manifest(tmp_path):
    from napari_mg3d.data.synth_writer import write_synthetic

    manifest = write_synthetic(tmp_path / "s", 6, seed=1, shape=(16, 32, 32), split="train")
    rows = list(csv.DictReader(manifest.open()))
    cases = manifest.parent / "cases"
    # row 3: the volume is gone; row 4: a truncated .nii.gz; row 5: an empty report
    (manifest.parent / rows[1]["volume"]).unlink()
    full = (manifest.parent / rows[2]["volume"]).read_bytes()
    (manifest.parent / rows[2]["volume"]).write_bytes(gzip.compress(gzip.decompress(full))[: len(full) // 2])
    rows[3]["report"] = "   "
    rows.append({**rows[0], "id": rows[0]["id"], "split": "nonsense"})  # row 8: bad split
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert cases.is_dir()
    return manifest, rows


def test_bad_rows_are_listed_with_reasons_and_the_rest_kept(bad_manifest):
    manifest, rows = bad_manifest
    check = check_manifest(manifest)
    assert [c.id for c in check.cases] == [rows[i]["id"] for i in (0, 4, 5)]
    reasons = {p["row"]: p["reason"] for p in check.problems}
    assert sorted(reasons) == [3, 4, 5, 8]
    assert "volume not found" in reasons[3]
    assert "truncated" in reasons[4]
    assert reasons[5] == "empty report"
    assert "split 'nonsense'" in reasons[8]
    assert check.summary(limit=2).startswith("4 bad case(s): row 3")
    assert "and 2 more" in check.summary(limit=2)


def test_split_filter_and_rows_without_split_are_training_cases(tmp_path):
    from napari_mg3d.data.synth_writer import write_synthetic

    manifest = write_synthetic(tmp_path / "s", 3, seed=2, shape=(16, 32, 32), split="test")
    assert check_manifest(manifest, "train").cases == []
    assert len(check_manifest(manifest, "test").cases) == 3
    rows = list(csv.DictReader(manifest.open()))
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[k for k in rows[0] if k != "split"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    assert len(check_manifest(manifest, "train").cases) == 3
