"""Case manifests: CSV or JSONL rows of ``volume``, ``report`` and optional ``labels``,
``segmentation``, ``split``, ``regions`` (a JSON object: label -> mask file of where the report's
finding of that label is, as in grounded report data such as RadGenome-ChestCT's region masks) and
``organs`` with ``organ_names`` (the case's organ label map, as a segmenter such as TotalSegmentator
writes it, and its names: a JSON object of label value -> name, or a JSON file of one; or ``organs``
a folder of one mask per organ named by its file, TotalSegmentator's default output, and no names).
Relative paths are taken from the manifest's folder."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .formats import REPORT_SUFFIXES, stem_of, suffix_of
from .report import read_report

REQUIRED = ("volume", "report")
OPTIONAL = ("labels", "segmentation", "split", "id", "regions", "organs", "organ_names")
SPLITS = ("train", "val", "test")


@dataclass
class Case:
    id: str
    volume: Path
    report: str
    report_path: Path | None = None
    labels: dict[str, int] = field(default_factory=dict)
    segmentation: Path | None = None
    split: str | None = None
    regions: dict[str, Path] = field(default_factory=dict)  # label -> mask of that finding
    organs: Path | None = None  # organ label map, or a folder of one mask per organ
    organ_names: dict[int, str] = field(default_factory=dict)  # label value -> organ (a map's names)


def read_manifest(path: str | Path, check_files: bool = True) -> list[Case]:
    """Parse and check a manifest; every problem is an InputError naming the row."""
    path = Path(path)
    rows = _rows(path)
    cases, seen = [], set()
    for number, row in rows:
        case = _case(row, path.parent, f"{path.name} row {number}", check_files)
        if case.id in seen:
            raise InputError(f"{path.name} row {number}: duplicate case id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise InputError(f"manifest {path.name} has no cases")
    return cases


def read_manifest_rows(path: str | Path) -> tuple[list[tuple[int, Case]], list[dict]]:
    """Like read_manifest, but each case comes with its row number, and a bad row (missing
    file, bad split or labels, duplicate id) is returned as a problem ``{"row", "id", "reason"}``
    instead of stopping the whole manifest."""
    path = Path(path)
    cases, problems, seen = [], [], set()
    for number, row in _rows(path):
        guess = str(row.get("id") or "").strip() or _default_id(str(row.get("volume") or "?"))
        try:
            case = _case(row, path.parent, f"{path.name} row {number}", True)
        except InputError as exc:
            problems.append({"row": number, "id": guess, "reason": str(exc).split(": ", 1)[-1]})
            continue
        if case.id in seen:
            problems.append({"row": number, "id": case.id, "reason": "duplicate case id"})
            continue
        seen.add(case.id)
        cases.append((number, case))
    return cases, problems


def is_manifest(path: str | Path) -> bool:
    """True for a CSV/JSONL whose header (or first record) has the required columns."""
    path = Path(path)
    if suffix_of(path) not in (".csv", ".jsonl") or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            first = f.readline()
        if suffix_of(path) == ".csv":
            columns = next(csv.reader([first]), [])
        else:
            columns = list(json.loads(first)) if first.strip() else []
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, OSError):
        return False
    return all(c in columns for c in REQUIRED)


def _rows(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise InputError(f"manifest not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"manifest {path.name} is not UTF-8 text (offset {exc.start})") from None
    if suffix_of(path) == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))  # keeps newlines inside quoted reports
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"manifest {path.name} lacks column(s) {', '.join(missing)} "
                f"(has: {', '.join(reader.fieldnames or []) or 'nothing'})"
            )
        return [(i + 2, row) for i, row in enumerate(reader)]
    if suffix_of(path) == ".jsonl":
        rows = []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"manifest {path.name} line {i}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InputError(f"manifest {path.name} line {i}: expected a JSON object")
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise InputError(f"manifest {path.name} line {i}: missing {', '.join(missing)}")
            rows.append((i, row))
        return rows
    raise InputError(f"unsupported manifest type {suffix_of(path)!r} for {path.name}; use .csv or .jsonl")


def _case(row: dict, base: Path, where: str, check_files: bool) -> Case:
    volume = str(row.get("volume") or "").strip()
    if not volume:
        raise InputError(f"{where}: empty volume")
    volume_path = _resolve(base, volume)
    if check_files and not volume_path.exists():
        raise InputError(f"{where}: volume not found: {volume_path}")
    report_cell = str(row.get("report") or "").strip()
    report_path = None
    report = report_cell
    if report_cell and suffix_of(report_cell) in REPORT_SUFFIXES and "\n" not in report_cell:
        report_path = _resolve(base, report_cell)
        report = read_report(report_path) if (check_files or report_path.is_file()) else ""
    segmentation = str(row.get("segmentation") or "").strip()
    seg_path = _resolve(base, segmentation) if segmentation else None
    if check_files and seg_path is not None and not seg_path.exists():
        raise InputError(f"{where}: segmentation not found: {seg_path}")
    split = str(row.get("split") or "").strip().lower() or None
    if split is not None and split not in SPLITS:
        raise InputError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
    case_id = str(row.get("id") or "").strip() or _default_id(volume)
    regions = _regions(row.get("regions"), base, where, check_files)
    organs, organ_names = _organs(row.get("organs"), row.get("organ_names"), base, where, check_files)
    return Case(case_id, volume_path, report, report_path, _labels(row.get("labels"), where), seg_path, split,
                regions, organs, organ_names)


def _organs(cell, names, base: Path, where: str, check_files: bool) -> tuple[Path | None, dict[int, str]]:
    """(organ map or folder, its names): a map needs ``organ_names``, a folder of masks names them."""
    path = str(cell or "").strip()
    if not path:
        return None, {}
    organs = _resolve(base, path)
    if check_files and not organs.exists():
        raise InputError(f"{where}: organ map not found: {organs}")
    if organs.is_dir():
        return organs, {}
    table = names
    if isinstance(table, str) and table.strip() and not table.strip().startswith("{"):
        table_path = _resolve(base, table.strip())
        if not table_path.is_file():
            raise InputError(f"{where}: organ names not found: {table_path}")
        table = table_path.read_text(encoding="utf-8")
    if isinstance(table, str):
        try:
            table = json.loads(table) if table.strip() else None
        except json.JSONDecodeError:
            raise InputError(f"{where}: organ_names are not valid JSON") from None
    if not isinstance(table, dict) or not table:
        raise InputError(f"{where}: an organ map needs organ_names (label value -> organ name, "
                         f"e.g. {{\"1\": \"lung_upper_lobe_left\"}}) or a folder of one mask per organ")
    try:
        return organs, {int(k): str(v).strip() for k, v in table.items() if int(k) != 0}
    except (TypeError, ValueError):
        raise InputError(f"{where}: organ_names keys must be label values (integers)") from None


def _regions(cell, base: Path, where: str, check_files: bool) -> dict[str, Path]:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return {}
    if isinstance(cell, str):
        try:
            cell = json.loads(cell)
        except json.JSONDecodeError:
            raise InputError(f"{where}: regions are not valid JSON") from None
    if not isinstance(cell, dict) or not all(isinstance(v, str) and v.strip() for v in cell.values()):
        raise InputError(f"{where}: regions must be an object of label -> mask file")
    regions = {str(label): _resolve(base, path.strip()) for label, path in cell.items()}
    for label, path in regions.items():
        if check_files and not path.exists():
            raise InputError(f"{where}: region mask of {label!r} not found: {path}")
    return regions


def _labels(cell, where: str) -> dict[str, int]:
    if cell is None or cell == "":
        return {}
    if isinstance(cell, str):
        text = cell.strip()
        if text.startswith(("{", "[")):
            try:
                cell = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f"{where}: labels are not valid JSON") from None
        else:
            return {name.strip(): 1 for name in text.replace("|", ";").split(";") if name.strip()}
    if isinstance(cell, list):
        return {str(name): 1 for name in cell}
    if isinstance(cell, dict):
        try:
            return {str(k): int(v) for k, v in cell.items()}
        except (TypeError, ValueError):
            raise InputError(f"{where}: label values must be 0 or 1") from None
    raise InputError(f"{where}: labels must be names, a list or an object of 0/1")


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _default_id(volume: str) -> str:
    return stem_of(volume.rstrip("/"))
