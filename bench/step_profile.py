"""Where a pre-training step's time goes: ``torch.profiler`` over a few steps (forward, losses,
backward, Adam) of the real module, after warm-up steps, on the GPU where there is one. Prints the
step's wall time beside the GPU's busy time (kernels; their ratio says whether the step waits on the
host), the operators with the most device time and the most host time, and the host-device
synchronisations a step makes.

Random volumes, synthetic reports, a randomly initialised text encoder (``bench/throughput.py``).
Usage: python bench/step_profile.py [--model mg3d-tiny] [--batch 8] [--precision 32|bf16] [--steps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402
from precision import one_batch  # noqa: E402
from throughput import text_folder  # noqa: E402


def main() -> None:
    import torch
    from torch.profiler import ProfilerActivity, profile

    from napari_mg3d.model.config import get_config
    from napari_mg3d.train.config import TrainConfig
    from napari_mg3d.train.module import PretrainModule

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mg3d-tiny")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--precision", default="32", choices=["32", "bf16"])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--tokenizer", default=None, help="folder with a BERT vocab.txt (default: MiniLM's)")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.set_float32_matmul_precision("high")
    with tempfile.TemporaryDirectory() as tmp:
        text = text_folder(args.model, args.tokenizer, Path(tmp))
        settings = TrainConfig(model=args.model, model_overrides={"text.name": text}).to_dict()
        module = PretrainModule(settings).to(device)
    module.train()
    optimizer = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-5)
    batch = one_batch(module, args.batch, get_config(args.model).image_size)

    def step(i):
        autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if args.precision == "bf16"
                    else contextlib.nullcontext())
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = module.losses(batch, step=i)["loss"]
        loss.backward()
        optimizer.step()

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for i in range(args.warmup):
        step(i)
    sync()
    t = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    sync()
    wall = (time.perf_counter() - t) / args.steps
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for i in range(args.steps):
            step(args.warmup + args.steps + i)
        sync()
    events = prof.key_averages()
    n = args.steps
    device_us = sum(e.self_device_time_total for e in events if e.device_type.name == "CUDA") if cuda else 0
    name = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"{args.model}, batch {args.batch}, precision {args.precision}, on {name}: "
          f"{wall * 1000:.0f} ms a step (unprofiled); GPU kernels busy {device_us / n / 1000:.0f} ms a step")
    syncs = {e.key: e.count // n for e in events
             if e.key in ("cudaStreamSynchronize", "cudaDeviceSynchronize", "aten::item", "aten::_local_scalar_dense",
                          "aten::nonzero", "cudaMemcpyAsync", "cudaLaunchKernel", "cuLaunchKernel")}
    print("a step's calls:", ", ".join(f"{k} {v}" for k, v in sorted(syncs.items())))
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    rows = [[e.key[:60], e.count // n, f"{getattr(e, key) / n / 1000:.1f}", f"{e.self_cpu_time_total / n / 1000:.1f}"]
            for e in sorted(events, key=lambda e: -getattr(e, key))[: args.top]]
    print(f"\nmost {'device' if cuda else 'host'} time (ms a step)")
    print_table(["operator", "calls", "device ms" if cuda else "self ms", "host self ms"], rows)
    if cuda:
        rows = [[e.key[:60], e.count // n, f"{e.self_cpu_time_total / n / 1000:.1f}",
                 f"{e.self_device_time_total / n / 1000:.1f}"]
                for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]]
        print("\nmost host time (ms a step)")
        print_table(["operator", "calls", "host self ms", "device ms"], rows)


if __name__ == "__main__":
    main()
