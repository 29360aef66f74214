"""Make any report input safe to parse without moving a character: offsets stay valid."""

from __future__ import annotations

import re

MAX_CHARS = 200_000  # longer reports are cut (with a flag), to bound the work for one report
_MARKUP = re.compile(r"<[^<>]{0,200}>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
_CONTROL = str.maketrans({c: " " for c in [*range(0, 9), 11, 12, *range(14, 32), 127]})


def clean_report(report) -> str:
    """Text with HTML tags, entities and control characters blanked out (same length).

    ``bytes`` are decoded as UTF-8 with undecodable bytes replaced; ``None`` and non-strings
    become empty text.
    """
    if isinstance(report, (bytes, bytearray)):
        report = bytes(report).decode("utf-8", errors="replace")
    if not isinstance(report, str):
        return ""
    report = report[:MAX_CHARS]
    if "<" in report or "&" in report:
        report = _MARKUP.sub(lambda m: " " * len(m.group()), report)
    return report.translate(_CONTROL)
