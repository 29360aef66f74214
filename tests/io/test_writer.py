import numpy as np
import pytest

from napari_mg3d.io import Geometry, InputError, read_volume, write_volume


@pytest.mark.parametrize("suffix, oblique", [(".mha", True), (".mha", False), (".nrrd", False)])
@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.uint8])
def test_round_trip_is_bit_exact(tmp_path, suffix, oblique, dtype):
    """MHA and NRRD store geometry as decimal text: any double survives (NRRD: see below)."""
    rng = np.random.default_rng(0)
    array = (rng.normal(0, 300, (7, 9, 11))).astype(dtype)
    a = np.deg2rad(23.0 if oblique else 0.0)
    direction = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    if not oblique:
        direction = np.diag([-1.0, -1.0, 1.0])
    geom = Geometry((0.7421875, 0.7421875, 1.25), (-187.3, -12.000001, 1043.5), tuple(direction.ravel()))
    path = write_volume(tmp_path / f"out{suffix}", array, geom)
    back = read_volume(path)
    assert back.array.dtype == array.dtype
    np.testing.assert_array_equal(back.array, array)
    assert back.geometry.spacing == geom.spacing
    assert back.geometry.origin == geom.origin
    assert back.geometry.direction == geom.direction


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_nifti_round_trip_is_bit_exact_at_its_float32_precision(tmp_path, suffix):
    """NIfTI stores spacing and orientation as float32: what it read, it writes back unchanged."""
    array = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8) - 100
    a = np.deg2rad(23.0)
    direction = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    geom = Geometry((0.7421875, 0.7421875, 1.25), (-187.3, -12.000001, 1043.5), tuple(direction.ravel()))
    first = read_volume(write_volume(tmp_path / f"a{suffix}", array, geom))
    np.testing.assert_allclose(first.geometry.origin, geom.origin, rtol=1e-6)
    second = read_volume(write_volume(tmp_path / f"b{suffix}", first.array, first.geometry))
    np.testing.assert_array_equal(second.array, array)
    assert second.geometry == first.geometry


def test_real_nifti_round_trip(tmp_path, totalseg):
    for name in ("example_ct.nii.gz", "example_seg.nii.gz", "example_mr_sm.nii.gz"):
        original = read_volume(totalseg / name)
        back = read_volume(write_volume(tmp_path / name, original.array, original.geometry))
        np.testing.assert_array_equal(back.array, original.array)
        assert back.array.dtype == original.array.dtype
        assert back.geometry == original.geometry


def test_nrrd_oblique_direction_within_one_ulp(tmp_path):
    """NRRD stores direction times spacing, so an oblique direction comes back to within 1 ulp."""
    a = np.deg2rad(23.0)
    direction = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    geom = Geometry((0.7421875, 0.7421875, 1.25), (-187.3, -12.000001, 1043.5), tuple(direction.ravel()))
    back = read_volume(write_volume(tmp_path / "o.nrrd", np.zeros((3, 4, 5), np.int16), geom))
    assert back.geometry.origin == geom.origin
    np.testing.assert_allclose(back.geometry.spacing, geom.spacing, rtol=2e-16)
    np.testing.assert_allclose(back.geometry.direction, geom.direction, rtol=0, atol=2.3e-16)


def test_bad_writes_leave_nothing(tmp_path):
    geom = Geometry.identity()
    with pytest.raises(InputError, match="unsupported file type '.png'"):
        write_volume(tmp_path / "x.png", np.zeros((2, 2, 2)), geom)
    with pytest.raises(InputError, match="data is 2D"):
        write_volume(tmp_path / "x.nii.gz", np.zeros((2, 2)), geom)
    with pytest.raises(InputError, match="does not exist"):
        write_volume(tmp_path / "missing" / "x.nii.gz", np.zeros((2, 2, 2)), geom)
    assert list(tmp_path.iterdir()) == []
