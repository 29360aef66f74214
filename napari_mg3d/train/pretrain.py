"""``mg3d pretrain``: MG-3D pre-training on a case manifest, from one CPU to many GPUs and nodes
(Lightning DDP, launched directly or by torchrun)."""

from __future__ import annotations

import json
from pathlib import Path

from .config import TrainConfig


def run(config: TrainConfig, resume: bool = False) -> Path:
    import lightning as L
    import torch

    from ..data.dataset import CaseDataset, collate
    from ..io.errors import InputError
    from ..model.checkpoint import save_checkpoint
    from ..model.config import get_config
    from .callbacks import AtomicCheckpoint, JsonlMetrics
    from .module import PretrainModule

    if not config.manifest:
        raise InputError("no manifest: set manifest in the config or with --set manifest=PATH")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.ckpt"
    if resume and not last.is_file():
        raise InputError(f"nothing to resume: {last} does not exist")
    L.seed_everything(config.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    profile = config.profile or get_config(config.model).profile
    data = CaseDataset(config.manifest, profile, split="train", cache_dir=config.cache_dir or out / "cache")
    if len(data) == 0:
        raise InputError(f"{config.manifest} has no cases in the train split")
    loader = torch.utils.data.DataLoader(data, batch_size=config.batch_size, shuffle=True, drop_last=True,
                                         collate_fn=collate, num_workers=config.num_workers)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    module = PretrainModule(config.to_dict())
    trainer = L.Trainer(
        max_steps=config.max_steps, default_root_dir=str(out), enable_checkpointing=False,
        logger=L.pytorch.loggers.TensorBoardLogger(str(out), name="tensorboard"),
        callbacks=[JsonlMetrics(out / "metrics.jsonl", config.log_every),
                   AtomicCheckpoint(out, config.checkpoint_every)],
        log_every_n_steps=config.log_every, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=True, **config.trainer,
    )
    # our own checkpoints hold only tensors and plain values: load them without running code
    trainer.fit(module, loader, ckpt_path=str(last) if resume else None, weights_only=True)
    final = out / "model.safetensors"
    if trainer.is_global_zero:
        from ..data.profiles import get_profile
        from ..knowledge.prompts import default_prompts

        save_checkpoint(module.model, final, profile=get_profile(profile).to_dict(),
                        prompts=[p.__dict__ for p in default_prompts()],
                        extra={"step": trainer.global_step, "manifest": str(config.manifest)})
    return final
