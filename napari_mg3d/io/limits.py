"""The memory limit for one volume, configurable by argument or ``MG3D_MAX_VOLUME_MB``."""

from __future__ import annotations

import os

DEFAULT_MAX_VOLUME_MB = 4096


def max_volume_bytes(override: int | None = None) -> int:
    if override is not None:
        return int(override)
    value = os.environ.get("MG3D_MAX_VOLUME_MB", "").strip()
    try:
        return int(float(value) * 2**20) if value else DEFAULT_MAX_VOLUME_MB * 2**20
    except ValueError:
        return DEFAULT_MAX_VOLUME_MB * 2**20
