"""The literal words a regex must start with, for a cheap ``in`` test before running it."""

from __future__ import annotations

try:  # Python 3.11+
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c
    import sre_parse as _parser

MIN_STEM = 3


def literal_stems(pattern: str) -> tuple[str, ...] | None:
    """Every match of ``pattern`` starts with one of these strings; None when that cannot be told."""
    stems = _branch_prefixes(list(_parser.parse(pattern)))
    if not stems or any(len(s) < MIN_STEM for s in stems):
        return None
    shortest: list[str] = []
    for stem in sorted(set(stems), key=len):  # "calcifi" covers "calcific"
        if not any(stem.startswith(s) for s in shortest):
            shortest.append(stem)
    return tuple(shortest)


def _branch_prefixes(items) -> list[str] | None:
    prefixes = [""]
    for op, av in items:
        if op is _c.LITERAL:
            prefixes = [p + chr(av) for p in prefixes]
            continue
        if op is _c.SUBPATTERN:
            inner = _branch_prefixes(list(av[-1]))
        elif op is _c.BRANCH:
            inner = []
            for alternative in av[1]:
                sub = _branch_prefixes(list(alternative))
                if sub is None:
                    return None
                inner += sub
        else:
            break
        if inner is None:
            return None
        prefixes = [p + q for p in prefixes for q in inner]
        if any(len(q) == 0 for q in inner) or len(prefixes) > 200:
            break
        # a group that may end early (an alternative shorter than the others) ends the prefix
        break
    return prefixes
