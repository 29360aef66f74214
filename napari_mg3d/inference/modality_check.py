"""Does a volume look like what a checkpoint's preprocessing profile expects (CT or MRI)?"""

from __future__ import annotations


def modality_warning(modality: str, profile) -> str | None:
    """A one-line warning when the volume's guessed modality differs from the profile's kind."""
    expected = "CT" if profile.intensity == "ct" else "MR"
    if modality in ("unknown", None) or modality.upper().startswith(expected):
        return None
    return (f"this volume looks like {modality}, but the checkpoint's profile {profile.name!r} expects "
            f"{expected}; results may be meaningless")
