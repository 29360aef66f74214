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
