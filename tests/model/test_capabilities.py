"""What a checkpoint can do, from its metadata: official weights offer maps and volume search, and
say in one line why findings and text search are not offered and how to get them."""

import pytest

from napari_mg3d.model.capabilities import Capabilities, capabilities_of, trained_parts
from napari_mg3d.model.config import get_config
from napari_mg3d.model.objectives import loss_weights


def test_official_weights_have_no_report_volume_space():
    official = capabilities_of({"converted_from": "mg3d.ckpt", "source": "official", "trained": ["vision", "fusion"]})
    assert official.source == "official" and not official.aligned and official.volume_space == "unimodal"
    reason = official.refusal("findings")
    assert "official MG-3D weights" in reason and "mg3d finetune align" in reason and "\n" not in reason
    d = official.to_dict()
    assert d["volume_search"] == "unimodal image embedding" and d["attention"] == "fusion affinities"
    assert d["findings"] == reason and d["text_search"].startswith("text search not offered")
    # an official file read as it is, and a conversion written before sources were recorded
    assert capabilities_of(None, official_file=True) == official
    assert capabilities_of({"converted_from": "x.ckpt"}) == official


def test_our_checkpoints_say_what_their_run_trained():
    tiny = get_config("mg3d-tiny")
    parts = trained_parts(tiny, loss_weights(tiny.loss_weights))
    assert parts == ["vision", "fusion", "alignment", "findings", "grounding"]
    ours = capabilities_of({"source": "ours", "trained": parts}, tiny)
    assert ours.aligned and ours.refusal("findings") is None and ours.to_dict()["attention"] == "grounding head"
    # written before sources were recorded: what its config trains (the recipe's global alignment 0.1)
    swin = get_config("mg3d-swin-b")
    assert capabilities_of({"model_config": {}}, swin).trained == ("vision", "fusion", "alignment")
    aligned = capabilities_of({"source": "official", "trained": ["vision", "fusion", "alignment", "findings"]})
    assert aligned.source == "official" and aligned.aligned and aligned.refusal("text search") is None


@pytest.mark.parametrize("source", ["official", "ours"])
def test_the_summary_names_source_and_parts(source):
    line = Capabilities(source, ("vision", "fusion")).summary()
    assert "trained: vision, fusion" in line and ("official" in line) == (source == "official")
