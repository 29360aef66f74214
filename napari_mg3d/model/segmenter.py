"""SwinUNETR-style segmentation network whose encoder is an MG-3D vision encoder.

For the official four-layer encoders this is SwinUNETR's topology (MONAI's UNETR blocks on
the input and on each of the five feature maps, transposed-conv up blocks back to the input);
for any other depth or patch size the same pattern with one skip per feature map. The encoder
is our SwinEncoder, whose keys are MONAI's ``swinViT`` keys, so MG-3D weights load as they are.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .swin import SwinEncoder


class SwinSegmenter(nn.Module):
    def __init__(self, config: ModelConfig, out_channels: int, norm: str = "instance"):
        from monai.networks.blocks import UnetOutBlock, UnetrBasicBlock, UnetrUpBlock

        super().__init__()
        v = config.vision
        self.config, self.out_channels = config, out_channels
        self.encoder = SwinEncoder(1, v.embed_dim, v.window_size, v.patch_size, v.depths, v.num_heads)
        f, n = v.embed_dim, len(v.depths)
        widths = [f * 2**i for i in range(n + 1)]  # channels of the n + 1 feature maps
        self.input_block = UnetrBasicBlock(3, 1, f, 3, 1, norm, res_block=True)
        self.skips = nn.ModuleList(UnetrBasicBlock(3, w, w, 3, 1, norm, res_block=True) for w in widths)
        self.ups = nn.ModuleList(
            UnetrUpBlock(3, widths[i + 1], widths[i], 3, 2, norm, res_block=True) for i in reversed(range(n))
        )
        self.up_to_input = UnetrUpBlock(3, f, f, 3, list(v.patch_size), norm, res_block=True)
        self.head = UnetOutBlock(3, f, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.encoder(x)  # n + 1 maps, finest first
        skips = [block(m) for block, m in zip(self.skips, maps)]
        y = skips[-1]
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            y = up(y, skip)
        return self.head(self.up_to_input(y, self.input_block(x)))

    def load_encoder(self, state: dict) -> int:
        return load_vision_weights(self.encoder, state)


def load_vision_weights(encoder: SwinEncoder, state: dict) -> int:
    """Copy an MG-3D state dict's ``vision_encoder.*`` weights; returns how many were loaded."""
    prefix = "vision_encoder."
    own = encoder.state_dict()
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and k[len(prefix):] in own}
    missing = [k for k in own if k not in weights]
    if missing:
        from ..io.errors import InputError

        raise InputError(f"the checkpoint's vision encoder does not fit this model: {len(missing)} "
                         f"weights missing, e.g. {missing[0]}")
    encoder.load_state_dict(weights)
    return len(weights)
