"""One volume through a loaded model: its attention maps on the volume's own grid, its zero-shot
findings, and its embeddings. Shared by the ``mg3d`` commands and the viewer's widgets."""

from __future__ import annotations

import numpy as np
import torch


def attention_maps(loaded, volume, report: str = "", phrases=(), refine: bool = False) -> list:
    """[(AttentionMap, heat)]: one per report sentence and typed phrase; ``heat`` is float32 on the
    volume's (z, y, x) grid, so it overlays the volume in world millimetres."""
    from .attention import on_volume_grid, sentence_maps
    from .encode import model_input

    if refine:
        loaded.require("refined maps (Grad-CAM of the report-volume score)")
    maps = sentence_maps(loaded.model, model_input(volume, loaded.profile), report, phrases, refine)
    return [(m, on_volume_grid(m, volume, loaded.profile)) for m in maps]


def findings(loaded, volume, prompt_sets=None) -> tuple[dict[str, float], list[str]]:
    """(probability of each label the checkpoint learnt, the labels it did not learn): a label the
    training reports never stated (or always stated) has no probability the model has earned, so
    none is given (``model.capabilities.learnt_labels``; a checkpoint that does not say: all)."""
    probabilities = zeroshot(loaded, volume, prompt_sets)
    if loaded.learnt is None:
        return probabilities, []
    return ({k: v for k, v in probabilities.items() if k in loaded.learnt},
            [k for k in probabilities if k not in loaded.learnt])


def zeroshot(loaded, volume, prompt_sets=None) -> dict[str, float]:
    """Probability per label (the checkpoint's label set unless ``prompt_sets`` is given)."""
    from .encode import model_input
    from .zeroshot import label_log_odds

    loaded.require("findings")
    prompt_sets = prompt_sets or loaded.prompt_sets()
    x = model_input(volume, loaded.profile).to(loaded.device)  # preprocessed once for both sides
    with torch.no_grad():
        image = loaded.model.image_embedding(x)
    odds = label_log_odds(loaded.model, image, [x], prompt_sets, loaded.calibration)
    return {p.label: float(v) for p, v in zip(prompt_sets, torch.sigmoid(odds)[0].numpy())}


@torch.no_grad()
def volume_embeddings(loaded, x: torch.Tensor) -> np.ndarray:
    """(n, d) float32 unit vectors of model inputs ``x`` for similar cases: in the global alignment
    space where the checkpoint trained one, else the unimodal image embedding (the official
    weights' ``uni_modal_vision_pooler``, normalised)."""
    model = loaded.model
    if loaded.capabilities.aligned:
        return model.image_embedding(x).cpu().numpy().astype(np.float32)
    return torch.nn.functional.normalize(model.image_vector(x), dim=-1).cpu().numpy().astype(np.float32)


def image_embedding(loaded, volume) -> np.ndarray:
    """(1, d) float32 unit vector of the volume (see ``volume_embeddings``)."""
    from .encode import model_input

    return volume_embeddings(loaded, model_input(volume, loaded.profile).to(loaded.device))


@torch.no_grad()
def text_embedding(loaded, text: str) -> np.ndarray:
    """(1, d) float32 unit vector of a report or phrase in the global alignment space."""
    loaded.require("text search")
    model = loaded.model
    return model.report_embedding(model.tokenize([text]).to(loaded.device)).cpu().numpy().astype(np.float32)
