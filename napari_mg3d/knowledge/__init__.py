"""Multi-grained report knowledge: sections, sentences, phrases, anatomy, findings with negation,
the 18 CT-RATE labels and zero-shot prompts (no torch, no Qt)."""

from .labels import CT_RATE_LABELS, label_report
from .report import Finding, ParsedReport, ReportSentence, parse_report
from .sentences import Sentence, split_sentences
from .tokens import token_sentence_index

__all__ = [
    "CT_RATE_LABELS", "Finding", "ParsedReport", "ReportSentence", "Sentence", "label_report",
    "parse_report", "split_sentences", "token_sentence_index",
]
