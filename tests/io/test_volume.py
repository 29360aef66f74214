import numpy as np
import pytest

from napari_mg3d.io import InputError, read_volume, volume_info
from napari_mg3d.io.volume import read_volumes


def test_reads_generated_case_with_geometry_and_hu(case_file, synthetic_case):
    v = read_volume(case_file)
    assert v.array.dtype == np.int16
    np.testing.assert_array_equal(v.array, synthetic_case.image)
    assert v.geometry == synthetic_case.geometry
    assert v.modality == "CT"
    assert v.metadata["source"] == str(case_file)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("zero-byte", "empty (0 bytes)"),
        ("truncated", "truncated or corrupt"),
        ("wrong-extension", "unsupported file type '.png'"),
        ("not-nifti", "cannot read notes.nii"),
        ("2d", "2D image"),
        ("4d", "4D volume"),
        ("no-dicom", "no DICOM series"),
    ],
)
def test_bad_input_is_one_clear_line(bad_inputs, kind, message):
    with pytest.raises(InputError) as err:
        read_volume(bad_inputs[kind])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_memory_limit_is_checked_before_reading(case_file, monkeypatch):
    with pytest.raises(InputError, match="over the limit of 0 MB"):
        read_volume(case_file, max_bytes=1000)
    monkeypatch.setenv("MG3D_MAX_VOLUME_MB", "0.01")
    with pytest.raises(InputError, match="MG3D_MAX_VOLUME_MB"):
        read_volume(case_file)


def test_real_ct_and_mr(totalseg):
    ct = read_volume(totalseg / "example_ct.nii.gz")
    assert ct.array.shape == (112, 101, 122)
    assert ct.geometry.spacing == (3.0, 3.0, 3.0)
    assert ct.geometry.direction == (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0)
    assert ct.modality == "CT"
    assert ct.array.min() <= -1000  # HU kept, not rescaled
    mr = read_volume(totalseg / "example_mr_sm.nii.gz")
    assert mr.modality == "MR" and mr.array.shape == (20, 91, 117)


def test_real_dicom_series(totalseg):
    (v,) = read_volumes(totalseg / "example_ct_dicom")
    assert v.array.shape == (20, 512, 512)
    assert v.name == "CT Body 3.0"
    assert v.modality == "CT"
    assert v.geometry.spacing[2] == pytest.approx(2.0)
    assert v.warnings == []
    info = volume_info(totalseg / "example_ct_dicom")
    assert info["kind"] == "dicom-folder" and info["series"][0]["slices"] == 20


def test_pyradiomics_nrrd_pairs_share_geometry(shared_data):
    folder = shared_data / "pyradiomics_testcases"
    for stem in ("brain1", "brain2", "breast1"):
        image = read_volume(folder / f"{stem}_image.nrrd")
        label = read_volume(folder / f"{stem}_label.nrrd")
        assert image.array.shape == label.array.shape
        np.testing.assert_allclose(image.geometry.napari_affine(), label.geometry.napari_affine(), atol=1e-6)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd"])
def test_nan_and_infinite_voxels_are_counted_though_itk_reads_a_niftis_as_zero(tmp_path, suffix):
    import SimpleITK as sitk

    values = np.zeros((6, 7, 8), np.float32)
    values[0, 0, :5] = np.nan
    values[5, 6, 7] = -np.inf
    sitk.WriteImage(sitk.GetImageFromArray(values), str(tmp_path / f"v{suffix}"))
    volume = read_volume(tmp_path / f"v{suffix}")
    assert volume.nonfinite == 6 and volume.metadata["nonfinite"] == 6
    clean = tmp_path / f"clean{suffix}"
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((6, 7, 8), np.float32)), str(clean))
    assert read_volume(clean).nonfinite == 0 and "nonfinite" not in read_volume(clean).metadata
