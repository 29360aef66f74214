"""End-to-end analysis of the real example CT with mg3d-swin-b on this CPU, stage by stage, the
way the viewer runs it (the model loaded once, the volume encoded once, the label prompts embedded
as the model loads), before and after the streamed inference path side by side in one run: read
the volume, then the whole analysis of the case (its embedding for similar cases, the attention
map of every sentence of a real chest-CT report on the CT's grid, findings over the 18 labels,
similar cases in a 10,000-case library).

Before: the Swin blocks on whole tensors (as they train), and each sentence's map upsampled onto
the model grid then resampled by SimpleITK onto the CT's grid, one map at a time.
After: without gradients on a CPU, each Swin block streams a few windows at a time through its
attention and a few thousand tokens through its MLP (``model.swin.SwinBlock.streamed``), and the
maps come onto the CT's grid in one pass of three small matrices
(``data.restore.upsampled_to_original_grid``). Before and after must agree: the script says
whether the embedding, maps and findings are the same.

An untimed warm-up (one encode, one text batch) runs first so that neither side pays for torch's
first calls. Each side runs ``--repeats`` times, alternating; each stage's time is the median of
its runs, its memory the highest. Peak resident memory sampled every 2 ms; "added" is the peak
above the stage's starting RSS.

Weights are random (none can be downloaded here); time and memory do not depend on them. The text
encoder is RadBERT's architecture with the offline MiniLM tokenizer, as in bench/throughput.py.

Usage: python bench/case.py [--volume CT.nii.gz] [--library-size 10000] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _table import print_table  # noqa: E402
from throughput import text_folder  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


class Peak:
    """Peak RSS of this process while the block runs."""

    def __enter__(self):
        import psutil

        self.process = psutil.Process()
        self.start_rss = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        self.t0 = time.perf_counter()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def library_of(folder: Path, n: int, dim: int, query: np.ndarray, signature: dict):
    """A case library of ``n`` cases with clustered random embeddings (and the query's neighbours)."""
    from napari_mg3d.inference.library import CaseLibrary

    lib, _ = CaseLibrary.for_model(folder, signature)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(64, dim)).astype(np.float32)
    rows = []
    for i in range(n):
        v = centres[i % 64] + 0.3 * rng.normal(size=dim).astype(np.float32)
        if i < 5:
            v = query[0] + 0.05 * rng.normal(size=dim).astype(np.float32)
        v /= np.linalg.norm(v)
        rows.append({"case_id": f"case-{i:05d}", "report": "", "labels": {}, "volume": "", "image": v,
                     "report_vec": v})
    for start in range(0, n, 2000):
        lib.add(rows[start:start + 2000])
    lib.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volume", default=str(SHARED / "totalsegmentator_examples" / "example_ct.nii.gz"))
    parser.add_argument("--reports", default=str(SHARED / "ct-rate_ctclip_text_classifier" / "train.csv"))
    parser.add_argument("--library-size", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not Path(args.volume).is_file():
        print(f"no example CT at {args.volume} (../shared/data is needed)", file=sys.stderr)
        return 2
    import torch

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference.analysis import attention_maps, embed_prompts, findings, image_embedding
    from napari_mg3d.inference.encode import load_model
    from napari_mg3d.inference.features import encode_case
    from napari_mg3d.inference.library import CaseLibrary
    from napari_mg3d.inference.library_commands import signature_of
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.knowledge import split_sentences
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.model.swin import SwinBlock

    report = next(csv.DictReader(open(args.reports, encoding="utf-8")))["report_text"]
    sentences = [s for s in split_sentences(report) if s.text.strip()]
    load_average = _load_average()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "text").mkdir()
        text = text_folder("mg3d-swin-b", None, tmp / "text")
        torch.manual_seed(0)
        checkpoint = save_checkpoint(create_model("mg3d-swin-b", device="cpu", **{"text.name": text}),
                                     tmp / "swin-b.safetensors", profile=get_profile("ct-rate").to_dict())
        import gc

        gc.collect()

        def stage(fn):
            with Peak() as p:
                result = fn()
            return result, (p.seconds, p.peak / 2**20, (p.peak - p.start_rss) / 2**20)

        size = checkpoint.stat().st_size / 2**20
        loaded, t_load = stage(lambda: load_model(checkpoint, args.device))
        volume, t_read = stage(lambda: read_volume(args.volume))
        prompt_sets = loaded.prompt_sets()
        n_prompts = sum(len(p.positive) + len(p.negative) for p in prompt_sets)
        _, t_prompts = stage(lambda: embed_prompts(loaded))  # the viewer: as the model loads

        def warm_up():
            features = encode_case(loaded, volume)
            with torch.no_grad():
                loaded.model.report_embedding(loaded.model.tokenize([sentences[0].text]))
            return image_embedding(loaded, volume, features)

        query, t_warm = stage(warm_up)
        folder = tmp / "library"
        library_of(folder, args.library_size, query.shape[1], query, signature_of(loaded))

        def similar(query):
            lib = CaseLibrary(folder)
            try:
                return lib.search(query, 10, "image")
            finally:
                lib.close()

        def analyse(streamed: bool) -> tuple[dict, tuple]:
            SwinBlock.STREAM = streamed
            times = {}
            features, times["encode"] = stage(lambda: encode_case(loaded, volume))
            q, times["embedding"] = stage(lambda: image_embedding(loaded, volume, features))
            if streamed:
                maps, times["maps"] = stage(lambda: attention_maps(loaded, volume, report, features=features))
            else:
                maps, times["maps"] = stage(lambda: maps_one_at_a_time(loaded, volume, report, features))
            found, times["findings"] = stage(lambda: findings(loaded, volume, features=features))
            _, times["similar"] = stage(lambda: similar(q))
            return times, (q, [heat for _, heat in maps], found[0])

        runs, outputs = {False: [], True: []}, {}
        for _ in range(args.repeats):
            for streamed in (False, True):
                outputs.pop(streamed, None)
                gc.collect()
                times, outputs[streamed] = analyse(streamed)
                runs[streamed].append(times)
        SwinBlock.STREAM = True
        (q, maps, found), (q2, maps2, found2) = outputs[False], outputs[True]
        same = (np.allclose(q, q2, atol=1e-5)
                and all(np.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(maps, maps2))
                and np.allclose(list(found.values()), list(found2.values()), atol=1e-5))
        del maps, maps2

    def summary(times: list[dict]) -> dict:
        return {k: (float(np.median([t[k][0] for t in times])), max(t[k][1] for t in times),
                    max(t[k][2] for t in times)) for k in times[0]}

    before, after = summary(runs[False]), summary(runs[True])

    def cells(t):
        return [f"{t[0]:.2f}", f"{t[1]:.0f}", f"{t[2]:.0f}"] if t else ["-", "-", "-"]

    rows = [["load checkpoint", *cells(t_load), *cells(t_load), f"{size:.0f} MB safetensors, once per model"],
            ["read volume", *cells(t_read), *cells(t_read),
             f"example_ct.nii.gz, {' x '.join(map(str, volume.array.shape[::-1]))} voxels"],
            ["label prompts", *cells(t_prompts), *cells(t_prompts),
             f"{n_prompts} prompts, once per model (the viewer: as it loads)"],
            ["warm-up (not counted)", *cells(t_warm), *cells(t_warm), "one encode, one text batch"],
            ["encode once", *cells(before["encode"]), *cells(after["encode"]),
             "preprocess + Swin-B + pooled embedding; after: streamed blocks"],
            ["embedding (similar cases)", *cells(before["embedding"]), *cells(after["embedding"]),
             "from the kept features"],
            ["every sentence's map", *cells(before["maps"]), *cells(after["maps"]),
             f"{len(sentences)} sentences, on the CT's grid; after: one resampling pass"],
            ["findings, 18 labels", *cells(before["findings"]), *cells(after["findings"]), "from the kept features"],
            ["similar cases, top 10", *cells(before["similar"]), *cells(after["similar"]),
             f"open a {args.library_size:,}-case library + search"]]
    total_before = sum(t[0] for t in before.values())
    total_after = sum(t[0] for t in after.values())
    print(f"mg3d-swin-b on {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"the report: {len(report)} characters, {len(sentences)} sentences; median of {args.repeats} runs a "
          f"side; load average before the run {load_average}, after {_load_average()}")
    print_table(["stage", "before s", "peak RSS MB", "added MB", "after s", "peak RSS MB", "added MB", "what"], rows)
    print(f"the whole analysis of the case, the model and its prompts loaded: before {total_before:.2f} s, "
          f"after {total_after:.2f} s (target 4 s)")
    print(f"after equals before (embedding, maps, findings): {same}")
    return 0


def maps_one_at_a_time(loaded, volume, report, features):
    """The maps as they were resampled before: each upsampled onto the model grid
    (``F.interpolate``), then SimpleITK's resampler onto the CT's grid."""
    from napari_mg3d.data.restore import upsampled_by_simpleitk
    from napari_mg3d.inference.attention import sentence_maps

    maps = sentence_maps(loaded.model, None, report, features=features)
    grids = [m.grid for m in maps]
    heats = upsampled_by_simpleitk(grids, volume.geometry, volume.array.shape, loaded.profile,
                                   [float(g.min()) for g in grids])
    return list(zip(maps, heats))


def _load_average() -> str:
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
