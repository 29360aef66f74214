"""Named model configurations, one JSON file each in ``model_configs/`` (as open_clip does)."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "model_configs"


@dataclass
class VisionConfig:
    embed_dim: int = 48
    depths: tuple = (2, 2, 2, 2)
    num_heads: tuple = (3, 6, 12, 24)
    window_size: tuple = (7, 7, 7)
    patch_size: tuple = (2, 2, 2)
    proj_dim: int | None = None  # Swin-L projects its 1536 channels to 768

    @property
    def out_dim(self) -> int:
        return self.proj_dim or self.embed_dim * 2 ** len(self.depths)


@dataclass
class TextConfig:
    name: str = "StanfordAIMI/RadBERT"  # a hub name, a local folder, or "minilm-offline"
    frozen: bool = True
    max_tokens: int = 250


@dataclass
class ModelConfig:
    name: str
    vision: VisionConfig = field(default_factory=VisionConfig)
    text: TextConfig = field(default_factory=TextConfig)
    image_size: tuple = (128, 96, 128)
    hidden: int = 768
    fusion_layers: int = 2
    pool_heads: int = 8
    sentence_dim: int = 128
    align_dim: int = 8
    temperature: float = 0.1
    align_center: bool = False  # standardise the global alignment inputs (see heads.ContrastiveHead)
    mim_block: int = 16
    mim_ratio: float = 0.5
    mlm_ratio: float = 0.15
    ssm_positive: float = 0.9
    ssm_negative: float = 0.6
    profile: str = "ct-rate"
    official: bool = False
    loss_weights: dict = field(default_factory=dict)  # e.g. {"ga": 1.0}: overrides the recipe's weights
    grounding: bool = False  # a sentence-to-patch head on the finest vision map (heads.GroundingHead)
    grounding_voxels: int = 0  # channels of its voxel path: maps on the input grid (0: patch grid only)
    # intensity windows the voxel path reads, (low, high) in the input's units (the profile's window
    # mapped onto [0, 1]), each clipped and stretched to [0, 1] as a radiologist's window; (): the input
    grounding_windows: tuple = ()
    # an outline of each sentence's finding (heads.GroundingHead's outline offset): a place is in it
    # where the sentence's map log-odds plus a per-sentence offset are above 0; trained by the
    # outline objective (``objectives.outline_loss``, weight ``loss_weights.outlines``) on finding masks
    grounding_outline: bool = False

    @property
    def grid(self) -> tuple[int, int, int]:
        """Tokens of the last vision stage along each axis."""
        return self._stage_grid(len(self.vision.depths))

    @property
    def patch_grid(self) -> tuple[int, int, int]:
        """Patches of the patch embedding (the finest vision map) along each axis."""
        return self._stage_grid(0)

    def _stage_grid(self, merges: int) -> tuple[int, int, int]:
        size = [-(-s // self.vision.patch_size[i]) for i, s in enumerate(self.image_size)]
        for _ in range(merges):
            size = [-(-s // 2) for s in size]
        return tuple(size)

    @property
    def upsamplings(self) -> int:
        """Doublings from the last-stage grid back to the input (5 for the official models)."""
        return (self.vision.patch_size[0] * 2 ** len(self.vision.depths)).bit_length() - 1

    @property
    def num_image_tokens(self) -> int:
        d, h, w = self.grid
        return d * h * w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        data = copy.deepcopy(data)
        vision = VisionConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.pop("vision", {}).items()})
        text = TextConfig(**data.pop("text", {}))
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(vision=vision, text=text, **data)


def list_models() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def get_config(name: str, **overrides) -> ModelConfig:
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(list_models())}")
    data = {**ModelConfig(name).to_dict(), **json.loads(path.read_text())}
    for key, value in overrides.items():  # "text.frozen": False, "hidden": 64, "loss_weights.regions": 0
        target = data
        *parents, last = key.split(".")
        for i, p in enumerate(parents):
            if not isinstance(target.get(p), dict):
                raise ValueError(f"unknown model setting {'.'.join(parents[:i + 1])!r} in {key!r}; "
                                 f"known: {', '.join(sorted(target))}")
            target = target[p]
        names = LOSS_NAMES if _open_group(parents) else target
        if last not in names:
            raise ValueError(f"unknown model setting {key!r}; known: "
                             f"{', '.join(sorted('.'.join([*parents, k]) for k in names))}")
        target[last] = value
    return ModelConfig.from_dict(data)


# the losses a config may weigh (objectives.DEFAULT_WEIGHTS, kept here so configs load without torch)
LOSS_NAMES = ("mlm", "align", "mim", "cml", "dcl", "ssm", "ga", "findings", "grounding", "regions", "peaks", "organs",
              "outlines")


def _open_group(parents: list[str]) -> bool:
    """Groups whose keys are not all in the config file: loss weights, by loss name."""
    return parents == ["loss_weights"]
