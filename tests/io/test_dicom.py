import shutil

import numpy as np
import pytest

from napari_mg3d.io.dicom import list_series, slice_spacing_warning
from napari_mg3d.io.volume import read_volumes

AXIAL = [1, 0, 0, 0, 1, 0]


def _positions(z):
    return np.array([[0.0, 0.0, v] for v in z])


def test_even_spacing_gives_no_warning():
    assert slice_spacing_warning(_positions(np.arange(10) * 2.5), AXIAL, "s") is None


def test_missing_slice_is_reported_with_numbers():
    z = [0, 2, 4, 8, 10, 12]
    msg = slice_spacing_warning(_positions(z), AXIAL, "chest")
    assert "uneven slice spacing 2.00-4.00 mm" in msg
    assert "about 1 slice(s) missing" in msg and "between 4.00 and 8.00 mm" in msg


def test_uneven_spacing_without_missing_slice():
    msg = slice_spacing_warning(_positions([0, 1.0, 2.0, 3.5, 4.5, 5.5]), AXIAL, "s")
    assert "uneven slice spacing 1.00-1.50 mm" in msg and "missing" not in msg


def _make_series(folder, uid, description, z_positions):
    import SimpleITK as sitk

    folder.mkdir(exist_ok=True)
    for i, z in enumerate(z_positions):
        img = sitk.GetImageFromArray(np.full((1, 8, 8), i, np.int16))
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        tags = {
            "0008|0060": "CT", "0008|103e": description, "0020|000e": uid,
            "0020|000d": "1.2.3", "0020|0032": f"0\\0\\{z}", "0020|0037": "1\\0\\0\\0\\1\\0",
            "0020|0013": str(i + 1), "0008|0018": f"{uid}.{i + 1}", "0028|0030": "1\\1",
        }
        for k, v in tags.items():
            img.SetMetaData(k, v)
        writer.SetFileName(str(folder / f"{description.replace(' ', '_')}_{i:03d}.dcm"))
        writer.Execute(img)


def test_folder_with_two_series_offers_both(tmp_path):
    _make_series(tmp_path / "study", "1.2.826.0.1.1", "Axial lung", [0, 2, 4, 6])
    _make_series(tmp_path / "study", "1.2.826.0.1.2", "Axial soft", [0, 5, 10])
    names = sorted(s.name for s in list_series(tmp_path / "study"))
    assert names == ["Axial lung", "Axial soft"]
    volumes = read_volumes(tmp_path / "study")
    assert sorted(v.array.shape[0] for v in volumes) == [3, 4]


def test_series_with_a_missing_slice_warns(tmp_path):
    _make_series(tmp_path / "gap", "1.2.826.0.1.3", "Gappy", [0, 2, 4, 8, 10])
    with pytest.warns(UserWarning, match="1 slice\\(s\\) missing"):
        (v,) = read_volumes(tmp_path / "gap")
    assert v.warnings


def test_real_series_copy_without_one_slice_warns(totalseg, tmp_path):
    files = sorted((totalseg / "example_ct_dicom").iterdir())
    target = tmp_path / "ct"
    target.mkdir()
    for f in files[:7] + files[8:]:
        shutil.copy(f, target / f.name)
    with pytest.warns(UserWarning, match="missing"):
        read_volumes(target)
