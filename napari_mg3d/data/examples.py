"""Public example volumes, fetched once with pooch (fixed sha256) and cached."""

from __future__ import annotations

import os
from pathlib import Path

from ..io.errors import InputError

TOTALSEG_COMMIT = "0e65a448d557382b1e925276212b3bec7f5aff83"
EXAMPLE_CT = {
    "fname": "totalsegmentator_example_ct.nii.gz",
    "url": f"https://github.com/wasserth/TotalSegmentator/raw/{TOTALSEG_COMMIT}/tests/reference_files/example_ct.nii.gz",
    "known_hash": "sha256:dbd3ae6d614d1d7ef3a46925c30c70038ed52da6b37fdd6afdc7b9b71387e3e1",
}


def cache_dir() -> Path:
    """``MG3D_CACHE_DIR`` or the platform's cache folder for napari-mg3d."""
    env = os.environ.get("MG3D_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("napari-mg3d"))


def fetch_example_ct(url: str | None = None) -> Path:
    """The TotalSegmentator example CT (Apache-2.0 / CC BY 4.0), downloaded on first use."""
    import pooch

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return Path(
            pooch.retrieve(
                url or EXAMPLE_CT["url"], EXAMPLE_CT["known_hash"], fname=EXAMPLE_CT["fname"],
                path=folder, progressbar=False,
            )
        )
    except ValueError as exc:  # pooch's hash mismatch
        raise InputError(f"the downloaded example CT is not the expected file ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # requests/urllib errors when offline
        raise InputError(
            f"cannot download the TotalSegmentator example CT ({type(exc).__name__}); are you offline? "
            f"Put example_ct.nii.gz at {folder / EXAMPLE_CT['fname']} and try again"
        ) from None
