"""Which files and folders the readers and writers handle, by name."""

from __future__ import annotations

from pathlib import Path

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
WRITE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha")
REPORT_SUFFIXES = (".txt", ".md", ".json")
MANIFEST_SUFFIXES = (".csv", ".jsonl")


def suffix_of(path: str | Path) -> str:
    """The format suffix, lower case, with ``.nii.gz`` kept whole."""
    name = Path(path).name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return Path(name).suffix


def stem_of(path: str | Path) -> str:
    """The file name without its format suffix (``case.nii.gz`` -> ``case``)."""
    name = Path(path).name
    return name[: len(name) - len(suffix_of(path))] if suffix_of(path) else name


def is_volume_file(path: str | Path) -> bool:
    return suffix_of(path) in VOLUME_SUFFIXES
