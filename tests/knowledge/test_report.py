import pytest

from napari_mg3d.knowledge import CT_RATE_LABELS, label_report, parse_report
from napari_mg3d.knowledge.anatomy import lobes, regions

REPORT = (
    "FINDINGS: Trachea and both main bronchi are open. Heart size is normal. No pericardial effusion. "
    "A 6 mm nodule is seen in the right upper lobe, and atelectasis in the lower lobe of the left lung. "
    "Pleural effusion was not observed. Emphysema? "
    "IMPRESSION: Right upper lobe nodule; left lower lobe atelectasis."
)


def test_sentences_phrases_anatomy_findings_and_offsets():
    parsed = parse_report(REPORT)
    for s in parsed.sentences:
        assert REPORT[s.start : s.end] == s.text
        for p in s.phrases:
            assert REPORT[p.start : p.end] == p.text and s.start <= p.start < p.end <= s.end
        for f in s.findings:
            assert s.start <= f.start < f.end <= s.end
    nodule = next(s for s in parsed.sentences if "6 mm nodule" in s.text)
    assert nodule.anatomy[:2] == ("right lung upper lobe", "left lung lower lobe")
    assert {(f.name, f.status) for f in nodule.findings} == {("Lung nodule", "present"), ("Atelectasis", "present")}
    assert [p.text for p in nodule.phrases] == [
        "A 6 mm nodule is seen in the right upper lobe", "and atelectasis in the lower lobe of the left lung"
    ]
    effusion = next(s for s in parsed.sentences if s.text.startswith("Pleural effusion"))
    assert effusion.status == "absent" and "pleura" in effusion.anatomy
    emphysema = next(s for s in parsed.sentences if s.text == "Emphysema?")
    assert emphysema.status == "uncertain"
    assert parsed.labels["Lung nodule"] == 1 and parsed.labels["Pleural effusion"] == 0
    assert parsed.labels["Emphysema"] == 1  # uncertain counts, as in CT-RATE
    assert [s.section for s in parsed.sentences][-1] == "impression"
    assert len(parsed.statements("Lung nodule")) == 2
    assert "lung" in parsed.by_anatomy() and "heart" in parsed.by_anatomy()


def test_lobes_in_every_phrasing():
    assert lobes("right lung upper lobe") == ("right lung upper lobe",)
    assert lobes("the lower lobe of the left lung") == ("left lung lower lobe",)
    assert lobes("RML and LLL") == ("right lung middle lobe", "left lung lower lobe")
    assert lobes("both lower lobes") == ("right lung lower lobe", "left lung lower lobe")
    assert lobes("inferior lingular segment") == ("left lung upper lobe",)
    assert regions("subcarinal lymph node") == ("mediastinum",)
    assert regions("pericardial effusion") == ("heart",)


@pytest.mark.parametrize(
    "report",
    [
        "",
        None,
        "   \n\t ",
        "<html><body><p>No pleural effusion.</p><p>A nodule in the <b>right upper lobe</b>.</p></body></html>",
        "Kein Pleuraerguss. Kleiner Rundherd im rechten Oberlappen.",
        "右肺上叶见小结节。未见胸腔积液。",
        "Pleural effusion \xe9vident.".encode("latin-1"),
        "A nodule.\x00\x07 No effusion.",
    ],
)
def test_bad_input_gives_sensible_output(report):
    parsed = parse_report(report)
    assert set(parsed.labels) == set(CT_RATE_LABELS)
    for s in parsed.sentences:
        assert parsed.text[s.start : s.end] == s.text and "<" not in s.text
    assert label_report(report) == parsed.labels


def test_html_is_read_without_its_tags():
    parsed = parse_report("<p>No pleural effusion.</p><p>A nodule in the <b>right upper lobe</b>.</p>")
    assert parsed.labels["Lung nodule"] == 1 and parsed.labels["Pleural effusion"] == 0
    assert [s.text for s in parsed.sentences][0] == "No pleural effusion."


def test_huge_report_is_bounded():
    sentence = "A 4 mm nodule is observed in the right lung upper lobe. No pleural effusion. "
    parsed = parse_report(sentence * (100_000 // len(sentence) + 1))
    assert len(parsed.text) >= 100_000 and len(parsed.sentences) > 2000
    assert parsed.labels["Lung nodule"] == 1 and parsed.labels["Pleural effusion"] == 0
    assert not parsed.truncated
    assert parse_report("x" * 300_000).truncated
