"""MG-3D pre-training throughput (samples/s) and peak memory through the real Lightning module and
trainer, side by side in one run: float32, bf16 mixed precision, and bf16 with activation
checkpointing of the Swin stages and the MIM decoder. Each variant runs in its own process, so its
peak is its own (GPU: the allocator's peak; CPU: the process's peak resident memory).

Random volumes of the model's input size and synthetic reports; the text encoder has the
model's architecture with random weights (no hub here), saved once to a temporary folder
together with a BERT WordPiece tokenizer (``--tokenizer``, default: the offline MiniLM's).
Usage: python bench/throughput.py [--model mg3d-swin-b] [--batch 4] [--steps 30] [--warmup 10]
       [--variants 32-true bf16-mixed bf16-mixed+ckpt]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402


def text_folder(model_name: str, tokenizer: str | None, folder: Path) -> str:
    """A local text-model folder: the configured architecture (random weights) and a tokenizer."""
    from transformers import BertConfig, BertModel

    from napari_mg3d.model.config import get_config
    from napari_mg3d.model.text import RADBERT, resolve

    source = Path(tokenizer or resolve("minilm-offline")[0])
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    vocab = sum(1 for _ in open(folder / "vocab.txt", encoding="utf-8"))
    text = get_config(model_name).text.name
    dims = RADBERT if "radbert" in text.lower() else {}
    BertModel(BertConfig(**{**dims, "vocab_size": vocab}), add_pooling_layer=False).save_pretrained(folder)
    return str(folder)


def synthetic_items(module, n: int, size) -> list[dict]:
    """``n`` dataset items for ``module``: random volumes of ``size`` and synthetic reports with
    the module's report inputs (what ``CaseDataset`` items hold)."""
    import numpy as np

    from napari_mg3d.data.synthetic import make_case

    inputs = module.report_inputs()
    rng = np.random.default_rng(0)
    return [{"id": str(i), "index": i, "volume": rng.random((1, *size), dtype=np.float32),
             "report": (report := make_case(i, shape=(8, 16, 16)).report), "labels": {}, "text": inputs(report)}
            for i in range(n)]


class Timer:
    def __init__(self, warmup: int):
        import lightning as L

        outer = self

        class _Callback(L.Callback):
            def on_train_batch_end(self, trainer, *args):
                import torch

                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                if trainer.global_step == warmup:
                    outer.start = time.perf_counter()
                outer.end = time.perf_counter()

        self.callback = _Callback()
        self.start = self.end = None


def measure(model_name: str, text: str, variant: str, batch: int, steps: int, warmup: int) -> dict:
    import resource

    import lightning as L
    import torch

    from napari_mg3d.data.dataset import collate
    from napari_mg3d.model.config import get_config
    from napari_mg3d.train.config import TrainConfig
    from napari_mg3d.train.module import PretrainModule

    precision, _, extra = variant.partition("+")
    config = get_config(model_name)
    settings = TrainConfig(model=model_name, model_overrides={"text.name": text}, lr=1e-5, warmup_steps=10,
                           max_steps=warmup + steps).to_dict()
    module = PretrainModule(settings)
    module.model.vision_encoder.checkpointing = module.model.mim_swin_unter_head.checkpointing = extra == "ckpt"
    pad_id = module.report_inputs().pad_id
    loader = torch.utils.data.DataLoader(synthetic_items(module, 16, config.image_size), batch_size=batch,
                                         shuffle=True, drop_last=True, collate_fn=lambda rows: collate(rows, pad_id))
    timer = Timer(warmup)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer = L.Trainer(max_steps=warmup + steps, precision=precision, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer.callback],
                        accelerator="auto", devices=1)
    trainer.fit(module, loader)
    seconds = timer.end - timer.start
    if torch.cuda.is_available():
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    return {"samples_per_s": steps * batch / seconds, "s_per_step": seconds / steps, "peak_gib": peak}


def main() -> None:
    import json
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mg3d-swin-b")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--variants", nargs="*", default=["32-true", "bf16-mixed", "bf16-mixed+ckpt"],
                        help="Lightning precision, +ckpt for activation checkpointing")
    parser.add_argument("--tokenizer", default=None, help="folder with a BERT vocab.txt (default: MiniLM's)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a variant, in this process
    parser.add_argument("--text", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_float32_matmul_precision("high")
    if args.one:
        print(json.dumps(measure(args.model, args.text, args.one, args.batch, args.steps, args.warmup)))
        return
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU (no GPU lent)"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        text = text_folder(args.model, args.tokenizer, Path(tmp))
        for variant in args.variants:
            cmd = [sys.executable, __file__, "--one", variant, "--text", text, "--model", args.model,
                   "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                killed = done.returncode in (-9, 137)  # the kernel's out-of-memory killer
                print(f"{variant}: {'killed (out of memory)' if killed else done.stderr[-2000:]}", file=sys.stderr)
                rows.append([variant, "out of memory" if killed else "failed", "", ""])
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append([variant, f"{r['samples_per_s']:.2f}", f"{r['s_per_step']:.3f}", f"{r['peak_gib']:.1f}"])
            print(f"{variant}: {r}", flush=True)
    print(f"{args.model} pre-training, batch {args.batch}, {args.steps} timed steps after {args.warmup}, on {device}")
    print_table(["variant", "samples/s", "s/step", "peak GiB"], rows)


if __name__ == "__main__":
    main()
