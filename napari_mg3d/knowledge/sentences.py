"""Split a report into sections and sentences, keeping character offsets into the original text.

``report[s.start:s.end] == s.text`` for every sentence, so a user interface can highlight it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTION_NAMES = (
    "findings", "impression", "impressions", "conclusion", "conclusions", "technique", "comparison",
    "indication", "history", "clinical history", "clinical information", "examination", "report",
)
_HEADER = re.compile(
    r"(?:^|(?<=[.!?] ))[ \t>#*]*(" + "|".join(n.replace(" ", r"\s+") for n in SECTION_NAMES) + r")[ \t]*[:\-]*[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_BULLET = re.compile(r"^[ \t]*(?:[-*\u2022\u00b7]|\d{1,2}[.)])[ \t]+")
_EDGE = "\"'\u201c\u201d\u2022\u00b7 \t\r\n"
_END = re.compile(r"[.!?]+[\"')\]\u201d]*(?=\s|$)|\n|(?<=\s)[\"\u201c\u201d\u2022\u00b7](?=\s)|(?<=window);|\u2022")
ABBREVIATIONS = frozenset(
    "e.g i.e vs approx dr mr mrs ms no nos fig cf etc st incl max min mm cm ca resp e.i".split()
)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    section: str = ""
    index: int = 0


def split_sentences(report: str) -> list[Sentence]:
    """Sentences of ``report`` in order, each with its section (lower case, '' before any header)."""
    if not report:
        return []
    sections = _section_spans(report)
    out: list[Sentence] = []
    for name, start, end in sections:
        for s, e in _sentence_spans(report, start, end):
            out.append(Sentence(report[s:e], s, e, name, len(out)))
    return out


def _section_spans(text: str) -> list[tuple[str, int, int]]:
    spans, name, start = [], "", 0
    for m in _HEADER.finditer(text):
        # a header must be followed by ':' or stand alone on its line
        tail = text[m.start(1) + len(m.group(1)) : m.end()]
        line_end = text.find("\n", m.end())
        rest = text[m.end() : line_end if line_end >= 0 else len(text)]
        if ":" not in tail and rest.strip():
            continue
        spans.append((name, start, m.start()))
        name, start = " ".join(m.group(1).lower().split()), m.end()
    spans.append((name, start, len(text)))
    return [s for s in spans if text[s[1] : s[2]].strip()]


def _sentence_spans(text: str, start: int, end: int):
    pos = start
    for m in _END.finditer(text, start, end):
        if m.group() == "\n":
            nxt = text[m.end() : m.end() + 1]
            if nxt.islower() and not _BULLET.match(text, m.end()):
                continue  # a wrapped line goes on
        elif _is_abbreviation(text, m.start()) or _is_list_number(text, pos, m.start()):
            continue
        yield from _trimmed(text, pos, m.end() if m.group() != "\n" else m.start())
        pos = m.end()
    yield from _trimmed(text, pos, end)


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, dot - 12) : dot])
    if not m:
        return False
    word = m.group(1).lower()
    return word in ABBREVIATIONS or len(word) == 1 and word.isalpha() and text[dot - 1].isupper()


def _is_list_number(text: str, sentence_start: int, dot: int) -> bool:
    """'1. Small nodule.': the '1.' opening a list item ends nothing."""
    head = text[sentence_start:dot].strip()
    return head.isdigit() and len(head) <= 2


def _trimmed(text: str, start: int, end: int):
    chunk = text[start:end]
    bullet = _BULLET.match(chunk)
    lead = bullet.end() if bullet else 0
    lead += len(chunk[lead:]) - len(chunk[lead:].lstrip(_EDGE))
    s, e = start + lead, start + len(chunk.rstrip(_EDGE))
    if e > s and any(c.isalnum() for c in text[s:e]):
        yield s, e
