"""Import the CT-RATE folder layout (volumes named in ``VolumeName``, a reports CSV and a labels CSV)
as a case manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..io.atomic import atomic_path
from ..io.errors import InputError

REPORT_COLUMNS = ("Findings_EN", "Impressions_EN")


def import_ct_rate(volumes: str | Path, reports_csv: str | Path, labels_csv: str | Path | None, out: str | Path,
                   split: str = "train") -> int:
    """Write a manifest of every CT-RATE volume found under ``volumes`` that has a report."""
    volumes, out = Path(volumes), Path(out)
    found = {p.name: p for p in volumes.rglob("*.nii.gz")}
    reports = _read(reports_csv, "VolumeName")
    labels = _read(labels_csv, "VolumeName") if labels_csv else {}
    rows = []
    for name, row in reports.items():
        if name not in found:
            continue
        text = "\n".join(f"{c.split('_')[0]}: {row[c].strip()}" for c in REPORT_COLUMNS if row.get(c, "").strip())
        lab = {k: int(float(v)) for k, v in labels.get(name, {}).items() if k != "VolumeName"}
        rows.append({"id": name.removesuffix(".nii.gz"), "volume": str(found[name].resolve()), "report": text,
                     "labels": json.dumps(lab) if lab else "", "split": split})
    if not rows:
        raise InputError(f"no volume under {volumes} has a report in {Path(reports_csv).name}")
    with atomic_path(out, ".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def _read(path, key: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if key not in (reader.fieldnames or []):
            raise InputError(f"{path.name} has no {key} column")
        return {row[key]: row for row in reader}
