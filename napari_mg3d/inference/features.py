"""One case encoded once for one loaded model: what every analysis of the volume reads from the
vision side (its attention maps, zero-shot findings and the embedding similar cases search with),
made in one no-gradient pass and kept while the case is open, so that no analysis encodes the
volume again.

The vision encoder's feature pyramid is read once and not kept (for Swin-B on a CT-RATE input it
is over 100 MB); only what the analyses read of it is: the last stage's image tokens, their pooled
vector and alignment embedding, and, for a model with a grounding head, the head's patches and
voxel features. Refined (Grad-CAM) maps differentiate through the encoder, so they run it again on
the kept model input."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class CaseFeatures:
    model: object  # the MG3D they were computed with
    x: torch.Tensor  # (1, 1, ...) the model input, on the model's device
    tokens: torch.Tensor  # (1, n, hidden) the last vision stage's image tokens (MG3D.tokens_of)
    vector: torch.Tensor  # (1, hidden) their unimodal pooled vector (MG3D.image_vector)
    embedding: torch.Tensor  # (1, d) the unit image embedding in the global alignment space
    patches: torch.Tensor | None = None  # the grounding head's patches (grounding_head.patches)
    voxels: torch.Tensor | None = None  # the grounding head's voxel features (MG3D.grounding_voxels)

    def of(self, loaded) -> bool:
        """Whether these are features of ``loaded``'s model."""
        return self.model is loaded.model


@torch.no_grad()
def encode_input(model, x: torch.Tensor) -> CaseFeatures:
    """The features of one model input ``x`` (1, 1, ...): the vision encoder runs once."""
    x = x.to(next(model.parameters()).device)
    feats = model.vision_encoder(x)
    tokens = model.tokens_of(feats[-1])
    vector = model.uni_modal_vision_pooler(tokens)
    patches = voxels = None
    if model.config.grounding:
        patches = model.grounding_head.patches(feats)
        voxels = model.grounding_voxels(x)
    del feats
    return CaseFeatures(model, x, tokens, vector, model.itc_head.vision(vector), patches, voxels)


def encode_case(loaded, volume) -> CaseFeatures:
    """A Volume through the checkpoint's preprocessing and its vision side, once."""
    from .encode import model_input

    return encode_input(loaded.model, model_input(volume, loaded.profile))


def features_for(loaded, volume, features: CaseFeatures | None) -> CaseFeatures:
    """``features`` when given (refused when they are another model's), else the volume encoded."""
    if features is None:
        return encode_case(loaded, volume)
    if not features.of(loaded):
        raise ValueError("these case features were computed with another model")
    return features
