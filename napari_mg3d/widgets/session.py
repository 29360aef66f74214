"""What the MG-3D widgets of one viewer share: the loaded model (with a signal when it changes),
the case library last searched, the attention maps already computed."""

from __future__ import annotations

import weakref

from qtpy.QtCore import QObject, Signal

from .settings import remember
from .tasks import run_task

_SESSIONS: dict[int, tuple[weakref.ref, "Session"]] = {}


class Session(QObject):
    model_changed = Signal(object)  # inference.encode.Loaded
    segmenter_offered = Signal(str)  # a segmentation checkpoint the Training widget made

    def __init__(self, viewer):
        super().__init__()
        self.viewer = viewer
        self.loaded = None
        self.library = ""
        # (layer name, model id, refine, typed phrase or None) -> [(AttentionMap, heat)]
        self.attention_cache: dict = {}

    def load_model(self, checkpoint: str | None, name: str, device: str, owner=None, on_error=None):
        """Load in the background; ``model_changed`` when done. Returns the task."""
        from ..inference.encode import load_model

        def work():
            yield "reading the checkpoint" if checkpoint else f"building {name}"
            leave_a_core_for_the_viewer()
            return load_model(checkpoint or None, device, name)

        return run_task(work, f"Loading {name if not checkpoint else checkpoint}", self._set_model, owner=owner,
                        on_error=on_error)

    def _set_model(self, loaded) -> None:
        self.loaded = loaded
        self.attention_cache.clear()
        remember(checkpoint=loaded.checkpoint, model_name=loaded.name, device=str(loaded.device))
        self.model_changed.emit(loaded)

    def set_library(self, folder: str) -> None:
        self.library = folder
        remember(library=folder)


def leave_a_core_for_the_viewer() -> None:
    """torch's CPU threads one fewer than the cores: inference in a worker thread then never takes
    every core from the thread that draws the viewer."""
    import os

    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores > 1 and torch.get_num_threads() >= cores:
        torch.set_num_threads(cores - 1)


def session_for(viewer) -> Session:
    """The one Session of ``viewer`` (made on first use)."""
    for key in [k for k, (ref, _) in _SESSIONS.items() if ref() is None]:
        del _SESSIONS[key]
    entry = _SESSIONS.get(id(viewer))
    if entry is None or entry[0]() is not viewer:
        entry = (weakref.ref(viewer), Session(viewer))
        _SESSIONS[id(viewer)] = entry
    return entry[1]
