"""Poolers and heads with MG-3D's parameter names (so official checkpoints load)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import batch_norm, total
from .fusion import masked_mean
from .resize import trilinear


class RowNorm(nn.Module):
    """BatchNorm1d(affine=False, track_running_stats=False) as MG-3D uses it: it normalises each
    feature over the rows in hand (the tokens of the batch; in data-parallel training, of the global
    batch). With a single row it is the identity (BatchNorm would fail); it has no parameters, so
    checkpoints are unaffected."""

    def forward(self, x):
        if float(total(x.shape[0])) < 2:
            return x
        return batch_norm(x)


class SentenceNorm(nn.Module):
    """Each row standardised over its own features (no parameters). The release writes
    BatchNorm1d(affine=False, track_running_stats=False) and applies it to a (1, sentences, features)
    tensor, whose channels are then the sentences: each sentence is normalised over its features
    (biased variance, eps 1e-5), which is what this computes on (rows, features)."""

    def forward(self, x):
        var, mean = torch.var_mean(x, dim=-1, unbiased=False, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-5)


def projection(dim_in: int, dim_hidden: int, dim_out: int, last=None) -> nn.Sequential:
    """Linear, SentenceNorm, GELU, Linear[, last]: keys .0 and .3 as in the official checkpoints
    (the release's sentence projections of ``mlm_head.fc`` and ``multi_modal_sen_vision_pooler``)."""
    layers = [nn.Linear(dim_in, dim_hidden), SentenceNorm(), nn.GELU(), nn.Linear(dim_hidden, dim_out)]
    return nn.Sequential(*layers, *([last] if last is not None else []))


class ImagePooler(nn.Module):
    """Linear over the image tokens (weights per token position), then dense and tanh."""

    def __init__(self, dim: int, tokens: int):
        super().__init__()
        self.dense = nn.Linear(dim, dim)
        self.fc = nn.Linear(tokens, 1)

    def forward(self, x):  # (b, n, d) -> (b, d)
        return torch.tanh(self.dense(self.fc(x.transpose(1, 2)).squeeze(-1)))


class MeanPooler(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dense = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        return torch.tanh(self.dense(masked_mean(x, None if mask is None else mask[..., None], dim=1)))


class SentenceVisionPooler(nn.Module):
    """Sentence-wise visual features: MLP D -> D/2 -> sentence_dim, tanh."""

    def __init__(self, dim: int, out: int):
        super().__init__()
        self.dense = projection(dim, dim // 2, out, nn.Tanh())

    def forward(self, x):  # (rows, d)
        return self.dense(x)


class ContrastiveHead(nn.Module):
    """LayerNorm and a bias-free projection on each side, L2-normalised.

    ``center`` first standardises each side with running statistics (BatchNorm without affine
    terms): reports of one kind share most of their words, so a frozen text encoder's report
    vectors are nearly parallel (cosine > 0.999) and InfoNCE's gradient, which is carried by
    their differences, all but vanishes. Centred, the differences are what is compared; at
    inference the running statistics make each embedding independent of its batch."""

    def __init__(self, dim_in: int, dim_out: int, center: bool = False):
        super().__init__()
        self.vision_ln, self.language_ln = nn.LayerNorm(dim_in), nn.LayerNorm(dim_in)
        self.vision_proj = nn.Linear(dim_in, dim_out, bias=False)
        self.language_proj = nn.Linear(dim_in, dim_out, bias=False)
        if center:
            self.vision_center = nn.BatchNorm1d(dim_in, affine=False, momentum=0.05)
            self.language_center = nn.BatchNorm1d(dim_in, affine=False, momentum=0.05)

    def _centered(self, norm, x, running: bool = False):
        """``running``: with the running statistics, left unchanged, even in training mode. In
        training, the statistics of the global batch (every process's rows), so that the result does
        not depend on how the batch is split."""
        if norm is None:
            return x
        if not norm.training or running or float(total(x.shape[0])) < 2:
            return F.batch_norm(x, norm.running_mean, norm.running_var, training=False, eps=norm.eps)
        norm.num_batches_tracked.add_(1)
        return batch_norm(x, norm.running_mean, norm.running_var, norm.momentum, norm.eps)

    def vision(self, x):
        x = self._centered(getattr(self, "vision_center", None), x)
        return F.normalize(self.vision_proj(self.vision_ln(x)), dim=-1)

    def language(self, x, running: bool = False):
        x = self._centered(getattr(self, "language_center", None), x, running)
        return F.normalize(self.language_proj(self.language_ln(x)), dim=-1)

    def forward(self, vision, language):
        return self.vision(vision), self.language(language)


class MLMHead(nn.Module):
    """BERT's prediction head (transform, decoder tied to a separate bias) and the 8-d sentence
    projection of fused sentences used by the sentence-alignment term."""

    def __init__(self, dim: int, vocab: int, align_dim: int = 8):
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(dim, dim)
        self.transform.LayerNorm = nn.LayerNorm(dim, eps=1e-12)
        self.decoder = nn.Linear(dim, vocab, bias=False)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.fc = projection(dim, 128, align_dim)

    def transformed(self, x):
        """BERT's prediction-head transform (dense, GELU, LayerNorm): what the decoder reads and what
        SAL's sentence projection ``fc`` pools."""
        return self.transform.LayerNorm(F.gelu(self.transform.dense(x)))

    def decode(self, x):
        return self.decoder(x) + self.bias

    def forward(self, x):
        return self.decode(self.transformed(x))


class MIMDecoder(nn.Module):
    """``blocks`` x [Conv3d 3x3x3, InstanceNorm, LeakyReLU, trilinear x2], then a 1x1x1 conv: five
    blocks in the official models (last-stage grid x 32 = the input)."""

    def __init__(self, dim: int, blocks: int = 5):
        super().__init__()
        # 768 -> 384 -> 192 -> 96 -> 48 -> 48 in the official models, whatever the Swin width
        channels = [dim] + [max(dim // 2 ** (i + 1), 4) for i in range(blocks - 1)] + [max(dim // 16, 4)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [
                nn.Conv3d(c_in, c_out, 3, padding=1),
                nn.InstanceNorm3d(c_out),
                nn.LeakyReLU(),
                nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False),
            ]
        layers.append(nn.Conv3d(channels[-1], 1, 1))
        self.conv = nn.Sequential(*layers)
        self.checkpointing = False  # activation checkpointing of each block while gradients are on

    def forward(self, x):
        blocks = list(self.conv)
        if not self.checkpointing:
            x = self.conv[:-1](x)
        else:
            from .swin import checkpointed

            for start in range(0, len(blocks) - 1, 4):  # conv, norm, activation, upsampling
                x = checkpointed(nn.Sequential(*blocks[start:start + 4]), x)
        return pointwise(blocks[-1], x)


def pointwise(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A 1x1x1 ``conv`` of ``x`` (b, c, d, h, w) as one matrix product over the channels: the same
    numbers, and on a CPU a backward pass several times faster than the convolution's at the
    input's full resolution."""
    w = conv.weight.view(conv.out_channels, conv.in_channels)
    y = (w @ x.flatten(2)).view(x.shape[0], conv.out_channels, *x.shape[2:])
    return y if conv.bias is None else y + conv.bias.to(y.dtype).view(1, -1, 1, 1, 1)  # the dtype autocast gives


class GroundingHead(nn.Module):
    """Our addition (see docs/method.md): image patches of the vision encoder's finest map, with
    every coarser map upsampled onto it (a feature pyramid: what the patch looks like, and where
    in the body it is), and report sentences in one space, so that the cosine of a sentence and a
    patch says how much that patch shows what the sentence states. Both sides are centred with
    running statistics, as in the global alignment (``ContrastiveHead(center=True)``: its vision
    side takes patches, its language side sentences).

    ``voxels`` > 0 adds a voxel path: a small convolution of the input volume at its own resolution,
    read by a per-sentence query, whose score is added to the patch score upsampled onto the input
    grid, so that a map can point at a finding smaller than a patch. The query starts at zero: the
    voxel path adds nothing until region masks train it (``MG3D.grounding_logits``). ``windows``:
    (low, high) intensity windows in the input's units; the path then reads each window clipped and
    stretched to [0, 1] (lung, soft tissue, bone: a difference of 100 HU in the lung is then a third
    of a channel's range, not a twentieth of the input's), instead of the input itself.

    ``outline``: a per-sentence offset (``outline_offset``) that turns a sentence's map into the
    finding's outline: a place is in it where the map's log-odds plus the offset are above 0 (the
    softmax of the map says where the sentence points and is blind to a shift of its log-odds; the
    offset says where the finding ends). Its weights start at zero and use no random numbers, so
    that every other weight starts as it would without it."""

    def __init__(self, stage_dims: tuple[int, ...], text_dim: int, dim: int, voxels: int = 0,
                 windows: tuple = (), outline: bool = False):
        super().__init__()
        if outline:
            self.outline_weight = nn.Parameter(torch.zeros(text_dim))
            self.outline_bias = nn.Parameter(torch.zeros(()))
        self.patch = nn.Sequential(nn.Linear(sum(stage_dims), dim), nn.GELU(), nn.Linear(dim, text_dim))
        self.align = ContrastiveHead(text_dim, dim, center=True)
        if voxels:
            self.voxel = nn.Sequential(nn.Conv3d(max(len(windows), 1), voxels, 3, padding=1), nn.GELU())
            bounds = torch.tensor(windows, dtype=torch.float32).reshape(-1, 2)
            if (bounds[:, 1] <= bounds[:, 0]).any():
                raise ValueError(f"grounding windows need low < high, got {windows}")
            self.register_buffer("voxel_windows", bounds, persistent=False)
            self.voxel_query = nn.Linear(text_dim, voxels)
            nn.init.zeros_(self.voxel_query.weight)
            nn.init.zeros_(self.voxel_query.bias)

    def voxel_features(self, volume) -> torch.Tensor:
        """(b, c, D, H, W) the voxel path's features of a (b, 1, D, H, W) input volume."""
        if len(self.voxel_windows):
            low, high = (w.view(1, -1, 1, 1, 1).to(volume) for w in self.voxel_windows.unbind(1))
            volume = ((volume - low) / (high - low)).clamp(0, 1)
        return self.voxel(volume)

    def patches(self, maps) -> torch.Tensor:
        """(b, n, dim) L2-normalised patch embeddings from the (b, c, d, h, w) stage maps, finest
        first; n is the finest map's voxel count, in its (d, h, w) order."""
        size = maps[0].shape[2:]
        x = torch.cat([maps[0]] + [trilinear(m, size) for m in maps[1:]], 1).flatten(2).transpose(1, 2)
        b, n, c = x.shape
        return self.align.vision(self.patch(x).reshape(b * n, -1)).view(b, n, -1)

    def outline_offset(self, sents: torch.Tensor, temperature: float) -> torch.Tensor:
        """(...) the outline offset of each sentence (..., text_dim), in the map's log-odds (/
        ``temperature``, as the map's cosines: a step of the optimiser moves it as far as it moves them)."""
        return (sents @ self.outline_weight.to(sents) + self.outline_bias.to(sents)).float() / temperature

    def sentences(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, dim) L2-normalised sentence embeddings from (rows, text_dim) sentence vectors."""
        return self.align.language(x)

    def logits(self, patches, sents, patch_grid, temperature: float, voxels=None, emb=None,
               every: bool = False) -> torch.Tensor:
        """(b, s, n) log-odds of each sentence (b, s, text_dim) at each place: cosine / temperature
        against ``patches`` (b, n, e) from ``patches``, on the patch grid (``patch_grid``); with
        ``voxels`` (b, c, D, H, W) from ``voxel``, upsampled onto their grid plus the voxel score,
        n = D * H * W. ``emb``: the sentences' embeddings, when already made. ``every``: sentences
        (q, text_dim) each against every image, (q, b, n)."""
        if emb is None:
            emb = self.sentences(sents.reshape(-1, sents.shape[-1])).view(*sents.shape[:-1], -1)
        pattern = "qe,bne->qbn" if every else "bse,bne->bsn"
        logits = torch.einsum(pattern, emb, patches).float() / temperature
        if voxels is None:
            return logits
        p, q = logits.shape[:2]
        up = trilinear(logits.reshape(p, q, *patch_grid), voxels.shape[2:]).reshape(p, q, -1)
        pattern = "qc,bcn->qbn" if every else "bsc,bcn->bsn"
        voxel = torch.einsum(pattern, self.voxel_query(sents), voxels.flatten(2))
        return up + voxel.float()
