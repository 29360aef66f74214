import json

import pytest

from napari_mg3d.io import InputError
from napari_mg3d.knowledge import CT_RATE_LABELS, label_report
from napari_mg3d.knowledge.prompts import default_prompts, load_prompts


def test_every_label_has_prompts_the_labeller_reads_back():
    prompts = default_prompts()
    assert [p.label for p in prompts] == list(CT_RATE_LABELS)
    for p in prompts:
        assert p.positive and p.negative
        for text in p.positive:
            assert label_report(text)[p.label] == 1, text
        for text in p.negative:
            assert label_report(text)[p.label] == 0, text


def test_label_sets_from_files(tmp_path):
    (tmp_path / "labels.txt").write_text("# mine\nPneumothorax\nRib fracture\n")
    assert [p.label for p in load_prompts(tmp_path / "labels.txt")] == ["Pneumothorax", "Rib fracture"]
    spec = {"Pneumothorax": "a pneumothorax", "Mass": {"positive": ["A mass."], "negative": ["No mass."]}}
    (tmp_path / "labels.json").write_text(json.dumps(spec))
    loaded = load_prompts(tmp_path / "labels.json")
    assert loaded[0].positive[0] == "There is a pneumothorax." and loaded[1].negative == ("No mass.",)
    (tmp_path / "bad.json").write_text('{"Mass": {"positive": ["A mass."]}}')
    with pytest.raises(InputError, match="needs 'positive' and 'negative'"):
        load_prompts(tmp_path / "bad.json")
