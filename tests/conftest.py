"""Shared fixtures: real data from ../shared/data (skipped when absent) and generated cases."""

from __future__ import annotations

import locale
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CTYPE = locale.setlocale(locale.LC_CTYPE)


@pytest.fixture(autouse=True)
def _text_locale():
    """Each test starts and ends in the session's LC_CTYPE: SimpleITK's DICOM writer (GDCM) sets it
    to C for the whole process, after which a subprocess's UTF-8 output no longer decodes."""
    locale.setlocale(locale.LC_CTYPE, CTYPE)
    yield
    locale.setlocale(locale.LC_CTYPE, CTYPE)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED


@pytest.fixture(scope="session")
def totalseg(shared_data) -> Path:
    folder = shared_data / "totalsegmentator_examples"
    if not folder.is_dir():
        pytest.skip("totalsegmentator_examples is absent")
    return folder


@pytest.fixture(scope="session")
def synthetic_case():
    from napari_mg3d.data.synthetic import make_case

    return make_case(11, findings=("nodule", "pleural_effusion"), shape=(24, 48, 48))


@pytest.fixture
def case_file(tmp_path, synthetic_case) -> Path:
    """A synthetic CT written as NIfTI with its report beside it."""
    from napari_mg3d.io.writer import write_volume

    path = write_volume(tmp_path / "case.nii.gz", synthetic_case.image, synthetic_case.geometry)
    (tmp_path / "case.txt").write_text(synthetic_case.report, encoding="utf-8")
    return path


@pytest.fixture
def bad_inputs(tmp_path, synthetic_case) -> dict[str, Path]:
    """One file or folder for each kind of bad input the readers must refuse."""
    import SimpleITK as sitk

    from napari_mg3d.io.writer import write_volume

    out = {}
    out["zero-byte"] = tmp_path / "empty.nii.gz"
    out["zero-byte"].write_bytes(b"")
    whole = write_volume(tmp_path / "whole.nii.gz", synthetic_case.image, synthetic_case.geometry).read_bytes()
    out["truncated"] = tmp_path / "truncated.nii.gz"
    out["truncated"].write_bytes(whole[: len(whole) // 2])
    out["wrong-extension"] = tmp_path / "photo.png"
    out["wrong-extension"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    out["not-nifti"] = tmp_path / "notes.nii"
    out["not-nifti"].write_text("this is not an image\n" * 40)
    out["2d"] = tmp_path / "slice.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((32, 32), np.int16)), str(out["2d"]))
    out["4d"] = tmp_path / "series4d.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((3, 4, 8, 8), np.int16), isVector=False), str(out["4d"]))
    out["no-dicom"] = tmp_path / "no_dicom"
    out["no-dicom"].mkdir()
    (out["no-dicom"] / "readme.txt").write_text("no images here")
    return out
