"""CT display windows (level, width in HU) and their contrast limits."""

from __future__ import annotations

WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "soft tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
}
DEFAULT_CT_WINDOW = "soft tissue"


def contrast_limits(preset: str) -> tuple[float, float]:
    """(low, high) for a named window; raises KeyError listing the names for an unknown one."""
    try:
        level, width = WINDOW_PRESETS[preset]
    except KeyError:
        raise KeyError(f"unknown window {preset!r}; choose one of {', '.join(WINDOW_PRESETS)}") from None
    return level - width / 2, level + width / 2
