import json
import subprocess
import sys

import pytest

from napari_mg3d.cli import main


def test_info_json_for_a_file(case_file, synthetic_case, capsys):
    assert main(["info", str(case_file), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == list(synthetic_case.image.shape)
    assert info["spacing"] == list(synthetic_case.geometry.spacing)
    assert info["origin"] == list(synthetic_case.geometry.origin)
    assert info["direction"] == list(synthetic_case.geometry.direction)
    assert info["dtype"] == "int16" and info["modality"] == "CT"
    assert info["min"] == float(synthetic_case.image.min()) and info["max"] == float(synthetic_case.image.max())


def test_info_json_lists_dicom_series(totalseg, capsys):
    assert main(["info", str(totalseg / "example_ct_dicom"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in info["series"]] == ["CT Body 3.0"]
    assert info["series"][0]["shape"] == [20, 512, 512]


@pytest.mark.parametrize("kind", ["zero-byte", "truncated", "wrong-extension", "not-nifti", "2d", "4d", "no-dicom"])
def test_bad_input_exit_2_and_one_line(bad_inputs, kind, tmp_path):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = subprocess.run(
        [sys.executable, "-m", "napari_mg3d.cli", "info", str(bad_inputs[kind]), "--json"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mg3d info: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_memory_limit_flag(case_file, capsys):
    assert main(["info", str(case_file), "--max-mb", "0.001"]) == 2
    assert "over the limit" in capsys.readouterr().err


def test_usage_error_is_one_line():
    result = subprocess.run([sys.executable, "-m", "napari_mg3d.cli", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_label_reports_writes_one_row_per_report(tmp_path, capsys):
    import csv

    from napari_mg3d.knowledge import CT_RATE_LABELS

    src = tmp_path / "reports.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["AccessionNo", "report_text"])
        w.writerow(["a", "No pleural effusion. A 5 mm nodule in the right upper lobe."])
        w.writerow(["b", ""])
        w.writerow(["c", "Bilateral pleural effusion, more on the right."])
    out = tmp_path / "labels.csv"
    assert main(["label-reports", str(src), "--column", "report_text", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert list(rows[0]) == ["AccessionNo", *CT_RATE_LABELS]
    assert [r["AccessionNo"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["Lung nodule"] == "1" and rows[0]["Pleural effusion"] == "0"
    assert set(rows[1].values()) == {"b", "0"}
    assert rows[2]["Pleural effusion"] == "1"


def test_label_reports_bad_input(tmp_path):
    src = tmp_path / "reports.csv"
    src.write_text("id,text\n1,No effusion.\n")
    out = tmp_path / "labels.csv"
    result = subprocess.run(
        [sys.executable, "-m", "napari_mg3d.cli", "label-reports", str(src), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "no column 'report_text' (has: id, text)" in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()


def test_label_reports_non_utf8_is_read_with_a_warning(tmp_path):
    src = tmp_path / "reports.csv"
    src.write_bytes("report_text\nPleural effusion \xe9vident.\n".encode("latin-1"))
    out = tmp_path / "labels.csv"
    result = subprocess.run(
        [sys.executable, "-m", "napari_mg3d.cli", "label-reports", str(src), "--out", str(out)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0 and "not all UTF-8" in result.stderr
    assert out.read_text().splitlines()[1].split(",")[12] == "1"  # Pleural effusion
