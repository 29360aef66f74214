"""Preprocessed volumes cached on disk under a signature of the file and the profile, so a changed
file or profile never reuses a stale entry.

One cache serves every run (``default_folder``: ``MG3D_CACHE_DIR``/volumes or the platform's cache
folder), and several processes may fill it at once: each entry is written to a temporary file
beside it and renamed over it, so a reader sees a whole entry or none. Entries are stored in
float16 when that keeps every value within ``TOLERANCE`` of float32 (preprocessed CT and MR volumes
in [0, 1]: the largest error is 2^-12 = 0.00024, half a Hounsfield unit on the [-1000,
1000] HU window; masks and label maps of fewer than 2048 labels are exact), half of float32's 6 MB
for a CT-RATE volume; otherwise in float32. A volume reads back the same whether it was just made
or read from the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from .preprocess import preprocess_file
from .profiles import Profile, get_profile

TOLERANCE = 1e-3  # the largest change storing in float16 may make, else float32 is kept
STORAGE = "f16"  # in every entry's name: entries of another storage are not read


def default_folder() -> Path:
    """The shared cache of preprocessed volumes: ``MG3D_CACHE_DIR``/volumes, else the platform's
    cache folder for napari-mg3d (``~/.cache/napari-mg3d/volumes`` on Linux)."""
    from .examples import cache_dir

    return cache_dir() / "volumes"


def file_signature(path: str | Path) -> str:
    """Path, size and modification time of a file, or of every file in a DICOM folder."""
    path = Path(path).resolve()
    entries = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    h = hashlib.sha256(str(path).encode())
    for p in entries:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def compact(array: np.ndarray) -> np.ndarray:
    """``array`` as stored: float16 where that changes no value by more than ``TOLERANCE``."""
    if array.dtype.kind != "f" or not np.isfinite(array).all():
        return array
    half = array.astype(np.float16)
    if np.isfinite(half).all() and np.abs(half.astype(np.float32) - array).max(initial=0.0) <= TOLERANCE:
        return half
    return array


class VolumeCache:
    """Preprocessed volumes of one profile; ``folder`` None: made anew at each ``get`` (nothing kept)."""

    def __init__(self, folder: str | Path | None, profile: str | Profile):
        self.profile = get_profile(profile)
        self.folder = Path(folder) if folder else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)

    def key(self, path) -> str:
        return f"{file_signature(path)}-{self.profile.signature()}-{STORAGE}"

    def get(self, path) -> np.ndarray:
        """The preprocessed volume (float32), from the cache or made and stored."""
        if self.folder is None:
            return preprocess_file(path, self.profile)
        entry = self.folder / f"{self.key(path)}.npy"
        if entry.is_file():
            try:
                return np.load(entry).astype(np.float32)
            except (ValueError, OSError):  # damaged (a partial copy of the folder): made again
                entry.unlink(missing_ok=True)
        stored = compact(preprocess_file(path, self.profile))
        with atomic_path(entry, ".part") as tmp, open(tmp, "wb") as f:  # never an entry's name until whole
            np.save(f, stored)
        return stored.astype(np.float32)
