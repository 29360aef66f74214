"""Small helpers shared by the bench scripts: timing, a plain-text table, and synthetic cases
written once."""

from __future__ import annotations

import statistics
import time


def time_runs(fn, repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def interleaved(fns: dict, repeat: int) -> dict[str, list[float]]:
    """Time several functions turn by turn, so machine noise hits them alike."""
    times = {name: [] for name in fns}
    for name, fn in fns.items():  # warm-up
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name] += time_runs(fn, 1)
    return times


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, row in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def synthetic_cases(folder, n: int, seed: int, split: str, family: str = "a", supervision: str = "all"):
    """The manifest of ``n`` synthetic cases of ``seed`` in ``folder``, by generator ``family`` with
    ``supervision`` (``mg3d synth``): reused when the folder's record says it holds exactly those,
    made by the generator's present code; written otherwise."""
    import json
    from pathlib import Path

    from napari_mg3d.data import synth_writer

    folder = Path(folder)
    wanted = {"n": n, "seed": seed, "split": split, "family": family, "supervision": supervision,
              "code": synth_writer.code_signature(family)}
    record = folder / "generator.json"
    manifest = folder / "manifest.csv"
    if manifest.is_file() and record.is_file() and json.loads(record.read_text()) == wanted:
        return manifest
    manifest = synth_writer.write_synthetic(folder, n, seed=seed, split=split, family=family, supervision=supervision)
    record.write_text(json.dumps(wanted))
    return manifest
