"""MONAI's SwinTransformer against napari-mg3d's SwinEncoder: same weights, same input, one run.

Each model runs in its own process (so peak memory is its own): forward time (median of runs),
peak resident memory, max abs difference of the five outputs, and achieved GFLOP/s against the
measured float32 matmul rate of this machine.
Usage: python bench/encoder.py [--size 128 96 128] [--embed 48] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402

CONFIG = dict(window_size=(7, 7, 7), patch_size=(2, 2, 2), depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24))


def swin_gflop(size, embed: int) -> float:
    """Multiply-adds x2 of the convolutions, linear layers and window attention (padding included)."""
    import math

    d, h, w = (s // 2 for s in size)
    flops = 2 * d * h * w * embed * 8  # patch embedding
    c = embed
    for heads in CONFIG["num_heads"]:
        window = [min(k, s) for k, s in zip(CONFIG["window_size"], (d, h, w))]
        padded = [math.ceil(s / k) * k for s, k in zip((d, h, w), window)]
        tokens, padded_tokens, n = d * h * w, math.prod(padded), math.prod(window)
        per_block = 2 * padded_tokens * c * 3 * c + 2 * padded_tokens * c * c  # qkv, proj
        per_block += 2 * 2 * padded_tokens * n * c  # scores and weighted sum, all heads
        per_block += 2 * tokens * c * 4 * c * 2  # MLP
        flops += 2 * per_block
        d, h, w = ((s + 1) // 2 for s in (d, h, w))
        flops += 2 * d * h * w * 8 * c * 2 * c  # patch merging
        c *= 2
    return flops / 1e9


def matmul_gflops() -> float:
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    t = time.perf_counter()
    for _ in range(5):
        a @ b
    return 5 * 2 * 2048**3 / (time.perf_counter() - t) / 1e9


def _run(which: str, size, embed: int, repeat: int, weights: str, out: str, queue):
    import torch

    torch.manual_seed(0)
    if which == "monai":
        from monai.networks.nets.swin_unetr import SwinTransformer

        model = SwinTransformer(in_chans=1, embed_dim=embed, mlp_ratio=4.0, qkv_bias=True, spatial_dims=3,
                                use_v2=False, **CONFIG)
    else:
        from napari_mg3d.model.swin import SwinEncoder

        model = SwinEncoder(in_chans=1, embed_dim=embed, **CONFIG)
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.eval()
    x = torch.load(out + ".input", weights_only=True)
    from case import Peak  # RSS sampled while the forwards run: the process's lifetime maximum
    # (ru_maxrss) can predate them (loading the weights), which hid a forward's smaller peak

    times = []
    with torch.no_grad(), Peak() as rss:
        for _ in range(repeat):
            t = time.perf_counter()
            outputs = model(x)
            times.append(time.perf_counter() - t)
            del outputs
        outputs = model(x)
    torch.save([o.contiguous() for o in outputs], out)
    queue.put((times, (rss.peak - rss.start_rss) / 2**20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=(128, 96, 128))
    parser.add_argument("--embed", type=int, default=48, help="48 for Swin-B, 96 for Swin-L")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import torch
    from monai.networks.nets.swin_unetr import SwinTransformer

    torch.manual_seed(0)
    reference = SwinTransformer(in_chans=1, embed_dim=args.embed, mlp_ratio=4.0, qkv_bias=True, spatial_dims=3,
                                use_v2=False, **CONFIG)
    folder = Path(tempfile.mkdtemp(prefix="mg3d-bench-"))
    weights = str(folder / "weights.pt")
    torch.save(reference.state_dict(), weights)
    torch.save(torch.randn(1, 1, *args.size), str(folder / "monai.input"))
    torch.save(torch.load(str(folder / "monai.input")), str(folder / "ours.input"))
    ctx = mp.get_context("spawn")
    results = {}
    for which in ("monai", "ours"):
        queue = ctx.Queue()
        p = ctx.Process(target=_run, args=(which, args.size, args.embed, args.repeat, weights,
                                           str(folder / which), queue))
        p.start()
        results[which] = queue.get()
        p.join()
    a = torch.load(str(folder / "monai"), weights_only=True)
    b = torch.load(str(folder / "ours"), weights_only=True)
    diff = max(float((u - v).abs().max()) for u, v in zip(a, b))
    gflop, peak_rate = swin_gflop(args.size, args.embed), matmul_gflops()
    rows = []
    base = statistics.median(results["monai"][0])
    for name, label in (("monai", "MONAI SwinTransformer"), ("ours", "napari-mg3d SwinEncoder")):
        times, mem = results[name]
        med = statistics.median(times)
        rows.append([label, f"{med:.2f}", f"{base / med:.1f}x", f"{mem:.0f}", f"{gflop / med:.0f}",
                     f"{100 * gflop / med / peak_rate:.0f}%"])
    print(f"Swin embed {args.embed}, input 1x1x{'x'.join(map(str, args.size))}, {gflop:.0f} GFLOP a forward, "
          f"float32 matmul {peak_rate:.0f} GFLOP/s on {torch.get_num_threads()} threads")
    print_table(["encoder", "forward s", "speed-up", "peak MB", "GFLOP/s", "of matmul"], rows)
    print(f"max abs difference of the five outputs: {diff:.2e}")


if __name__ == "__main__":
    main()
