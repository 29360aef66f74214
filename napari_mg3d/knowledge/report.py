"""A report taken apart at every grain: sections, sentences, phrases, anatomy, findings, labels."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from .anatomy import regions
from .labels import CT_RATE_LABELS, FINDING_RULES, label_mentions
from .negation import ABSENT, PRESENT, UNCERTAIN, Clauses
from .phrases import Phrase, split_phrases
from .sentences import split_sentences
from .text import MAX_CHARS, clean_report

OTHER = "other"


@dataclass(frozen=True)
class Finding:
    name: str
    status: str  # present, absent or uncertain
    start: int
    end: int


@dataclass(frozen=True)
class ReportSentence:
    text: str
    start: int
    end: int
    section: str
    index: int
    phrases: tuple[Phrase, ...]
    anatomy: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def status(self) -> str | None:
        """present if any finding is present, else uncertain, else absent; None without findings."""
        statuses = {f.status for f in self.findings}
        for s in (PRESENT, UNCERTAIN, ABSENT):
            if s in statuses:
                return s
        return None


@dataclass(frozen=True)
class ParsedReport:
    text: str
    sentences: tuple[ReportSentence, ...]
    labels: dict[str, int]
    truncated: bool = False

    def sections(self) -> dict[str, list[ReportSentence]]:
        out: dict[str, list[ReportSentence]] = {}
        for s in self.sentences:
            out.setdefault(s.section, []).append(s)
        return out

    def by_anatomy(self) -> dict[str, list[ReportSentence]]:
        """Sentences under the first region each names (lobes count as 'lung'); 'other' for none."""
        out: dict[str, list[ReportSentence]] = {}
        for s in self.sentences:
            region = next((r for r in s.anatomy if " lobe" not in r), s.anatomy[0] if s.anatomy else OTHER)
            out.setdefault(region, []).append(s)
        return out

    def statements(self, finding: str) -> list[ReportSentence]:
        """The sentences that speak of ``finding`` (mentioned present, absent or uncertain)."""
        return [s for s in self.sentences if any(f.name == finding for f in s.findings)]


def parse_report(report) -> ParsedReport:
    """Parse any input: str, bytes (decoded as UTF-8 with replacement), HTML, or nothing."""
    raw_len = len(report) if isinstance(report, (str, bytes, bytearray)) else 0
    text = clean_report(report)
    sentences = split_sentences(text)
    clauses = Clauses(text)
    starts = [s.start for s in sentences]
    per_sentence: list[list[Finding]] = [[] for _ in sentences]
    for name in FINDING_RULES:
        for start, end, status in label_mentions(text, name, clauses):
            i = bisect_right(starts, start) - 1
            if i >= 0 and start < sentences[i].end:
                per_sentence[i].append(Finding(name, status, start, end))
    parsed = tuple(
        ReportSentence(
            s.text, s.start, s.end, s.section, s.index,
            tuple(split_phrases(text, s.start, s.end)), regions(s.text),
            tuple(sorted(per_sentence[s.index], key=lambda f: f.start)),
        )
        for s in sentences
    )
    labels = {label: 0 for label in CT_RATE_LABELS}
    for s in parsed:
        for f in s.findings:
            if f.name in labels and f.status != ABSENT:
                labels[f.name] = 1
    return ParsedReport(text, parsed, labels, truncated=raw_len > MAX_CHARS)
