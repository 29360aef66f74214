"""Which sentence each token of a tokenised report belongs to, for any tokenizer with offsets."""

from __future__ import annotations

from bisect import bisect_right


def token_sentence_index(offsets, sentences) -> list[int]:
    """For each (start, end) character span of a token, the index of the sentence that holds it.

    ``offsets`` is what a fast Hugging Face tokenizer returns as ``offset_mapping``; special tokens
    (empty spans) and tokens between sentences get -1.
    """
    starts = [s.start for s in sentences]
    out = []
    for start, end in offsets:
        if end <= start:
            out.append(-1)
            continue
        i = bisect_right(starts, start) - 1
        out.append(i if i >= 0 and start < sentences[i].end else -1)
    return out
