"""Model-grid maps back onto the volume's own grid (``data.restore.to_original_grid``), checked
against world coordinates: a map linear in world millimetres stays that function, wherever the
volume lies and however it is oriented."""

import numpy as np
import pytest

from napari_mg3d.data import restore
from napari_mg3d.data.preprocess import final_grid
from napari_mg3d.data.profiles import get_profile
from napari_mg3d.io.geometry import Geometry

RAMP = np.array([0.5, -0.25, 2.0])  # value per mm of world x, y, z (LPS)


def world_of_indices(geometry, shape_zyx):
    """(z, y, x, 3) LPS mm of each voxel of a grid."""
    k, j, i = np.meshgrid(*[np.arange(s) for s in shape_zyx], indexing="ij")
    index = np.stack([i, j, k], -1).astype(float)
    d = geometry.direction_matrix()
    return np.asarray(geometry.origin) + (index * np.asarray(geometry.spacing)) @ d.T


def ramp_on_model_grid(geometry, shape_zyx, profile, offset=0.0):
    """The world ramp sampled on the profile's final grid, in the encoder's axis order."""
    origin, spacing, size = final_grid(geometry, shape_zyx, profile)
    model_geometry = Geometry(tuple(spacing), tuple(origin), tuple(np.eye(3).ravel()))
    values = world_of_indices(model_geometry, tuple(int(s) for s in size[::-1])) @ RAMP + offset
    return values.transpose(profile.axes).astype(np.float32), (origin, spacing, size)


@pytest.mark.parametrize("direction", [np.eye(3), np.diag([-1.0, 1.0, -1.0])])
def test_a_world_linear_map_comes_back_as_the_same_function_of_world_position(direction):
    profile = get_profile("ct-rate")
    shape = (30, 40, 36)
    geometry = Geometry((0.9, 0.8, 2.5), (-20.0, 15.0, 100.0), tuple(direction.ravel()))
    model_map, (origin, spacing, size) = ramp_on_model_grid(geometry, shape, profile)
    back = restore.to_original_grid(model_map, geometry, shape, profile, fill=-999.0)
    world = world_of_indices(geometry, shape)
    # within the model grid's sample centres, linear interpolation of a linear function is exact
    inside = np.all((world >= origin - 1e-6) & (world <= origin + (size - 1) * spacing + 1e-6), -1)
    assert inside.mean() > 0.3
    np.testing.assert_allclose(back[inside], (world @ RAMP)[inside], atol=1e-3)


def test_each_map_of_a_stack_comes_back_as_it_would_alone_nearest_or_linear():
    profile = get_profile("ct-rate")
    shape = (20, 24, 22)
    geometry = Geometry((1.5, 1.5, 3.0), (5.0, -5.0, 0.0), tuple(np.diag([1.0, -1.0, 1.0]).ravel()))
    rng = np.random.default_rng(0)
    maps = rng.random((5, *profile.encoder_shape)).astype(np.float32)
    for nearest in (False, True):
        together = restore.to_original_grid(maps, geometry, shape, profile, nearest=nearest, fill=-1.0)
        alone = np.stack([restore.to_original_grid(m, geometry, shape, profile, nearest=nearest, fill=-1.0)
                          for m in maps])
        assert together.shape == (5, *shape)
        np.testing.assert_array_equal(together, alone)
        # nearest keeps the map's own values (labels stay labels); outside the field of view, the fill
        inside = together[0] != -1.0
        assert not nearest or np.isin(together[0][inside], maps[0]).all()
        assert 0.2 < inside.mean() < 1.0
    # a leading axis of any shape comes back as it went
    assert restore.to_original_grid(maps.reshape(5, 1, *maps.shape[1:]), geometry, shape, profile).shape == (5, 1, *shape)


DIRECTIONS = [np.eye(3), np.diag([-1.0, -1.0, 1.0]), np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
              np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_separable_path_gives_what_simpleitk_resampling_gives(direction):
    """Axis-aligned volumes (flipped, permuted) take three small matrices instead of SimpleITK's
    resampler: the same values, and the fill outside the model's field of view."""
    profile = get_profile("ct-rate")
    shape = (30, 44, 36)
    geometry = Geometry((0.9, 0.8, 2.5), (-20.0, 15.0, 100.0), tuple(direction.ravel()))
    maps = np.random.default_rng(0).random((3, *profile.encoder_shape)).astype(np.float32)
    fast = restore.to_original_grid(maps, geometry, shape, profile, fill=-1.0)
    slow = restore._by_simpleitk(maps, geometry, shape, profile, False, -1.0)
    assert 0.05 < (slow == -1.0).mean() < 0.95  # both inside and outside the field of view
    np.testing.assert_allclose(fast, slow, atol=1e-5)


@pytest.mark.parametrize("direction", DIRECTIONS[1:] + [None])
def test_a_coarse_map_upsampled_then_resampled_in_one_pass(direction):
    """``upsampled_to_original_grid``: what ``F.interpolate`` onto the model grid then SimpleITK onto
    the volume's grid give, each map with its own minimum outside; an oblique volume (None) takes
    that route itself."""
    import torch
    import torch.nn.functional as F
    profile = get_profile("ct-rate")
    shape = (26, 30, 34)
    if direction is None:
        c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
        direction = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    geometry = Geometry((1.6, 1.4, 3.0), (5.0, -5.0, 0.0), tuple(direction.ravel()))
    grids = np.random.default_rng(1).random((5, 4, 3, 4)).astype(np.float32)
    got = restore.upsampled_to_original_grid(grids, geometry, shape, profile)
    for grid, heat in zip(grids, got):
        fine = F.interpolate(torch.from_numpy(grid)[None, None], size=profile.encoder_shape, mode="trilinear",
                             align_corners=False)[0].numpy()
        expected = restore._by_simpleitk(fine, geometry, shape, profile, False, float(grid.min()))[0]
        np.testing.assert_allclose(heat, expected, atol=1e-5)
        assert (heat == grid.min()).any()
