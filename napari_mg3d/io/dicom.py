"""DICOM series in a folder: list them, read one, and check its slice spacing.

Only geometry, modality and the series description are kept: no patient identifiers.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

TAG_MODALITY = "0008|0060"
TAG_DESCRIPTION = "0008|103e"
TAG_POSITION = "0020|0032"
TAG_ORIENTATION = "0020|0037"


@dataclass(frozen=True)
class Series:
    uid: str
    description: str
    modality: str
    files: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.description or f"series {self.uid[-12:] or 'unnamed'}"


def list_series(folder: str | Path) -> list[Series]:
    """Every DICOM series directly in ``folder``; InputError if there is none."""
    import SimpleITK as sitk

    folder = str(folder)
    try:
        with quiet_itk():
            uids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(folder)
    except RuntimeError as exc:
        raise InputError(f"cannot scan folder {folder}: {_first_line(exc)}") from None
    series = []
    for uid in uids:
        with quiet_itk():
            files = tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder, uid))
        if not files:
            continue
        header = sitk.ImageFileReader()
        header.SetFileName(files[0])
        try:
            with quiet_itk():
                header.ReadImageInformation()
        except RuntimeError:
            continue
        series.append(
            Series(uid, _tag(header, TAG_DESCRIPTION), _tag(header, TAG_MODALITY), files)
        )
    if not series:
        subdirs = sorted(e.name for e in os.scandir(folder) if e.is_dir())[:5]
        hint = f"; try one of its subfolders: {', '.join(subdirs)}" if subdirs else ""
        raise InputError(f"no DICOM series found in folder {folder}{hint}")
    return series


def read_series(series: Series):
    """(SimpleITK image, warnings) for one series, HU rescale applied by GDCM."""
    import SimpleITK as sitk

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(series.files))
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        with quiet_itk():  # our own slice-spacing check below says what ITK would print
            image = reader.Execute()
    except RuntimeError as exc:
        raise InputError(f"cannot read DICOM series {series.name!r}: {_first_line(exc)}") from None
    positions = []
    for i in range(len(series.files)):
        try:
            positions.append([float(v) for v in reader.GetMetaData(i, TAG_POSITION).split("\\")])
        except (RuntimeError, ValueError):
            positions = []
            break
    warnings = []
    if len(positions) >= 3:
        orientation = [float(v) for v in reader.GetMetaData(0, TAG_ORIENTATION).split("\\")]
        warning = slice_spacing_warning(np.asarray(positions), orientation, series.name)
        if warning:
            warnings.append(warning)
    return image, warnings


def slice_spacing_warning(positions: np.ndarray, orientation, name: str) -> str | None:
    """A message with the numbers when slices are unevenly spaced or missing, else None."""
    normal = np.cross(np.asarray(orientation[:3]), np.asarray(orientation[3:6]))
    along = np.sort(positions @ normal)
    gaps = np.diff(along)
    if gaps.size == 0:
        return None
    median = float(np.median(gaps))
    if median <= 0:
        return f"series {name!r}: several slices share one position (duplicate slices?)"
    if gaps.max() - gaps.min() <= 0.01 * median + 1e-3:
        return None
    ratio = gaps / median
    steps = np.where(np.abs(ratio - np.rint(ratio)) < 0.2, np.rint(ratio), 1).astype(int)
    missing = int(np.clip(steps - 1, 0, None).sum())
    message = (
        f"series {name!r}: uneven slice spacing {gaps.min():.2f}-{gaps.max():.2f} mm "
        f"(median {median:.2f} mm over {len(along)} slices)"
    )
    if missing:
        first = int(np.argmax(steps > 1))
        message += (
            f"; about {missing} slice(s) missing, first gap between "
            f"{along[first]:.2f} and {along[first + 1]:.2f} mm"
        )
    return message


@contextmanager
def quiet_itk():
    """Keep ITK from printing warnings to stderr; problems reach the user as our own messages."""
    import SimpleITK as sitk

    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)


def _tag(reader, key: str) -> str:
    return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else ""


def _first_line(exc: Exception) -> str:
    """SimpleITK errors span many lines; keep the line that says what went wrong."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    for line in reversed(lines):
        if "rror" in line or "ould not" in line or "nable" in line:
            return line.split(": ", 1)[-1][:200]
    return (lines[-1] if lines else type(exc).__name__)[:200]
