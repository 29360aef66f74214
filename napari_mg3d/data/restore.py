"""Model-grid outputs back onto the original image grid (the inverse of the profile's resampling):
attention heatmaps and segmentation probabilities then overlay the volume in world millimetres.

For a volume whose direction is a signed permutation (nearly every clinical volume), linear
resampling is three 1D interpolations (``resample.interpolation_matrix``), each a small matrix
along one axis; a coarse map's trilinear upsampling onto the model grid (``upsampled_to_original_grid``)
is three more, so the two compose into one small matrix per axis and the model-grid map is never
made. Oblique volumes, and nearest-neighbour resampling, go through SimpleITK's resampler."""

from __future__ import annotations

import numpy as np

from .preprocess import IDENTITY, final_grid
from .profiles import Profile, get_profile


def to_original_grid(maps: np.ndarray, geometry, shape_zyx, profile: str | Profile, nearest: bool = False,
                     fill: float = 0.0) -> np.ndarray:
    """``maps``: (..., encoder axes) arrays on the profile's final grid, e.g. (channels, d, h, w).
    Returns float32 (..., z, y, x) on the grid of the image the profile was applied to."""
    profile = get_profile(profile)
    lead = maps.shape[:-3]
    flat = np.asarray(maps, dtype=np.float32).reshape(-1, *maps.shape[-3:])
    out = None if nearest else _separable(flat, None, geometry, shape_zyx, profile, np.full(len(flat), fill))
    if out is None:
        out = _by_simpleitk(flat, geometry, shape_zyx, profile, nearest, fill)
    return out.reshape(*lead, *shape_zyx)


def upsampled_to_original_grid(grids: np.ndarray, geometry, shape_zyx, profile: str | Profile,
                               fill=None) -> np.ndarray:
    """``grids``: (n, encoder axes) coarse maps (a token grid). Each is upsampled trilinearly onto the
    profile's final grid (``F.interpolate``, ``align_corners=False``), then resampled linearly onto
    the original grid, as ``to_original_grid`` does. ``fill``: the value outside the model's field
    of view, one per map (default: each map's minimum). Returns float32 (n, z, y, x)."""
    profile = get_profile(profile)
    grids = np.asarray(grids, dtype=np.float32)
    fills = grids.reshape(len(grids), -1).min(1) if fill is None else np.broadcast_to(fill, len(grids))
    ups = [_upsampling_matrix(g, s) for g, s in zip(grids.shape[1:], profile.encoder_shape)]
    out = _separable(grids, ups, geometry, shape_zyx, profile, fills)
    return out if out is not None else upsampled_by_simpleitk(grids, geometry, shape_zyx, profile, fills)


def upsampled_by_simpleitk(grids: np.ndarray, geometry, shape_zyx, profile: Profile, fills) -> np.ndarray:
    """``upsampled_to_original_grid`` map by map, for any volume: ``F.interpolate`` onto the
    profile's grid, then SimpleITK's resampler onto the volume's (oblique volumes take it; the
    benches compare against it)."""
    import torch
    import torch.nn.functional as F

    out = np.empty((len(grids), *shape_zyx), dtype=np.float32)
    for i, g in enumerate(grids):
        fine = F.interpolate(torch.from_numpy(np.asarray(g, dtype=np.float32))[None, None], size=profile.encoder_shape,
                             mode="trilinear", align_corners=False)
        out[i] = _by_simpleitk(fine[0].numpy(), geometry, shape_zyx, profile, False, float(fills[i]))[0]
    return out


def _upsampling_matrix(n: int, m: int) -> np.ndarray:
    """(m, n): 1D linear upsampling of n samples to m, as ``F.interpolate(align_corners=False)``
    does along each axis of a trilinear upsampling."""
    import torch
    import torch.nn.functional as F

    eye = torch.eye(n, dtype=torch.float32)[None]
    return F.interpolate(eye, size=m, mode="linear", align_corners=False)[0].t().numpy()


def _separable(maps, pre, geometry, shape_zyx, profile: Profile, fills, chunk: int = 8) -> np.ndarray | None:
    """(n, z, y, x) float32 by one small matrix per encoder axis (``pre[k]``, an upsampling onto the
    model grid, then the linear resampling), or None for an oblique volume. ``chunk`` maps at a
    time, so that the working memory beside the result is a few volumes, however many maps."""
    import torch

    from .resample import interpolation_matrix, signed_permutation

    perm = signed_permutation(geometry.direction)
    if perm is None:
        return None
    origin, spacing, size = final_grid(geometry, shape_zyx, profile)
    in_origin, in_spacing = np.asarray(geometry.origin), np.asarray(geometry.spacing)
    matrices, holds, inside_of = [], [], {}
    for k, q in enumerate(profile.axes):  # encoder axis k holds the model grid's (z, y, x) axis q
        a = 2 - q  # its LPS axis
        b = int(np.nonzero(perm[a])[0][0])  # the volume's index axis along LPS axis a
        n_out = shape_zyx[2 - b]
        # the model grid's continuous index of each of the volume's voxels along this axis
        world = in_origin[a] + perm[a, b] * in_spacing[b] * np.arange(n_out)
        w, inside_of[2 - b] = interpolation_matrix((world - origin[a]) / spacing[a], int(size[a]))
        matrices.append(torch.from_numpy(w @ pre[k] if pre is not None else w))
        holds.append(2 - b)  # after it, encoder axis k holds the volume's (z, y, x) axis 2 - b
    order = [1 + holds.index(axis) for axis in range(3)]
    inside = inside_of[0][:, None, None] & inside_of[1][None, :, None] & inside_of[2][None, None, :]
    inside = None if inside.all() else torch.from_numpy(inside)
    fills = torch.from_numpy(np.asarray(fills, dtype=np.float32)).view(-1, 1, 1, 1)
    out = np.empty((len(maps), *shape_zyx), dtype=np.float32)
    for first in range(0, len(maps), chunk):
        t = torch.from_numpy(np.ascontiguousarray(maps[first:first + chunk]))
        for k, w in enumerate(matrices):
            t = torch.movedim(w @ torch.movedim(t, k + 1, -2), -2, k + 1)
        target = torch.from_numpy(out[first:first + chunk])
        t = t.permute(0, *order)
        if inside is None:
            target.copy_(t)
        else:
            torch.where(inside, t, fills[first:first + chunk], out=target)
    return out


def _by_simpleitk(flat, geometry, shape_zyx, profile: Profile, nearest: bool, fill: float) -> np.ndarray:
    import SimpleITK as sitk

    origin, spacing, _ = final_grid(geometry, shape_zyx, profile)
    inverse = np.argsort(profile.axes)
    reference = sitk.Image([int(s) for s in shape_zyx[::-1]], sitk.sitkFloat32)
    geometry.apply_to(reference)
    out = np.empty((len(flat), *shape_zyx), dtype=np.float32)
    for i, m in enumerate(flat):
        image = sitk.GetImageFromArray(np.ascontiguousarray(m.transpose(inverse)))  # back to (z, y, x)
        image.SetOrigin(origin.tolist())
        image.SetSpacing(spacing.tolist())
        image.SetDirection(IDENTITY)
        resampled = sitk.Resample(image, reference, sitk.Transform(),
                                  sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear, float(fill))
        out[i] = sitk.GetArrayViewFromImage(resampled)
    return out
