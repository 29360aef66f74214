"""Per-label and macro F1 of the report labeller on the 800 hand-labelled CT-RATE reports, and throughput.

Targets: macro F1 >= 0.96, no label below 0.90; at least 1,000 reports per second on one core.
Usage: python bench/report_labels.py [CSV] [--errors LABEL]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "ct-rate_ctclip_text_classifier" / "train.csv"


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over all reports (median)")
    parser.add_argument("--errors", default=None, help="print the false positives and negatives of LABEL")
    args = parser.parse_args()
    from napari_mg3d.knowledge.labels import CT_RATE_LABELS, label_mentions, label_report

    if not Path(args.csv).exists():
        sys.exit(f"bench/report_labels.py: {args.csv} not found (needs ../shared/data)")
    with open(args.csv, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [r["report_text"] for r in rows]
    label_report(texts[0])  # compile patterns
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        predicted = [label_report(text) for text in texts]
        runs.append(time.perf_counter() - t)
    elapsed = statistics.median(runs)

    table, scores = [], []
    for label in CT_RATE_LABELS:
        tp = sum(p[label] == 1 and r[label] == "1" for p, r in zip(predicted, rows))
        fp = sum(p[label] == 1 and r[label] == "0" for p, r in zip(predicted, rows))
        fn = sum(p[label] == 0 and r[label] == "1" for p, r in zip(predicted, rows))
        scores.append(f1(tp, fp, fn))
        table.append([label, tp + fn, tp, fp, fn, f"{scores[-1]:.3f}"])
    print(f"{len(rows)} reports from {Path(args.csv).name}")
    print_table(["label", "positives", "TP", "FP", "FN", "F1"], table)
    print(f"macro F1 {sum(scores) / len(scores):.4f}; lowest {min(scores):.3f} ({CT_RATE_LABELS[scores.index(min(scores))]})")
    print(
        f"throughput {len(rows) / elapsed:,.0f} reports/s on one core, median of {args.repeat} passes "
        f"(best {len(rows) / min(runs):,.0f}; {1000 * elapsed / len(rows):.2f} ms a report)"
    )

    if args.errors:
        for p, r in zip(predicted, rows):
            if p[args.errors] != int(r[args.errors]):
                kind = "FP" if p[args.errors] else "FN"
                text = r["report_text"]
                spans = label_mentions(text, args.errors)
                shown = "; ".join(f"[{s}] ...{text[max(0, a - 90):b + 60]}..." for a, b, s in spans) or text[:300]
                print(f"\n{kind} {r.get('AccessionNo', '')}: {shown}")


if __name__ == "__main__":
    main()
