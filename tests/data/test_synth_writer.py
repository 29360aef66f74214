import csv
import hashlib
import json
import subprocess
import sys

from napari_mg3d.io.manifest import read_manifest
from napari_mg3d.io.volume import read_volume
from napari_mg3d.knowledge import CT_RATE_LABELS, label_report


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "cases").iterdir())
            if p.suffix == ".txt"}


def test_synth_command_writes_cases_manifest_labels_and_masks(tmp_path):
    out = tmp_path / "synth"
    cmd = [sys.executable, "-m", "napari_mg3d.cli", "synth", str(out), "--n", "5", "--seed", "4",
           "--size", "16", "32", "32"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cases = read_manifest(out / "manifest.csv")
    assert len(cases) == 5 and [c.split for c in cases] == ["train"] * 4 + ["test"]
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["VolumeName", *CT_RATE_LABELS]
    for case, row in zip(cases, rows):
        assert read_volume(case.volume).array.shape == (16, 32, 32)
        assert case.labels == {k: int(v) for k, v in row.items() if k != "VolumeName"}
        # the report says what is there: the labeller reads back the synthetic labels
        found = label_report(case.report)
        assert all(found[k] == v for k, v in case.labels.items() if v), case.id
    manifest = list(csv.DictReader(open(out / "manifest.csv", newline="")))
    for row in manifest:
        findings = json.loads(row["findings"])
        for finding, info in findings.items():
            mask = read_volume(out / info["mask"]).array
            assert mask.max() == 1, (row["id"], finding)
        # the same masks as the manifest's regions, keyed by the CT-RATE label the report states
        case = next(c for c in cases if c.id == row["id"])
        assert sorted(case.regions.values()) == sorted(out / info["mask"] for info in findings.values())
        assert all(case.labels[label] == 1 for label in case.regions)
    again = tmp_path / "again"
    subprocess.run(cmd[:4] + [str(again)] + cmd[5:], check=True, capture_output=True, timeout=300)
    assert _digest(out) == _digest(again)  # deterministic by seed


def test_more_cases_to_train_on_leave_the_held_out_cases_as_they_were(tmp_path):
    from napari_mg3d.data.synth_writer import write_synthetic

    own = write_synthetic(tmp_path / "own", 10, seed=3, shape=(16, 32, 32))
    more = write_synthetic(tmp_path / "more", 14, seed=3, shape=(16, 32, 32), train_from=10)
    own_rows, more_rows = (list(csv.DictReader(open(m, newline=""))) for m in (own, more))
    assert [r["split"] for r in own_rows] == ["train"] * 8 + ["val", "test"]
    assert [r["split"] for r in more_rows] == ["train"] * 8 + ["val", "test"] + ["train"] * 4
    assert more_rows[:10] == own_rows  # the same cases, in the same splits
    for row in own_rows:
        assert (tmp_path / "own" / row["report"]).read_bytes() == (tmp_path / "more" / row["report"]).read_bytes()
        a, b = (read_volume(root / row["volume"]).array for root in (tmp_path / "own", tmp_path / "more"))
        assert (a == b).all()
    assert len({r["id"] for r in more_rows}) == 14
