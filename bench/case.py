"""End-to-end analysis of the real example CT with mg3d-swin-b on this CPU, stage by stage, the
way the viewer runs it (the model loaded once): load the checkpoint, read, preprocess, encode,
attention for every sentence of a real chest-CT report, zero-shot over the 18 labels, search in a
10,000-case library. Prints wall time and peak resident memory per stage (RSS sampled every 2 ms;
"added" is the peak above the stage's starting RSS).

Weights are random (none can be downloaded here); time and memory do not depend on them. The text
encoder is RadBERT's architecture with the offline MiniLM tokenizer, as in bench/throughput.py.

Usage: python bench/case.py [--volume CT.nii.gz] [--library-size 10000] [--device cpu]
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
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not Path(args.volume).is_file():
        print(f"no example CT at {args.volume} (../shared/data is needed)", file=sys.stderr)
        return 2
    import torch

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference.analysis import attention_maps, image_embedding, zeroshot
    from napari_mg3d.inference.encode import load_model, model_input
    from napari_mg3d.inference.library import CaseLibrary
    from napari_mg3d.inference.library_commands import signature_of
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.knowledge import split_sentences
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model

    report = next(csv.DictReader(open(args.reports, encoding="utf-8")))["report_text"]
    sentences = [s for s in split_sentences(report) if s.text.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "text").mkdir()
        text = text_folder("mg3d-swin-b", None, tmp / "text")
        torch.manual_seed(0)
        checkpoint = save_checkpoint(create_model("mg3d-swin-b", device="cpu", **{"text.name": text}),
                                     tmp / "swin-b.safetensors", profile=get_profile("ct-rate").to_dict())
        import gc

        gc.collect()

        def stage(name, fn, detail=""):
            with Peak() as p:
                result = fn()
            rows.append([name, f"{p.seconds:.2f}", f"{p.peak / 2**20:.0f}", f"{(p.peak - p.start_rss) / 2**20:.0f}",
                         detail])
            return result

        loaded = stage("load checkpoint", lambda: load_model(checkpoint, args.device),
                       f"{checkpoint.stat().st_size / 2**20:.0f} MB safetensors")
        volume = stage("read volume", lambda: read_volume(args.volume),
                       "example_ct.nii.gz")
        rows[-1][4] = f"{' x '.join(map(str, volume.array.shape[::-1]))} voxels"
        x = stage("preprocess (ct-rate)", lambda: model_input(volume, loaded.profile), "-> 1x1x128x96x128")
        with torch.no_grad():
            query = stage("encode volume", lambda: image_embedding(loaded, volume),
                          "preprocess + Swin-B + projection")
        maps = stage("attention, every sentence", lambda: attention_maps(loaded, volume, report),
                     f"{len(sentences)} sentences, maps on the CT grid")
        rows[-1][4] = f"{len(maps)} maps of {len(sentences)} sentences, on the CT's grid"
        probs = stage("zero-shot, 18 labels", lambda: zeroshot(loaded, volume), "encode + 72 prompts")
        folder = tmp / "library"
        library_of(folder, args.library_size, query.shape[1], query, signature_of(loaded))
        lib = stage("open library", lambda: CaseLibrary(folder), f"{args.library_size:,} cases")
        hits = stage("search top 10", lambda: lib.search(query, 10, "image"), "query vector given")
        lib.close()
        del x, maps, probs, hits
    print(f"mg3d-swin-b on {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"the report: {len(report)} characters")
    print_table(["stage", "seconds", "peak RSS MB", "added MB", "what"], rows)
    total = sum(float(r[1]) for r in rows if r[0] not in ("preprocess (ct-rate)",))
    print(f"total (without the separate preprocess row, which encode repeats): {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
