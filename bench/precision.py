"""What lower precision does to a pre-training step: the losses and the gradient of one batch in
float32 (full-precision matmuls, the reference), with TF32 matmuls and convolutions, and under bf16
autocast (what ``trainer.precision=bf16-mixed`` runs), side by side in one run.

Same module, same weights, same batch, same masks (drawn from the seed and step), dropout off; the
text encoder has the model's architecture with random weights (``bench/throughput.py``). For each
variant: every loss's relative difference from float32's, and the gradient's cosine with float32's
and its relative error (norm of the difference over the norm). On a CPU only float32 and bf16 run
(TF32 is a GPU mode).
Usage: python bench/precision.py [--model mg3d-swin-b] [--batch 2] [--device auto]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402
from throughput import synthetic_items, text_folder  # noqa: E402


def one_batch(module, batch_size: int, size):
    """A collated batch of ``synthetic_items`` on the module's device."""
    import torch

    from napari_mg3d.data.dataset import collate

    batch = collate(synthetic_items(module, batch_size, size), module.report_inputs().pad_id)
    return {k: v.to(module.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def run_variant(module, batch, variant: str):
    """The losses (float64 numbers) and the flat gradient of ``batch`` under ``variant``."""
    import contextlib

    import torch

    cuda = module.device.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = variant == "tf32"
    autocast = (torch.autocast(module.device.type, dtype=torch.bfloat16) if variant == "bf16"
                else contextlib.nullcontext())
    module.zero_grad(set_to_none=True)
    with autocast:
        losses = module.losses(batch, step=0)
    losses["loss"].backward()
    if cuda:
        torch.cuda.synchronize()
    grads = [p.grad.detach().double().flatten() for p in module.parameters() if p.grad is not None]
    return {k: float(v.detach().double()) for k, v in losses.items()}, torch.cat(grads)


def main() -> None:
    import torch

    from napari_mg3d.model.config import get_config
    from napari_mg3d.train.config import TrainConfig
    from napari_mg3d.train.module import PretrainModule

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mg3d-swin-b")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tokenizer", default=None, help="folder with a BERT vocab.txt (default: MiniLM's)")
    args = parser.parse_args()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    variants = ["float32", "tf32", "bf16"] if device.type == "cuda" else ["float32", "bf16"]
    torch.manual_seed(0)  # the text encoder's random weights too: the same figures run to run
    with tempfile.TemporaryDirectory() as tmp:
        text = text_folder(args.model, args.tokenizer, Path(tmp))
        settings = TrainConfig(model=args.model, model_overrides={"text.name": text}).to_dict()
        module = PretrainModule(settings).to(device)
    module.train()
    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout):
            layer.p = 0.0
    batch = one_batch(module, args.batch, get_config(args.model).image_size)
    results = {v: run_variant(module, batch, v) for v in variants}
    ref_losses, ref_grad = results["float32"]
    rows = []
    for name in sorted(ref_losses):
        row = [name, f"{ref_losses[name]:.6g}"]
        for v in variants[1:]:
            x = results[v][0][name]
            row.append(f"{abs(x - ref_losses[name]) / max(abs(ref_losses[name]), 1e-12):.1e}")
        rows.append(row)
    grad_row, cos_row = ["gradient: relative error", ""], ["gradient: cosine", ""]
    for v in variants[1:]:
        g = results[v][1]
        grad_row.append(f"{float((g - ref_grad).norm() / ref_grad.norm()):.1e}")
        cos_row.append(f"{float(torch.nn.functional.cosine_similarity(g, ref_grad, dim=0)):.6f}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{args.model}, batch {args.batch}, one pre-training step on {name}, torch {torch.__version__}: "
          "each loss's relative difference from float32")
    print_table(["loss", "float32", *[f"{v} rel. diff" for v in variants[1:]]], rows + [grad_row, cos_row])


if __name__ == "__main__":
    main()
