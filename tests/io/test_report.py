import json

import pytest

from napari_mg3d.io import InputError
from napari_mg3d.io.report import find_report, read_report


def test_text_markdown_and_json(tmp_path):
    (tmp_path / "a.txt").write_text("\ufeffNo effusion.\n", encoding="utf-8")
    assert read_report(tmp_path / "a.txt") == "No effusion."
    (tmp_path / "b.json").write_text(json.dumps({"findings": "Nodule.", "impression": "Nodule in RUL."}))
    assert read_report(tmp_path / "b.json") == "Findings: Nodule.\nImpression: Nodule in RUL."
    (tmp_path / "c.json").write_text(json.dumps({"report": "Clear lungs."}))
    assert read_report(tmp_path / "c.json") == "Clear lungs."


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("latin.txt", "Pleural effusion \xe9vident.".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 17)"),
        ("bad.json", b"{findings: 1", "not valid JSON"),
        ("list.json", b"[1, 2]", "expected a JSON object"),
        ("empty.json", b"{}", "no 'report', 'findings' or 'impression'"),
    ],
)
def test_bad_reports(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_report(tmp_path / name)


def test_report_found_beside_volume_and_dicom_folder(tmp_path):
    (tmp_path / "ct.nii.gz").write_bytes(b"x")
    assert find_report(tmp_path / "ct.nii.gz") is None
    (tmp_path / "ct.md").write_text("x")
    assert find_report(tmp_path / "ct.nii.gz") == tmp_path / "ct.md"
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "report.txt").write_text("x")
    assert find_report(tmp_path / "series") == tmp_path / "series" / "report.txt"
