"""3D Swin Transformer encoder with MONAI's ``SwinTransformer`` state-dict layout (SwinUNETR
``swinViT``, v1 patch merging), so weights move both ways, and the same outputs, computed faster
(see window_attention.py)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .window_attention import WindowAttention, window_plan


def checkpointed(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)``, its activations recomputed in the backward pass instead of kept (less memory,
    about one more forward's time), when gradients are on; plain otherwise."""
    if not torch.is_grad_enabled():
        return module(x)
    from torch.utils.checkpoint import checkpoint

    return checkpoint(module, x, use_reentrant=False)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.linear2(F.gelu(self.linear1(x)))


def clip_window(size, window, shift):
    """A window no larger than the input, and no shift along an axis it covers whole (as MONAI)."""
    w = tuple(min(s, k) for s, k in zip(size, window))
    sh = tuple(0 if s <= k else h for s, k, h in zip(size, window, shift))
    return w, sh


class SwinBlock(nn.Module):
    def __init__(self, dim, num_heads, window_size, shift_size, mlp_ratio=4.0, qkv_bias=True):
        super().__init__()
        self.window_size, self.shift_size = tuple(window_size), tuple(shift_size)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, num_heads, self.window_size, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    STREAM = True  # without gradients on a CPU, ``streamed`` (False: the whole-tensor path, to compare)
    STREAM_WINDOWS = 16  # windows attended at a time, and
    STREAM_TOKENS = 4096  # tokens through the MLP at a time, by ``streamed``

    def forward(self, x):  # (b, d, h, w, c)
        b, d, h, w, c = x.shape
        window, shift = clip_window((d, h, w), self.window_size, self.shift_size)
        plan = window_plan((d, h, w), window, shift, str(x.device))
        if self.STREAM and x.device.type == "cpu" and not torch.is_grad_enabled():
            return self.streamed(x, plan)
        y = self.norm1(x).view(b, d * h * w, c)
        y = torch.cat([y, y.new_zeros(b, 1, c)], 1)  # the token that padding slots read
        y = self.attn(y.index_select(1, plan.gather), plan)
        x = x + y.index_select(1, plan.scatter).view(b, d, h, w, c)
        return x + self.mlp(self.norm2(x))

    def streamed(self, x, plan):
        """The same block without gradients, a few windows (then a few thousand tokens) at a time
        from reading them to adding the result back: on a CPU, whose memory bandwidth the
        whole-tensor passes are bound by, the intermediates stay in the cache (Swin-B on a
        CT-RATE input: about a quarter less time, and less memory)."""
        b, d, h, w, c = x.shape
        tokens = d * h * w
        out = x.clone(memory_format=torch.contiguous_format)
        masks = self.attn.masks(plan, x.dtype)
        step = self.STREAM_WINDOWS * plan.n
        for i in range(b):
            source, target = x[i].reshape(tokens, c), out[i].view(tokens, c)
            for start, stop, mask in masks:
                for first in range(start * plan.n, stop * plan.n, step):
                    index = plan.gather[first:min(first + step, stop * plan.n)]
                    pad = index == tokens  # padding slots: zero tokens after the norm
                    y = self.norm1(source.index_select(0, index.clamp(max=tokens - 1)))
                    padded = bool(pad.any())
                    if padded:
                        y[pad] = 0
                    y = self.attn.attend(y, plan.n, mask)
                    if padded:
                        index, y = index[~pad], y[~pad]
                    target.index_add_(0, index, y.to(target.dtype))
            for first in range(0, tokens, self.STREAM_TOKENS):
                part = target[first:first + self.STREAM_TOKENS]
                part += self.mlp(self.norm2(part))
        return out


class PatchMerging(nn.Module):
    """MONAI's v1 ("merging") layout: eight 2x2x2 neighbours concatenated in its order."""

    ORDER = ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1))

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(8 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(8 * dim)

    def forward(self, x):  # (b, d, h, w, c)
        d, h, w = x.shape[1:4]
        if d % 2 or h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2, 0, d % 2))
        x = torch.cat([x[:, i::2, j::2, k::2, :] for i, j, k in self.ORDER], -1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    def __init__(self, dim, depth, num_heads, window_size, mlp_ratio=4.0, qkv_bias=True, downsample=True):
        super().__init__()
        shift = tuple(k // 2 for k in window_size)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, num_heads, window_size, (0, 0, 0) if i % 2 == 0 else shift, mlp_ratio, qkv_bias)
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(self, x):  # channels last: (b, d, h, w, c) -> (b, d/2, h/2, w/2, 2c)
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, in_chans: int, embed_dim: int, patch_size=(2, 2, 2)):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        """(b, embed, d, h, w), as MONAI's."""
        return self.channels_last(x).permute(0, 4, 1, 2, 3)

    def channels_last(self, x):
        """(b, d, h, w, embed), channels-last as the Swin stages take it. While its weights train,
        the same convolution (its kernel is its stride: the patches do not overlap) as one matrix
        product of each patch's voxels with the kernel, whose backward pass on a CPU is many times
        faster than the convolution's (64 ms against 3 for the tiny model's batch); the plain
        convolution's forward is the faster one otherwise."""
        pads = [(p - s % p) % p for s, p in zip(x.shape[2:], self.patch_size)]
        if any(pads):
            x = F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]))
        if not (torch.is_grad_enabled() and self.proj.weight.requires_grad):
            return self.proj(x).permute(0, 2, 3, 4, 1).contiguous()
        b, c, d, h, w = x.shape
        (pd, ph, pw), out = self.patch_size, self.proj.out_channels
        patches = x.reshape(b, c, d // pd, pd, h // ph, ph, w // pw, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        patches = patches.reshape(b, d // pd, h // ph, w // pw, c * pd * ph * pw)
        return F.linear(patches, self.proj.weight.view(out, -1), self.proj.bias)


class SwinEncoder(nn.Module):
    """Returns the normalised feature maps, as MONAI's ``SwinTransformer(x)`` (five for its four
    layers; one more than the number of layers in general)."""

    def __init__(self, in_chans=1, embed_dim=48, window_size=(7, 7, 7), patch_size=(2, 2, 2),
                 depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24), mlp_ratio=4.0, qkv_bias=True):
        super().__init__()
        self.embed_dim = embed_dim
        self.patch_embed = PatchEmbed(in_chans, embed_dim, patch_size)
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            layer = BasicLayer(embed_dim * 2**i, depth, heads, tuple(window_size), mlp_ratio, qkv_bias)
            setattr(self, f"layers{i + 1}", nn.ModuleList([layer]))
        self.num_layers = len(depths)
        self.num_features = embed_dim * 2 ** len(depths)
        self.checkpointing = False  # activation checkpointing of each stage while gradients are on

    def stages(self, x) -> list:
        """The patch embedding's and each layer's output, channels-last (b, d, h, w, c), unnormalised:
        each one is the next one's input (what gradient-based maps differentiate)."""
        outs = [self.patch_embed.channels_last(x)]
        for i in range(1, self.num_layers + 1):
            layer = getattr(self, f"layers{i}")[0]
            outs.append(checkpointed(layer, outs[-1]) if self.checkpointing else layer(outs[-1]))
        return outs

    def forward(self, x, normalize: bool = True):
        """(b, c, d, h, w) maps, the patch embedding's and each layer's; inside, features stay channels-last, which saves copies."""
        outs = self.stages(x)
        if normalize:
            outs = [F.layer_norm(o, o.shape[-1:]) for o in outs]
        return [o.permute(0, 4, 1, 2, 3) for o in outs]
