"""Preprocessing profiles: how a volume becomes model input, stored in every checkpoint and
applied identically at training and inference.

Convention (all profiles): the volume is resampled into the canonical LPS grid (direction = the
identity: +x towards the patient's left, +y posterior, +z superior), whatever the file's own
orientation (a RAS-stored NIfTI and an LPS DICOM series give the same array). The array from
SimpleITK is (z, y, x); ``axes`` then permutes it for the encoder. For ``ct-rate`` the grid is
x 128 x y 128 x z 96 and ``axes=(1, 0, 2)`` gives the encoder (y, z, x) = 128 x 96 x 128.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    spacing: tuple[float, float, float]  # mm (x, y, z) of the intermediate resampling (two-step reference)
    size: tuple[int, int, int]  # final grid (x, y, z)
    crop: tuple[float, float, float]  # centre crop, fraction of the resampled extent (x, y, z)
    axes: tuple[int, int, int]  # permutation of the (z, y, x) array for the encoder
    intensity: str  # "ct" (clip to window, rescale to [0, 1]) or "mri" (percentiles to [0, 1])
    window: tuple[float, float] = (-1000.0, 1000.0)  # HU, for "ct"
    percentiles: tuple[float, float] = (0.5, 99.5)  # for "mri"
    labels: bool = False  # nearest-neighbour resampling (segmentation targets)

    def signature(self) -> str:
        """Changes whenever any field changes: cached inputs made with another profile are stale."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @property
    def encoder_shape(self) -> tuple[int, int, int]:
        zyx = self.size[::-1]
        return tuple(zyx[a] for a in self.axes)


PROFILES: dict[str, Profile] = {
    # as in the official code: 0.75 x 0.75 x 1.5 mm, HU [-1000, 1000] -> [0, 1], centre crop,
    # resize to 128 x 128 x 96, encoder sees 128 x 96 x 128
    "ct-rate": Profile("ct-rate", (0.75, 0.75, 1.5), (128, 128, 96), (0.88, 0.875, 0.65625), (1, 0, 2), "ct"),
    "mri": Profile("mri", (1.0, 1.0, 2.0), (128, 128, 96), (1.0, 1.0, 1.0), (1, 0, 2), "mri"),
    "ct-seg": Profile("ct-seg", (1.5, 1.5, 1.5), (96, 96, 96), (1.0, 1.0, 1.0), (0, 1, 2), "ct", (-175.0, 250.0)),
    # the tiny model's cube: whole field of view, 64^3
    "synthetic-tiny": Profile("synthetic-tiny", (5.5, 5.5, 5.0), (64, 64, 64), (1.0, 1.0, 1.0), (0, 1, 2), "ct"),
}


def label_profile(profile: str | Profile) -> Profile:
    """The same grid for label maps: nearest-neighbour, no intensity scaling."""
    profile = get_profile(profile)
    return dataclasses.replace(profile, name=f"{profile.name}-labels", labels=True)


def region_profile(profile: str | Profile) -> Profile:
    """The same grid for a binary mask: linear resampling, values kept in [0, 1] (between the mask's
    voxels, the value interpolated between them; where the model's grid samples the mask's own
    voxel centres, as on the synthetic cases' grid of exactly half the spacing, 0 or 1). Not an
    area share: the mask is not averaged over a model voxel first, so a finding smaller than the
    model's voxel may be missed; a training row whose mask comes out empty asks nothing."""
    profile = get_profile(profile)
    return dataclasses.replace(profile, name=f"{profile.name}-regions", intensity="ct", window=(0.0, 1.0),
                               labels=False)


def get_profile(name: str | dict | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    if isinstance(name, dict):
        return Profile.from_dict(name)
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
