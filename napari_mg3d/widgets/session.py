"""What the MG-3D widgets of one viewer share: the loaded model (with a signal when it changes),
the case library last searched, the attention maps already computed, and the case open: its
volume encoded once by the loaded model (``inference.features.CaseFeatures``), which its attention
maps, findings and similar cases all read."""

from __future__ import annotations

import threading
import weakref

from qtpy.QtCore import QObject, Signal

from .settings import remember
from .tasks import run_task

_SESSIONS: dict[int, tuple[weakref.ref, "Session"]] = {}


class Session(QObject):
    model_changed = Signal(object)  # inference.encode.Loaded
    segmenter_offered = Signal(str)  # a segmentation checkpoint the Training widget made
    # (layer, its out-of-distribution line or None): a case's volume checked against the loaded
    # model's training data (``inference.familiarity``), when its features are first made
    case_checked = Signal(object, object)

    def __init__(self, viewer):
        super().__init__()
        self.viewer = viewer
        self.loaded = None
        self.library = ""
        # (layer name, model id, refine, typed phrase or None) -> [(AttentionMap, heat)]
        self.attention_cache: dict = {}
        # the case open: (case_key, CaseFeatures) of the volume last encoded with the loaded model;
        # made in workers (under the lock, so two widgets asking at once encode it once), dropped
        # on the main thread (never waiting for the lock) when another model is loaded or its layer
        # is closed, and replaced when another case is analysed
        self._case = None
        self._case_lock = threading.Lock()
        viewer.layers.events.removed.connect(self._on_removed)

    def load_model(self, checkpoint: str | None, name: str, device: str, owner=None, on_error=None):
        """Load in the background; ``model_changed`` when done. Returns the task."""
        from ..inference.encode import load_model

        def work():
            from ..inference.analysis import embed_prompts

            yield "reading the checkpoint" if checkpoint else f"building {name}"
            leave_a_core_for_the_viewer()
            loaded = load_model(checkpoint or None, device, name)
            if loaded.capabilities.refusal("findings") is None:
                yield "embedding the label prompts"  # once per model, kept: no case's findings wait for them
                embed_prompts(loaded)
            return loaded

        return run_task(work, f"Loading {name if not checkpoint else checkpoint}", self._set_model, owner=owner,
                        on_error=on_error)

    def _set_model(self, loaded) -> None:
        self.loaded = loaded
        self.attention_cache.clear()
        self._case = None
        remember(checkpoint=loaded.checkpoint, model_name=loaded.name, device=str(loaded.device))
        self.model_changed.emit(loaded)

    def case_features(self, loaded, layer):
        """``layer``'s volume encoded by ``loaded`` (``inference.features.CaseFeatures``): once while
        the case stays open, then kept. Runs in a worker (an encode takes seconds). The first time,
        the volume is checked against the model's training data (``case_checked``, ``unfamiliar``)."""
        from ..inference.familiarity import unfamiliar_line
        from ..inference.features import encode_case
        from ..plugin.layers import layer_volume

        key = case_key(layer, loaded)
        with self._case_lock:
            case = self._case
            if case is not None and case[0] == key:
                return case[1]
            self._case = None  # the previous case's features go before the next ones are made
            volume = layer_volume(layer)
            features = encode_case(loaded, volume)
            line = unfamiliar_line(loaded, volume, features)
            if self.loaded is loaded:  # not a model replaced meanwhile
                self._case = (key, features, line)
            self.case_checked.emit(layer, line)  # delivered on the main thread
            return features

    def unfamiliar(self, loaded, layer) -> str | None:
        """The out-of-distribution line of the open case, once its features are made; else None."""
        case = self._case
        return case[2] if case is not None and case[0] == case_key(layer, loaded) else None

    def has_case_features(self, loaded, layer) -> bool:
        case = self._case
        return case is not None and case[0] == case_key(layer, loaded)

    def _on_removed(self, event) -> None:
        case = self._case
        if case is not None and case[0][0] == id(event.value):
            self._case = None

    def set_library(self, folder: str) -> None:
        self.library = folder
        remember(library=folder)


def case_key(layer, loaded) -> tuple:
    """What a case's features depend on: the layer (its data and the geometry it is drawn with)
    and the model."""
    import numpy as np

    geometry = np.concatenate([np.ravel(layer.scale), np.ravel(layer.translate), np.ravel(layer.rotate),
                               np.ravel(layer.affine.affine_matrix)]).astype(np.float64).tobytes()
    return id(layer), id(layer.data), geometry, id(loaded.model)


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
