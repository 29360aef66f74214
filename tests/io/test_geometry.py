import numpy as np
import pytest

from napari_mg3d.io.geometry import Geometry

ROTATIONS = {
    "identity": np.eye(3),
    "lps-flip-xy": np.diag([-1.0, -1.0, 1.0]),  # TotalSegmentator example CT
    "reflection": np.diag([1.0, -1.0, 1.0]),  # pyradiomics brain NRRD (det -1)
    "oblique": None,
}


def _oblique():
    a = np.deg2rad(17.0)
    b = np.deg2rad(-8.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


@pytest.mark.parametrize("kind", list(ROTATIONS))
def test_napari_transform_maps_voxels_like_simpleitk(kind):
    import SimpleITK as sitk

    direction = _oblique() if kind == "oblique" else ROTATIONS[kind]
    geom = Geometry((0.8, 0.7, 2.5), (-120.0, 33.5, -400.25), tuple(direction.ravel()))
    image = sitk.Image(10, 12, 14, sitk.sitkInt16)
    geom.apply_to(image)
    affine = geom.napari_affine()
    for index_xyz in [(0, 0, 0), (9, 11, 13), (3, 7, 2)]:
        expected = np.array(image.TransformIndexToPhysicalPoint(index_xyz))
        napari_point = affine @ np.array([*index_xyz[::-1], 1.0])
        np.testing.assert_allclose(napari_point[:3][::-1], expected, atol=1e-9)


@pytest.mark.parametrize("kind", list(ROTATIONS))
def test_round_trip_through_napari_terms_is_exact(kind):
    direction = _oblique() if kind == "oblique" else ROTATIONS[kind]
    geom = Geometry((0.8, 0.7, 2.5), (-120.0, 33.5, -400.25), tuple(direction.ravel()))
    t = geom.to_napari()
    back = Geometry.from_napari(t["scale"], t["translate"], t["rotate"])
    assert back == geom
    assert np.linalg.det(np.asarray(t["rotate"])) == pytest.approx(1.0)


def test_full_affine_is_folded_in():
    shift = np.eye(4)
    shift[:3, 3] = [5.0, 6.0, 7.0]  # napari order (z, y, x)
    back = Geometry.from_napari((2.0, 1.0, 1.0), (0.0, 0.0, 0.0), np.eye(3), shift)
    assert back.origin == (7.0, 6.0, 5.0)
    assert back.spacing == (1.0, 1.0, 2.0)
