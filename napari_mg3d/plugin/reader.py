"""napari readers: volumes (NIfTI, NRRD, MHA/MHD), DICOM folders, and case manifests.

A read that fails on bad input tells the user in one line (a napari notification) and opens nothing.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..io.errors import InputError
from ..io.formats import is_volume_file
from ..io.manifest import is_manifest, read_manifest
from ..io.report import find_report, read_report
from ..io.volume import read_volume, read_volumes
from .layers import image_layer, labels_layer, volume_layer

MAX_MANIFEST_CASES = 8


def get_volume_reader(path):
    if isinstance(path, list):
        return None
    p = Path(path)
    if p.is_dir():
        return None if p.suffix.lower() in (".zarr", ".n5") else _guarded(read_volume_layers)
    return _guarded(read_volume_layers) if is_volume_file(p) else None


def get_manifest_reader(path):
    if isinstance(path, list) or not is_manifest(path):
        return None
    return _guarded(read_manifest_layers)


def read_volume_layers(path) -> list[tuple]:
    """Every volume at ``path`` (one per DICOM series) with the report found beside it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        volumes = read_volumes(path)
    for w in caught:
        _notify("warning", str(w.message))
    report, report_path = None, find_report(path)
    if report_path is not None:
        try:
            report = read_report(report_path)
        except InputError as exc:
            _notify("error", str(exc))
            report_path = None
    layers = []
    for i, volume in enumerate(volumes):
        # several series share one folder: each gets its own layer, only the first is shown
        data, kwargs, kind = volume_layer(volume, report, report_path)
        kwargs["visible"] = i == 0
        layers.append((data, kwargs, kind))
    if len(volumes) > 1:
        _notify("info", f"{Path(path).name}: opened {len(volumes)} DICOM series: {', '.join(v.name for v in volumes)}")
    return layers


def read_manifest_layers(path) -> list[tuple]:
    """The cases of a manifest, each as its image (with report) and segmentation; first shown."""
    cases = read_manifest(path)
    if len(cases) > MAX_MANIFEST_CASES:
        _notify("info", f"{Path(path).name} lists {len(cases)} cases; opened the first {MAX_MANIFEST_CASES}")
    layers = []
    for i, case in enumerate(cases[:MAX_MANIFEST_CASES]):
        volume = read_volume(case.volume)
        data, kwargs, kind = image_layer(volume, case.report, case.report_path, name=case.id)
        kwargs["metadata"].update(case_id=case.id, labels=case.labels, split=case.split)
        kwargs["visible"] = i == 0
        layers.append((data, kwargs, kind))
        if case.segmentation is not None:
            seg = read_volume(case.segmentation)
            seg_layer = labels_layer(seg.array, seg.geometry, f"{case.id} segmentation", seg.source)
            seg_layer[1]["visible"] = i == 0
            layers.append(seg_layer)
    return layers


def _guarded(read):
    def reader(path):
        try:
            return read(path)
        except InputError as exc:
            _notify("error", str(exc))
        except (RuntimeError, OSError, ValueError) as exc:  # a library's own failure on odd input
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
            _notify("error", f"cannot open {Path(path).name}: {first}")
        return [(None,)]

    return reader


def _notify(level: str, message: str) -> None:
    from napari.utils import notifications

    {"error": notifications.show_error, "warning": notifications.show_warning}.get(
        level, notifications.show_info
    )(message)
