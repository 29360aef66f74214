"""Cross-modal attention maps: where in the volume each report sentence (or typed phrase) points.

The map of a sentence is, for a model with a grounding head (mg3d-tiny; our addition, see
MG3D.grounding_logits), the share of each place in a softmax of that head's sentence
scores (the shares the grounding objective trains the maximum of and the region objective the
spread of): on the input grid (64 x 64 x 64) where the head has a voxel path, else on the patch grid
(16 x 16 x 16); for the official models, how the
sentence's attention in the first image-sentence fusion layer is shared among the last-stage image
tokens (softmax over tokens of the release's own affinity query2(sentence) . key1(token) / sqrt(D);
MG3D.sentence_patch_affinity), on
the 4 x 3 x 4 grid of Swin-B. Either is resampled trilinearly back onto the volume's own grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class AttentionMap:
    text: str  # the sentence or phrase
    source: str  # "report" or "typed"
    grid: np.ndarray  # (token grid) attention shares in (0, 1), summing to 1, encoder axis order
    start: int = -1  # character offsets in the report (report sentences)
    end: int = -1
    # a model trained with the outline objective (``MG3D.grounding_outline``): the share of ``grid``
    # from which a place is in the finding's outline (where the map's log-odds plus the sentence's
    # outline offset reach 0); None: no such outline (``inference.outline``'s relative rule then)
    cut: float | None = None


def _chunks(sentences, tokenizer, max_tokens: int) -> list[list]:
    """Consecutive sentences grouped so that each group fits the text encoder's window."""
    groups, current, used = [], [], 2  # [CLS] and [SEP]
    for s in sentences:
        n = len(tokenizer.tokenize(s.text))
        if current and used + n > max_tokens:
            groups.append(current)
            current, used = [], 2
        current.append(s)
        used += n
    return groups + ([current] if current else [])


MAX_MAPS = 100  # sentences mapped of one report (CT-RATE's longest reports have about 40)


def sentence_maps(model, volume_input: torch.Tensor | None, report: str = "", phrases=(),
                  refine: bool = False, features=None) -> list[AttentionMap]:
    """One map per sentence of ``report`` (in context, as in pre-training) and per typed phrase.
    ``refine``: Grad-CAM maps instead (``gradient_maps``), at twice the token grid's resolution.
    ``features``: the volume already encoded (``features.CaseFeatures``; ``volume_input`` is then
    not read), else ``volume_input`` is encoded here."""
    from .features import encode_input

    features = features if features is not None else encode_input(model, volume_input)
    maps = _affinity_maps(model, features, report, phrases)
    if refine and maps:
        for amap, grid in zip(maps, gradient_maps(model, features.x, [m.text for m in maps])):
            amap.grid, amap.cut = grid, None  # the outline offset was trained on the head's maps only
    return maps


@torch.no_grad()
def _affinity_maps(model, features, report: str, phrases) -> list[AttentionMap]:
    from ..knowledge import split_sentences

    device = next(model.parameters()).device
    grounded = model.config.grounding
    # the image side once per volume: the grounding head's patches (and voxel path), or the last
    # stage's tokens
    img = features.patches if grounded else features.tokens  # (1, n, e)
    voxels = features.voxels if grounded else None
    if not grounded:
        grid = model.config.grid
    else:
        grid = model.config.patch_grid if voxels is None else tuple(voxels.shape[2:])

    outlined = grounded and model.config.grounding_outline

    def affinity_of(sents):  # (1, s, d) -> (1, s, n) shares, and (1, s) outline cuts or None
        if not grounded:
            return model.sentence_patch_affinity(img, sents), None
        logits = model.grounding_logits(img, sents, voxels)
        cut = None
        if outlined:  # the share at which log-odds + offset = 0: exp(-offset - log sum exp(log-odds))
            offset = model.grounding_head.outline_offset(sents, model.config.temperature)
            cut = torch.exp(-offset.double() - torch.logsumexp(logits.double(), -1))
        return torch.softmax(logits, dim=-1), cut
    out: list[AttentionMap] = []
    sentences = [s for s in split_sentences(report) if s.text.strip()] if report.strip() else []
    if len(sentences) > MAX_MAPS:  # each map is a volume: memory grows with them
        import warnings

        warnings.warn(f"the report has {len(sentences)} sentences: maps for the first {MAX_MAPS} only", stacklevel=2)
        sentences = sentences[:MAX_MAPS]
    groups = _chunks(sentences, model.tokenizer, model.config.text.max_tokens)
    texts = [(" ".join(s.text for s in g), g, "report") for g in groups]
    texts += [(p, None, "typed") for p in phrases if p.strip()]
    for text, group, source in texts:
        batch = model.tokenize([text]).to(device)
        tokens = model.text_tokens(batch.input_ids, batch.attention_mask)
        if source == "typed":
            # the phrase as one sentence: the mean over its tokens
            mean = tokens[:, batch.attention_mask[0].bool()].mean(1, keepdim=True)
            a, cut = affinity_of(mean)
            out.append(AttentionMap(text, "typed", a[0, 0].float().cpu().numpy().reshape(grid),
                                    cut=None if cut is None else float(cut[0, 0])))
            continue
        sents = model.sentences(tokens, batch)  # (1, s, d)
        affinity, cuts = affinity_of(sents)
        affinity = affinity[0].float().cpu().numpy()  # (s, n)
        used = batch.sentence_mask[0].cpu().numpy()
        # the tokenizer splits the group again: match its sentences to ours by text
        pending = list(group)
        for k, text_k in enumerate(batch.sentences[0]):
            match = next((s for s in pending if s.text == text_k), None)
            if match is None or k >= len(used) or not used[k]:
                continue  # cut off by the token window, or split differently
            pending.remove(match)
            out.append(AttentionMap(match.text, "report", affinity[k].reshape(grid), match.start, match.end,
                                    None if cuts is None else float(cuts[0, k])))
    return out


def gradient_maps(model, volume_input: torch.Tensor, texts: list[str]) -> list[np.ndarray]:
    """Grad-CAM refinement: for each text, how the next-to-last vision stage (twice the last
    stage's resolution) drives the cosine between the volume and the text in the global alignment
    space; ReLU(sum over channels of mean gradient x activation), scaled to [0, 1]."""
    device = next(model.parameters()).device
    with torch.no_grad():
        texts_emb = model.report_embedding(model.tokenize(list(texts)).to(device))  # (t, d)
    with torch.enable_grad():
        import torch.nn.functional as F

        stages = model.vision_encoder.stages(volume_input.to(device))
        finer, last = stages[-2], stages[-1]  # (1, d, h, w, c), channels last
        last = F.layer_norm(last, last.shape[-1:]).permute(0, 4, 1, 2, 3)
        image = model.itc_head.vision(model.uni_modal_vision_pooler(model.tokens_of(last)))  # (1, d)
        scores = (image @ texts_emb.t())[0]
        out = []
        for k in range(len(texts)):
            (grad,) = torch.autograd.grad(scores[k], finer, retain_graph=k < len(texts) - 1)
            weights = grad.mean((1, 2, 3), keepdim=True)
            cam = torch.relu((weights * finer).sum(-1))[0].detach().float()
            cam = cam / cam.max() if cam.max() > 0 else cam
            out.append(cam.cpu().numpy())
    return out


def on_volume_grid(amap: AttentionMap, volume, profile) -> np.ndarray:
    """The map resampled onto the volume's (z, y, x) grid: float32, overlays it in world mm."""
    return on_volume_grids([amap], volume, profile)[0]


def on_volume_grids(maps: list[AttentionMap], volume, profile) -> list[np.ndarray]:
    """Each map upsampled trilinearly onto the profile's grid, then resampled onto the volume's
    (z, y, x) grid (``data.restore.upsampled_to_original_grid``: for an axis-aligned volume both
    in one pass of three small matrices); outside the model's field of view, the map's minimum."""
    from ..data.restore import upsampled_to_original_grid

    if not maps:
        return []
    # the maps of one call share their grid (the token grid, or Grad-CAM's for all of them)
    heats = upsampled_to_original_grid(np.stack([m.grid for m in maps]), volume.geometry, volume.array.shape,
                                       profile)
    return list(heats)
