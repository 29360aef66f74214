"""Split a sentence into comma/semicolon phrases, keeping offsets into the report."""

from __future__ import annotations

import re
from dataclasses import dataclass

# a comma between digits ("1,5 cm") or inside parentheses does not end a phrase
_SPLIT = re.compile(r"[;,](?!\d)")


@dataclass(frozen=True)
class Phrase:
    text: str
    start: int
    end: int


def split_phrases(report: str, start: int, end: int) -> list[Phrase]:
    """Phrases of ``report[start:end]``; ``report[p.start:p.end] == p.text``."""
    out, pos, depth = [], start, 0
    cuts = []
    for i in range(start, end):
        c = report[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c in ",;" and depth == 0 and _SPLIT.match(report, i):
            cuts.append(i)
    for cut in [*cuts, end]:
        s, e = pos, cut
        while s < e and not report[s].isalnum() and report[s] not in "(\"'":
            s += 1
        while e > s and report[e - 1] in " \t\r\n.;,":
            e -= 1
        if any(ch.isalnum() for ch in report[s:e]):
            out.append(Phrase(report[s:e], s, e))
        pos = cut + 1
    return out
