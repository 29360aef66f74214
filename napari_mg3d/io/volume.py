"""Read a 3D volume (file or DICOM folder) with its geometry, checking it first."""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dicom import _first_line, list_series, quiet_itk, read_series
from .errors import InputError
from .formats import VOLUME_SUFFIXES, is_volume_file, stem_of, suffix_of
from .geometry import Geometry
from .limits import max_volume_bytes
from .modality import guess_modality
from .nifti_header import count_nonfinite, is_truncated, read_nifti_header


@dataclass
class Volume:
    """Voxels in (z, y, x) order, values as stored (HU for CT), and where they sit in the world."""

    array: np.ndarray
    geometry: Geometry
    source: str
    name: str
    modality: str = "unknown"
    series_uid: str | None = None
    nonfinite: int = 0  # NaN or infinite values in the file (a NIfTI's are read as 0)
    warnings: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> dict:
        """What a napari layer keeps in ``layer.metadata``."""
        meta = {
            **self.geometry.as_dict(),
            "modality": self.modality,
            "source": self.source,
        }
        if self.series_uid is not None:
            meta["series_uid"] = self.series_uid
        if self.nonfinite:
            meta["nonfinite"] = self.nonfinite
        return meta


def read_volumes(path: str | Path, max_bytes: int | None = None) -> list[Volume]:
    """One volume for a file; one per series for a DICOM folder."""
    path = Path(path)
    if path.is_dir():
        return [_from_series(s, path, max_bytes) for s in list_series(path)]
    return [read_volume(path, max_bytes=max_bytes)]


def read_volume(path: str | Path, max_bytes: int | None = None) -> Volume:
    """Read one 3D volume; a DICOM folder must hold exactly one series."""
    path = Path(path)
    if path.is_dir():
        series = list_series(path)
        if len(series) > 1:
            names = "; ".join(s.name for s in series)
            raise InputError(f"folder {path} holds {len(series)} DICOM series ({names}); pick one")
        return _from_series(series[0], path, max_bytes)
    reader = _checked_header(path, max_bytes)
    try:
        with quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read {path.name}: file is truncated or corrupt ({_first_line(exc)})") from None
    array = _array(image)
    nonfinite = int(array.size - np.isfinite(array).sum()) if array.dtype.kind == "f" else 0
    if suffix_of(path) in (".nii", ".nii.gz"):  # ITK reads a NIfTI's NaN and infinite values as 0
        nonfinite = max(nonfinite, count_nonfinite(path, read_nifti_header(path)))
    return Volume(array, Geometry.from_sitk(image), str(path), stem_of(path), guess_modality(array),
                  nonfinite=nonfinite)


def volume_info(path: str | Path, max_bytes: int | None = None) -> dict:
    """Shape, geometry, dtype, value range and modality of a file or DICOM folder."""
    path = Path(path)
    volumes = read_volumes(path, max_bytes)
    info = [_info(v) for v in volumes]
    if path.is_dir():
        return {"path": str(path), "kind": "dicom-folder", "series": info}
    return {"path": str(path), "kind": "file", **info[0]}


def check_volume(path: str | Path, max_bytes: int | None = None) -> None:
    """Raise InputError unless the file's header says it is a readable 3D volume (the pixel data
    is not read; a truncated .nii.gz is caught by its gzip trailer)."""
    path = Path(path)
    if path.is_dir():
        list_series(path)  # raises when there is none
        return
    _checked_header(path, max_bytes)


def _info(v: Volume) -> dict:
    out = {
        "name": v.name,
        "shape": list(v.array.shape),
        **v.geometry.as_dict(),
        "dtype": str(v.array.dtype),
        "min": float(v.array.min()),
        "max": float(v.array.max()),
        "modality": v.modality,
    }
    if v.series_uid is not None:
        out.update(series_uid=v.series_uid, slices=int(v.array.shape[0]))
    if v.warnings:
        out["warnings"] = v.warnings
    return out


def _checked_header(path: Path, max_bytes: int | None):
    import SimpleITK as sitk

    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if not is_volume_file(path):
        raise InputError(
            f"unsupported file type {suffix_of(path) or '(none)'!r} for {path.name}; "
            f"expected one of {', '.join(VOLUME_SUFFIXES)} or a DICOM folder"
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    if suffix_of(path) in (".nii", ".nii.gz"):
        h = read_nifti_header(path)
        _check_shape(path.name, len(h.size), h.size, h.components)
        itemsize = max(h.itemsize, 4) if h.scaled else h.itemsize
        _check_bytes(path.name, int(np.prod(h.size, dtype=np.int64)) * h.components * itemsize, max_bytes)
        if is_truncated(path, h):
            raise InputError(f"cannot read {path.name}: file is truncated or corrupt (the data ends early)")
        return reader
    try:
        with quiet_itk():
            reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(f"cannot read {path.name} as {suffix_of(path)}: {_first_line(exc)}") from None
    _check_shape(path.name, reader.GetDimension(), reader.GetSize(), reader.GetNumberOfComponents())
    _check_memory(path.name, reader.GetSize(), reader.GetNumberOfComponents(), reader.GetPixelID(), max_bytes)
    return reader


def _check_shape(name: str, ndim: int, size, components: int) -> None:
    if ndim < 3 or (ndim == 3 and min(size) == 1):
        raise InputError(f"{name} is a 2D image (size {'x'.join(map(str, size))}); a 3D volume is needed")
    if ndim > 3:
        raise InputError(
            f"{name} is a {ndim}D volume (size {'x'.join(map(str, size))}); "
            "a single 3D volume is needed (split time points or channels first)"
        )
    if components != 1:
        raise InputError(f"{name} has {components} values per voxel (colour or vector image); one is needed")


def _check_memory(name: str, size, components: int, pixel_id: int, max_bytes: int | None) -> None:
    import SimpleITK as sitk

    itemsize = sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], pixel_id)).itemsize
    _check_bytes(name, int(np.prod(size, dtype=np.int64)) * components * itemsize, max_bytes)


def _check_bytes(name: str, need: int, max_bytes: int | None) -> None:
    limit = max_volume_bytes(max_bytes)
    if need > limit:
        raise InputError(
            f"{name} needs {need / 2**20:.0f} MB in memory, over the limit of {limit / 2**20:.0f} MB "
            "(raise it with MG3D_MAX_VOLUME_MB)"
        )


def _from_series(series, folder: Path, max_bytes: int | None) -> Volume:
    import SimpleITK as sitk

    header = sitk.ImageFileReader()
    header.SetFileName(series.files[0])
    header.ReadImageInformation()
    size = (*header.GetSize()[:2], len(series.files))
    _check_memory(series.name, size, header.GetNumberOfComponents(), header.GetPixelID(), max_bytes)
    image, messages = read_series(series)
    _check_shape(series.name, image.GetDimension(), image.GetSize(), image.GetNumberOfComponentsPerPixel())
    for message in messages:
        _warnings.warn(message, stacklevel=3)
    array = _array(image)
    return Volume(
        array,
        Geometry.from_sitk(image),
        str(folder),
        series.name,
        guess_modality(array, series.modality),
        series_uid=series.uid,
        warnings=list(messages),
    )


def _array(image) -> np.ndarray:
    import SimpleITK as sitk

    return sitk.GetArrayFromImage(image)

