import pytest

from napari_mg3d.knowledge import split_sentences

REPORT = """FINDINGS: Trachea and both main bronchi are open. A 3.5 mm nodule, e.g. in the right
upper lobe, is seen (approx. 4 mm before).
No pleural effusion!
IMPRESSION:
1. Small nodule in the right upper lobe.
2. No effusion vs. prior study."""


def test_sentences_sections_and_offsets():
    sentences = split_sentences(REPORT)
    assert [s.text for s in sentences] == [
        "Trachea and both main bronchi are open.",
        "A 3.5 mm nodule, e.g. in the right\nupper lobe, is seen (approx. 4 mm before).",
        "No pleural effusion!",
        "Small nodule in the right upper lobe.",
        "No effusion vs. prior study.",
    ]
    assert [s.section for s in sentences] == ["findings"] * 3 + ["impression"] * 2
    assert [s.index for s in sentences] == list(range(5))
    for s in sentences:
        assert REPORT[s.start : s.end] == s.text


@pytest.mark.parametrize("text", ["", "   \n\n ", "...", "-\n*"])
def test_empty_or_punctuation_only(text):
    assert split_sentences(text) == []


def test_words_named_like_sections_inside_a_sentence_stay():
    text = "The findings are stable. Impression of a small nodule remains."
    assert [s.text for s in split_sentences(text)] == [
        "The findings are stable.", "Impression of a small nodule remains."
    ]
