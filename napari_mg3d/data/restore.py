"""Model-grid outputs back onto the original image grid (the inverse of the profile's resampling):
attention heatmaps and segmentation probabilities then overlay the volume in world millimetres."""

from __future__ import annotations

import numpy as np

from .preprocess import IDENTITY, final_grid
from .profiles import Profile, get_profile


def to_original_grid(maps: np.ndarray, geometry, shape_zyx, profile: str | Profile, nearest: bool = False,
                     fill: float = 0.0) -> np.ndarray:
    """``maps``: (..., encoder axes) arrays on the profile's final grid, e.g. (channels, d, h, w).
    Returns float32 (..., z, y, x) on the grid of the image the profile was applied to."""
    import SimpleITK as sitk

    profile = get_profile(profile)
    origin, spacing, _ = final_grid(geometry, shape_zyx, profile)
    inverse = np.argsort(profile.axes)
    lead = maps.shape[:-3]
    flat = np.asarray(maps, dtype=np.float32).reshape(-1, *maps.shape[-3:])
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
    return out.reshape(*lead, *shape_zyx)
