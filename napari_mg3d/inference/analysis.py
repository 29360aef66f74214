"""One volume through a loaded model: its attention maps on the volume's own grid, its zero-shot
findings, and its embeddings. Shared by the ``mg3d`` commands and the viewer's widgets.

Each takes the volume's ``features`` (``features.CaseFeatures``, the volume encoded once) where a
caller has them, as the viewer keeps them while a case is open; without, it encodes the volume
itself. The label prompts are embedded once per loaded model (``encode.Loaded.prompt_vectors``)."""

from __future__ import annotations

import numpy as np
import torch


def attention_maps(loaded, volume, report: str = "", phrases=(), refine: bool = False, features=None) -> list:
    """[(AttentionMap, heat)]: one per report sentence and typed phrase; ``heat`` is float32 on the
    volume's (z, y, x) grid, so it overlays the volume in world millimetres. A map keeps its outline
    cut only where the checkpoint trained the outline offset (``model.capabilities.OUTLINES``)."""
    from ..model.capabilities import OUTLINES
    from .attention import on_volume_grids, sentence_maps
    from .features import features_for

    if refine:
        loaded.require("refined maps (Grad-CAM of the report-volume score)")
    case = features_for(loaded, volume, features)
    maps = sentence_maps(loaded.model, None, report, phrases, refine, features=case)
    if OUTLINES not in getattr(loaded.capabilities, "trained", ()):  # an offset no finding mask trained
        for amap in maps:
            amap.cut = None
    return list(zip(maps, on_volume_grids(maps, volume, loaded.profile)))


def findings(loaded, volume, prompt_sets=None, features=None) -> tuple[dict[str, float], list[str]]:
    """(probability of each label the checkpoint learnt, the labels it did not learn): a label the
    training reports never stated (or always stated) has no probability the model has earned, so
    none is given (``model.capabilities.learnt_labels``; a checkpoint that does not say: all)."""
    probabilities = zeroshot(loaded, volume, prompt_sets, features)
    if loaded.learnt is None:
        return probabilities, []
    return ({k: v for k, v in probabilities.items() if k in loaded.learnt},
            [k for k in probabilities if k not in loaded.learnt])


def zeroshot(loaded, volume, prompt_sets=None, features=None) -> dict[str, float]:
    """Probability per label (the checkpoint's label set unless ``prompt_sets`` is given): the
    label prompts (embedded once per loaded model) against the volume's features."""
    from .features import features_for
    from .zeroshot import combined_log_odds, global_log_odds, pooled_grounding

    loaded.require("findings")
    prompt_sets = prompt_sets or loaded.prompt_sets()
    case = features_for(loaded, volume, features)
    model = loaded.model
    vectors = embed_prompts(loaded, prompt_sets)
    odds = global_log_odds(model, case.embedding, prompt_sets, vectors)
    grounding = None
    if vectors.phrases is not None:  # the grounding head's findings join the global prompt pairs' (label_log_odds)
        grounding = pooled_grounding(model, case.patches, case.voxels, vectors.phrases, vectors.owner,
                                     len(prompt_sets))[None].cpu()
    odds = combined_log_odds(odds, grounding, [p.label for p in prompt_sets], loaded.calibration)
    return {p.label: float(v) for p, v in zip(prompt_sets, torch.sigmoid(odds)[0].numpy())}


def embed_prompts(loaded, prompt_sets=None):
    """``zeroshot.PromptVectors`` of the label set (the checkpoint's unless ``prompt_sets`` is
    given), as ``zeroshot`` reads them: embedded once per loaded model and kept on it. The viewer
    calls it as a model loads, so that no case's findings wait for the prompts."""
    grounded = bool(loaded.model.config.grounding and loaded.calibration)
    return loaded.prompt_vectors(prompt_sets or loaded.prompt_sets(), phrases=grounded)


@torch.no_grad()
def volume_embeddings(loaded, x: torch.Tensor) -> np.ndarray:
    """(n, d) float32 unit vectors of model inputs ``x`` for similar cases: in the global alignment
    space where the checkpoint trained one, else the unimodal image embedding (the official
    weights' ``uni_modal_vision_pooler``, normalised)."""
    model = loaded.model
    if loaded.capabilities.aligned:
        return model.image_embedding(x).cpu().numpy().astype(np.float32)
    return torch.nn.functional.normalize(model.image_vector(x), dim=-1).cpu().numpy().astype(np.float32)


def image_embedding(loaded, volume, features=None) -> np.ndarray:
    """(1, d) float32 unit vector of the volume (see ``volume_embeddings``)."""
    from .features import features_for

    case = features_for(loaded, volume, features)
    if loaded.capabilities.aligned:
        return case.embedding.cpu().numpy().astype(np.float32)
    return torch.nn.functional.normalize(case.vector, dim=-1).cpu().numpy().astype(np.float32)


@torch.no_grad()
def text_embedding(loaded, text: str) -> np.ndarray:
    """(1, d) float32 unit vector of a report or phrase in the global alignment space."""
    loaded.require("text search")
    model = loaded.model
    return model.report_embedding(model.tokenize([text]).to(loaded.device)).cpu().numpy().astype(np.float32)
