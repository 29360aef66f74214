"""The training step's rearranged parts against the straightforward code they replace, side by
side in one run (interleaved, forward and backward together), at the shapes of an ``mg3d-tiny``
step (batch 8, 64^3 input, 16^3 patch grid), each with the largest difference of its result and of
its gradient (docs/method.md, "Speed of a training step"):

- MLM: the vocabulary decoded only at the asked tokens, against every token with ignore_index;
- peak term: one pass of exp, against two masked logsumexp;
- sentence maps onto the input grid: ``resize.trilinear``, against ``F.interpolate``, per image;
- voxel features per image: one ``unbind``, against a slice per image;
- the MIM decoder's last 1x1x1 layer: ``heads.pointwise``, against its Conv3d;
- the patch embedding while training: a matrix product, against its Conv3d (+ channels-last copy).

Random inputs; the timings do not depend on the values. Usage: python bench/step_parts.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _table import interleaved, print_table  # noqa: E402


def mlm_case():
    from napari_mg3d.model.heads import MLMHead

    head = MLMHead(96, 30522)
    hidden = torch.randn(8, 128, 96, requires_grad=True)
    labels = torch.full((8, 128), -100)
    asked = torch.rand(8, 128) < 0.15
    labels[asked] = torch.randint(0, 30522, (int(asked.sum()),))

    def reference():
        logits = head.decode(head.transformed(hidden))
        return F.cross_entropy(logits.reshape(-1, 30522), labels.reshape(-1), ignore_index=-100, reduction="sum")

    def ours():
        h = head.transformed(hidden)
        return F.cross_entropy(head.decode(h[asked]), labels[asked], reduction="sum")

    return "MLM decode (1024 tokens, 15% asked)", reference, ours, [hidden, *head.parameters()]


def peak_case():
    from napari_mg3d.model import objectives as obj

    logits = (torch.randn(54, 64 ** 3) * 3).requires_grad_()
    masks = (torch.rand(54, 64 ** 3) > 0.999).float() * torch.rand(54, 1)

    def reference(sharpness=5.0):
        inside = masks >= 0.5 * masks.amax(-1, keepdim=True)
        scaled = logits * sharpness
        high_in = torch.logsumexp(scaled.masked_fill(~inside, -1e9), -1) / sharpness
        high_out = torch.logsumexp(scaled.masked_fill(inside, -1e9), -1) / sharpness
        return F.softplus(high_out - high_in).mean()

    return "peak term (54 maps of 64^3)", reference, lambda: obj.peak_loss(logits, masks), [logits]


def resize_case():
    from napari_mg3d.model.resize import trilinear

    maps = [torch.randn(1, 7, 16, 16, 16, requires_grad=True) for _ in range(8)]
    weight = torch.randn(7, 64 ** 3)

    def reference():
        return sum((F.interpolate(m.view(7, 1, 16, 16, 16), size=(64, 64, 64), mode="trilinear",
                                  align_corners=False).view(7, -1) * weight).sum() for m in maps)

    def ours():
        return sum((trilinear(m, (64, 64, 64)).view(7, -1) * weight).sum() for m in maps)

    return "maps 16^3 -> 64^3 (8 images x 7)", reference, ours, maps


def split_case():
    voxels = torch.randn(8, 8, 64, 64, 64, requires_grad=True)
    query = torch.randn(8, 5, 8)

    def score(own, i):
        return torch.einsum("qc,cn->qn", query[i], own.flatten(1)).square().mean()

    def reference():
        return sum(score(voxels[i:i + 1][0], i) for i in range(8))

    def ours():
        per_image = voxels.unbind(0)
        return sum(score(per_image[i], i) for i in range(8))

    return "voxel features per image (8 x 8 x 64^3)", reference, ours, [voxels]


def pointwise_case():
    from napari_mg3d.model.heads import pointwise

    conv = torch.nn.Conv3d(6, 1, 1)
    x = torch.randn(8, 6, 64, 64, 64, requires_grad=True)
    target = torch.randn(8, 1, 64, 64, 64)
    return ("MIM last 1x1x1 layer (8 x 6 x 64^3)", lambda: ((conv(x) - target) ** 2).mean(),
            lambda: ((pointwise(conv, x) - target) ** 2).mean(), [x, *conv.parameters()])


def patch_case():
    from napari_mg3d.model.swin import PatchEmbed

    embed = PatchEmbed(1, 12, (4, 4, 4))
    x = torch.randn(8, 1, 64, 64, 64)
    target = torch.randn(8, 16, 16, 16, 12)
    return ("patch embedding, training (8 x 64^3)",
            lambda: ((embed.proj(x).permute(0, 2, 3, 4, 1).contiguous() - target) ** 2).mean(),
            lambda: ((embed.channels_last(x) - target) ** 2).mean(), list(embed.parameters()))


def run(fn, params):
    for p in params:
        p.grad = None
    loss = fn()
    loss.backward()
    return loss.detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in params]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows, total_ref, total_ours = [], 0.0, 0.0
    for make in (mlm_case, peak_case, resize_case, split_case, pointwise_case, patch_case):
        name, reference, ours, params = make()
        (l_ref, g_ref), (l_ours, g_ours) = run(reference, params), run(ours, params)
        times = interleaved({"reference": lambda: run(reference, params), "ours": lambda: run(ours, params)},
                            args.repeat)
        ref, new = statistics.median(times["reference"]), statistics.median(times["ours"])
        total_ref, total_ours = total_ref + ref, total_ours + new
        loss_diff = float((l_ref - l_ours).abs() / l_ref.abs().clamp_min(1e-12))
        grad_diff = max(float((a - b).abs().max() / a.abs().max().clamp_min(1e-12)) for a, b in zip(g_ref, g_ours))
        rows.append([name, f"{ref * 1000:.0f}", f"{new * 1000:.0f}", f"{ref / new:.1f}x", f"{loss_diff:.1e}",
                     f"{grad_diff:.1e}"])
    rows.append(["all six", f"{total_ref * 1000:.0f}", f"{total_ours * 1000:.0f}", f"{total_ref / total_ours:.1f}x",
                 "", ""])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeat} interleaved runs, "
          "forward + backward; differences relative to the reference's largest value")
    print_table(["part", "reference ms", "ours ms", "speed-up", "loss rel. diff", "grad rel. diff"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
