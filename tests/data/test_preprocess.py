import numpy as np
import pytest

from napari_mg3d.data.preprocess import preprocess_array, preprocess_image, two_step_reference
from napari_mg3d.data.profiles import PROFILES, get_profile
from napari_mg3d.io.geometry import Geometry


def _image(array, geometry):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    geometry.apply_to(image)
    return image


@pytest.fixture(scope="module")
def ct(synthetic_case):
    return _image(synthetic_case.image, synthetic_case.geometry)


def test_profiles_and_signatures():
    p = get_profile("ct-rate")
    assert p.encoder_shape == (128, 96, 128)
    assert p.signature() == get_profile(p.to_dict()).signature()
    changed = get_profile({**p.to_dict(), "window": [-1000.0, 400.0]})
    assert changed.signature() != p.signature()
    assert len({q.signature() for q in PROFILES.values()}) == len(PROFILES)
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("xray")


@pytest.mark.parametrize("name", ["ct-rate", "ct-seg", "synthetic-tiny"])
def test_one_pass_agrees_with_the_two_step_reference(ct, name):
    """Tolerance: mean |difference| < 0.01 of the [0, 1] range, correlation > 0.99, whenever the
    profile's spacing is no coarser than the final grid (else the two-step path blurs)."""
    if name == "synthetic-tiny":  # its spacing is made for the full-size synthetic case
        from napari_mg3d.data.synthetic import make_case

        case = make_case(3)
        ct = _image(case.image, case.geometry)
    one = preprocess_image(ct, name)
    two = two_step_reference(ct, name)
    assert one.shape == two.shape == get_profile(name).encoder_shape
    assert one.dtype == np.float32 and 0.0 <= one.min() and one.max() <= 1.0
    assert np.abs(one - two).mean() < 0.01
    assert np.corrcoef(one.ravel(), two.ravel())[0, 1] > 0.99


def test_real_ct_one_pass_against_two_step(totalseg):
    import SimpleITK as sitk

    image = sitk.ReadImage(str(totalseg / "example_ct.nii.gz"))
    one, two = preprocess_image(image, "ct-rate"), two_step_reference(image, "ct-rate")
    assert np.abs(one - two).mean() < 1e-3 and np.abs(one - two).max() < 0.05


def test_orientation_is_canonical(synthetic_case):
    """The same anatomy stored in LPS and in RAS order (flipped x and y) gives the same input."""
    lps = synthetic_case.geometry
    array = synthetic_case.image
    size = np.array(array.shape[::-1])
    d = np.diag([-1.0, -1.0, 1.0])
    # voxel (i, j, k) of the RAS copy is voxel (nx-1-i, ny-1-j, k) of the original
    origin = np.array(lps.origin) + (size - 1) * np.array(lps.spacing) * np.array([1, 1, 0])
    ras = Geometry(lps.spacing, tuple(origin), tuple(d.ravel()))
    flipped = array[:, ::-1, ::-1].copy()
    a = preprocess_array(array, lps, "synthetic-tiny")
    b = preprocess_array(flipped, ras, "synthetic-tiny")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_oblique_input_uses_the_general_resampler(synthetic_case):
    angle = np.deg2rad(10)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    g = synthetic_case.geometry
    oblique = Geometry(g.spacing, g.origin, tuple(rot.ravel()))
    out = preprocess_array(synthetic_case.image, oblique, "synthetic-tiny")
    assert out.shape == (64, 64, 64) and out.std() > 0.05


def test_label_maps_stay_whole_numbers(synthetic_case):
    labels = get_profile({**get_profile("synthetic-tiny").to_dict(), "name": "labels", "labels": True})
    out = preprocess_array(synthetic_case.organs, synthetic_case.geometry, labels)
    assert set(np.unique(out)) <= set(np.unique(synthetic_case.organs)) and len(np.unique(out)) > 3


def test_region_masks_are_resampled_linearly_into_0_1(synthetic_case):
    import dataclasses

    from napari_mg3d.data.preprocess import final_grid
    from napari_mg3d.data.profiles import region_profile

    profile = region_profile("synthetic-tiny")
    mask = synthetic_case.findings["nodule"].astype(np.uint8)
    # the mask's grid shifted by a third of a voxel: the model's grid falls between its voxels
    spacing = np.array(synthetic_case.geometry.spacing)
    geometry = dataclasses.replace(synthetic_case.geometry, origin=tuple(np.array(synthetic_case.geometry.origin)
                                                                         + spacing / 3))
    values = preprocess_array(mask, geometry, profile)
    assert values.shape == profile.encoder_shape and 0 <= values.min() and values.max() <= 1
    assert ((values > 0) & (values < 1)).any()  # interpolated, not a nearest-neighbour cut
    _, final_spacing, _ = final_grid(geometry, mask.shape, profile)
    kept = values.sum() * np.prod(final_spacing)  # the nodule's volume in mm^3, roughly
    assert kept == pytest.approx(mask.sum() * np.prod(spacing), rel=0.5)
