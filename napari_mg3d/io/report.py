"""Radiology report files: plain text, Markdown, or JSON with findings and impression."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError
from .formats import REPORT_SUFFIXES, stem_of

DEFAULT_MAX_REPORT_KB = 1024


def max_report_bytes() -> int:
    """The largest report file read: ``MG3D_MAX_REPORT_KB`` or 1 MB."""
    import os

    try:
        return int(float(os.environ.get("MG3D_MAX_REPORT_KB", DEFAULT_MAX_REPORT_KB)) * 2**10)
    except ValueError:
        return DEFAULT_MAX_REPORT_KB * 2**10


JSON_TEXT_KEYS = ("report", "text", "report_text")
JSON_SECTION_KEYS = (("findings", "Findings"), ("impression", "Impression"))


def read_report(path: str | Path) -> str:
    """The report text; InputError for a missing, non-UTF-8 or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"report not found: {path}")
    limit = max_report_bytes()
    size = path.stat().st_size
    if size > limit:  # refused before it is read: memory stays bounded
        raise InputError(f"report {path.name} is {size / 2**20:.1f} MB; reports over {limit / 2**10:.0f} KB are "
                         "refused (a radiology report is a few KB; MG3D_MAX_REPORT_KB raises the limit)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"report {path.name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    if path.suffix.lower() == ".json":
        return _from_json(text, path.name)
    return text.strip()


def find_report(volume_path: str | Path) -> Path | None:
    """A report beside a volume: same stem with .txt, .md or .json (or report.* inside a DICOM folder)."""
    volume_path = Path(volume_path)
    candidates = [volume_path.parent / (stem_of(volume_path) + s) for s in REPORT_SUFFIXES]
    if volume_path.is_dir():
        candidates = [volume_path.parent / (volume_path.name + s) for s in REPORT_SUFFIXES]
        candidates += [volume_path / ("report" + s) for s in REPORT_SUFFIXES]
    return next((c for c in candidates if c.is_file()), None)


def _from_json(text: str, name: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"report {name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if isinstance(data, str):
        return data.strip()
    if not isinstance(data, dict):
        raise InputError(f"report {name}: expected a JSON object with 'findings'/'impression' or 'report'")
    for key in JSON_TEXT_KEYS:
        if isinstance(data.get(key), str):
            return data[key].strip()
    sections = [
        f"{title}: {data[key].strip()}" for key, title in JSON_SECTION_KEYS if isinstance(data.get(key), str)
    ]
    if not sections:
        raise InputError(f"report {name}: no 'report', 'findings' or 'impression' text in the JSON")
    return "\n".join(sections)
