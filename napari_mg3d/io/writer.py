"""Write a 3D array with its geometry (NIfTI, NRRD, MHA), atomically: all or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .dicom import _first_line
from .errors import InputError
from .formats import WRITE_SUFFIXES, suffix_of
from .geometry import Geometry


def write_volume(path: str | Path, array: np.ndarray, geometry: Geometry, compress: bool = True) -> Path:
    """Write ``array`` (z, y, x) with ``geometry``; values and geometry are kept bit-exact."""
    import SimpleITK as sitk

    path = Path(path)
    suffix = suffix_of(path)
    if suffix not in WRITE_SUFFIXES:
        raise InputError(
            f"cannot write {path.name}: unsupported file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(WRITE_SUFFIXES)}"
        )
    array = np.asarray(array)
    if array.ndim != 3:
        raise InputError(f"cannot write {path.name}: data is {array.ndim}D, a 3D volume is needed")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path.name}: folder {path.parent} does not exist")
    image = sitk.GetImageFromArray(np.ascontiguousarray(array))
    geometry.apply_to(image)
    try:
        with atomic_path(path, suffix) as tmp:
            sitk.WriteImage(image, tmp, useCompression=compress and suffix != ".nii")
    except RuntimeError as exc:
        raise InputError(f"cannot write {path.name}: {_first_line(exc)}") from None
    return path
