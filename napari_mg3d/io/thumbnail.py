"""A small picture of a volume: its middle axial slice, windowed and shrunk, read without loading
the whole volume where the format streams (NIfTI, NRRD, MHA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError


def middle_slice(path: str | Path, size: int = 96, window=(-1000.0, 400.0)) -> np.ndarray:
    """uint8 (h, w) picture of the middle axial slice, at most ``size`` pixels a side. CT values
    are windowed (lung to soft tissue by default); other modalities by their 1st-99th percentiles."""
    import SimpleITK as sitk

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no volume at {path}")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
        nx, ny, nz = (list(reader.GetSize()) + [1, 1])[:3]
        reader.SetExtractIndex([0, 0, nz // 2][: reader.GetDimension()])
        reader.SetExtractSize([nx, ny, 1][: reader.GetDimension()])
        image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read {path.name}: {str(exc).strip().splitlines()[-1]}") from None
    a = sitk.GetArrayFromImage(image).astype(np.float32).reshape(ny, nx)
    lo, hi = window if a.min() < -500 else np.percentile(a, [1, 99])
    a = np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1)
    step = max(1, int(np.ceil(max(a.shape) / size)))
    return (a[::step, ::step] * 255).astype(np.uint8)
