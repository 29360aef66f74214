"""Small helpers shared by the bench scripts: timing and a plain-text table."""

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
