"""What the widgets remember between sessions (last checkpoint, device, library, manifest): one
JSON file in the user's config folder (``MG3D_SETTINGS`` names another)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..io.atomic import atomic_path


def settings_path() -> Path:
    if os.environ.get("MG3D_SETTINGS"):
        return Path(os.environ["MG3D_SETTINGS"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "napari-mg3d" / "settings.json"


def load_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: start afresh rather than fail the widget
    return data if isinstance(data, dict) else {}


def remember(**values) -> None:
    data = {**load_settings(), **{k: v for k, v in values.items() if v is not None}}
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, ".json") as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2), encoding="utf-8")
