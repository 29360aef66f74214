"""Label a CSV of reports: one output row per input row, one 0/1 column per CT-RATE label."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from ..io.atomic import atomic_path
from ..io.errors import InputError
from .labels import CT_RATE_LABELS, label_report

ID_COLUMNS = ("AccessionNo", "VolumeName", "Volumename", "id", "case_id")


def label_csv(src: str | Path, column: str, out: str | Path, id_column: str | None = None, progress=None) -> int:
    """Write ``out`` (atomically); return the number of rows. Undecodable bytes are replaced, with
    a one-line warning on stderr, so one bad report does not stop a table of thousands."""
    src, out = Path(src), Path(out)
    if not src.is_file():
        raise InputError(f"no such file: {src}")
    raw = src.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
        print(f"mg3d label-reports: warning: {src.name} is not all UTF-8 (first bad byte at offset {exc.start}); "
              "undecodable bytes were replaced", file=sys.stderr)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = reader.fieldnames or []
        if column not in columns:
            raise InputError(f"{src.name} has no column {column!r} (has: {', '.join(columns) or 'nothing'})")
        if id_column is not None and id_column not in columns:
            raise InputError(f"{src.name} has no id column {id_column!r}")
        id_column = id_column or next((c for c in ID_COLUMNS if c in columns), None)
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"{src.name} is not a readable CSV ({exc})") from None
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
    header = ([id_column] if id_column else []) + list(CT_RATE_LABELS)
    with atomic_path(out, ".csv") as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, row in enumerate(rows):
            labels = label_report(row.get(column) or "")
            writer.writerow(([row.get(id_column, "")] if id_column else []) + [labels[k] for k in CT_RATE_LABELS])
            if progress is not None:
                progress(i + 1, len(rows))
    return len(rows)
