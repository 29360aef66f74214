"""Preprocessed volumes cached on disk under a signature of the file and the profile, so a changed
file or profile never reuses a stale entry."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from .preprocess import preprocess_file
from .profiles import Profile, get_profile


def file_signature(path: str | Path) -> str:
    """Path, size and modification time of a file, or of every file in a DICOM folder."""
    path = Path(path).resolve()
    entries = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    h = hashlib.sha256(str(path).encode())
    for p in entries:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class VolumeCache:
    def __init__(self, folder: str | Path | None, profile: str | Profile):
        self.profile = get_profile(profile)
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def key(self, path) -> str:
        return f"{file_signature(path)}-{self.profile.signature()}"

    def get(self, path) -> np.ndarray:
        if self.folder is None:
            return preprocess_file(path, self.profile)
        entry = self.folder / f"{self.key(path)}.npy"
        if entry.is_file():
            try:
                return np.load(entry)
            except (ValueError, OSError):  # a torn entry (killed mid-write elsewhere): rebuild it
                os.unlink(entry)
        array = preprocess_file(path, self.profile)
        with atomic_path(entry, ".npy") as tmp:
            np.save(tmp, array)
        return array
