"""Is a mention present, absent (negated) or uncertain? Cues and their scope within a clause.

A clause ends at a sentence end, ';' or ':', and at words that turn the sense (but, however,
although, whereas, except) or start a new statement (', and there are', ', which'). A negation cue
before the mention ("no", "without", "free of") or a negated verb after it ("was not observed",
"were not detected") makes it absent; hedges ("?", "suspicious for", "may be", "compatible with")
make it uncertain.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

PRESENT, ABSENT, UNCERTAIN = "present", "absent", "uncertain"
# All patterns here are lower case: they run on text lowered by ``lower`` (see Clauses).

_VERBS = (
    r"(?:observed|detected|seen|found|identified|noted|present|visuali[sz]ed|monitored|encountered|"
    r"evident|determined|appreciated|demonstrated|depicted|shown|revealed|apparent|recorded|described|"
    r"distinguished|followed|reported|considered)"
)
# Clause breaks: punctuation (one fast regex) and words that turn or restart the sense, found with
# str.find (texts are lowercased first), which is several times faster than one big regex.
PUNCTUATION_BREAK = re.compile(r"[;:!?\"\u201c\u201d\u2022]|\.(?=[\"'\u201c\u201d]*(?:\s|$))")
WORD_BREAKS = (
    ", and", ", there is", ", there are", ", there was", ", there were", ", in addition", ", additionally",
    ", also", " but", " however", " although", " though", " whereas", " while", " except", " yet",
    " besides", " apart from", " other than", " and there is", " and there are", " and there was",
    " and there were", " and a ", " and an ", " observed and", " detected and", " seen and", " noted and",
    " observed,", " detected,", " seen,", " noted,",
)
SENTENCE_BREAK = re.compile(r"[;!?\n\"\u201c\u201d\u2022]|\.(?=[\"'\u201c\u201d]*(?:\s|$))")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower(text: str) -> str:
    """ASCII lower case: same length, same offsets (str.lower can change both)."""
    return text.translate(_LOWER)


# ", which was not seen before," says nothing of whether the finding is there now
PARENTHETICAL = re.compile(r",\s*which\b[^,]*,|\([^)]*\)")
PRE_NEGATION = re.compile(
    r"\b(?:no|not|without|neither|nor|absence\s+of|absent|free\s+of|negative\s+for|rule[sd]?\s+out|"
    r"excluded?|resolution\s+of|resolved|disappear(?:ed|ance\s+of)|lack\s+of|nothing)\b",
)
POST_NEGATION = re.compile(
    r"\b(?:(?:is|are|was|were|has\s+been|have\s+been|could\s+be|can\s+be|will\s+be)\s+)?"
    r"(?:not|no\s+longer|never)\s+(?:been\s+)?" + _VERBS + r"\b"
    r"|\b(?:is|are|was|were|or)\s+(?:absent|excluded|ruled\s+out|resolved|regressed|disappeared|removed)\b"
    r"|\b(?:has|have)\s+(?:been\s+)?(?:resolved|regressed|disappeared|removed)\b|\bdisappeared\b"
    r"|\b(?:cannot|could\s+not|can\s+not)\s+be\s+(?:evaluated|assessed|distinguished)\b"
    r"|\bnot\s+(?:any|significant)\b"
    r"|^\s*-\s*no\s+\w+\s+(?:was|were|is|are)\s+" + _VERBS + r"\b"
    r"|\b(?:did|does|do)\s+not\s+(?:exist|appear|develop)\b",
)
# "lymph nodes are not (pathologically) enlarged": the mention is the subject of a denied size,
# right before it (only there: in "effusion, the heart is not enlarged" the effusion stays)
SUBJECT_NEGATION = re.compile(
    r"\s*(?:\w+\s+)?(?:is|are|was|were)\s+not\s+(?:\w+ly\s+)?(?:enlarged|increased|thickened|dilated|widened)\b"
)
UNCERTAINTY = re.compile(
    r"\?|\b(?:suspicious|suspected|suspicion|possibl[ey]|probabl[ey]|likely|may|might|cannot\s+be\s+excluded|"
    r"could\s+not\s+be\s+excluded|questionable|equivocal|in\s+favou?r\s+of|compatible\s+with|"
    r"suggestive\s+of|differential|doubtful|rule\s+out)\b",
)


class _Breaks:
    def __init__(self, text: str, pattern: re.Pattern, words: tuple[str, ...] = ()):
        breaks = [(m.start(), m.end()) for m in pattern.finditer(text)]
        for word in words:
            i = text.find(word)
            while i >= 0:
                end = i + len(word)
                if word[-1] in " ," or end >= len(text) or not text[end].isalnum():
                    breaks.append((i, end))
                i = text.find(word, i + 1)
        breaks.sort()
        self.size = len(text)
        self.starts = [s for s, _ in breaks]
        self.ends = sorted(e for _, e in breaks)

    def around(self, start: int, end: int) -> tuple[int, int]:
        i = bisect_right(self.ends, start)  # breaks that end at or before the span
        lo = self.ends[i - 1] if i else 0
        j = bisect_left(self.starts, end)
        return lo, (self.starts[j] if j < len(self.starts) else self.size)


class Clauses:
    """The clause and sentence breaks of one text, found once, for many mentions."""

    def __init__(self, text: str):
        self.text = lower(text)
        self._clauses = _Breaks(self.text, PUNCTUATION_BREAK, WORD_BREAKS)
        self._sentences = None

    def bounds(self, start: int, end: int) -> tuple[int, int]:
        """The clause around ``text[start:end]``."""
        return self._clauses.around(start, end)

    def sentence(self, start: int, end: int) -> tuple[int, int]:
        """The sentence around ``text[start:end]``."""
        if self._sentences is None:
            self._sentences = _Breaks(self.text, SENTENCE_BREAK)
        return self._sentences.around(start, end)

    def status(self, start: int, end: int) -> str:
        return mention_status(self.text, start, end, self)


def mention_status(text: str, start: int, end: int, clauses: Clauses | None = None) -> str:
    """PRESENT, ABSENT or UNCERTAIN for the mention ``text[start:end]``."""
    clauses = clauses or Clauses(text)
    text = clauses.text
    lo, hi = clauses.bounds(start, end)
    before, after = text[lo:start], PARENTHETICAL.sub(" ", text[end:hi])
    if PRE_NEGATION.search(before) or POST_NEGATION.search(after) or SUBJECT_NEGATION.match(after):
        return ABSENT
    if UNCERTAINTY.search(before) or UNCERTAINTY.search(after) or text.startswith("?", hi):
        return UNCERTAIN
    return PRESENT
