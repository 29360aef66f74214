"""An official checkpoint in the viewer: the Model widget says what it can do; Findings and searching
by report or text are greyed out with their one-line reason; after `finetune align` they are offered."""

import pytest

from napari_mg3d.widgets.findings import FindingsWidget
from napari_mg3d.widgets.model import ModelWidget
from napari_mg3d.widgets.similar import SimilarWidget
from napari_mg3d.widgets.training import TrainingWidget


@pytest.fixture(scope="module")
def official(widget_data, tmp_path_factory):
    """A checkpoint whose metadata says what a converted official one says (mg3d-tiny stands in)."""
    import torch

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    return save_checkpoint(create_model("mg3d-tiny", device="cpu"),
                           tmp_path_factory.mktemp("official-widget") / "official.safetensors",
                           profile=get_profile("synthetic-tiny").to_dict(),
                           extra={"converted_from": "mg3d.ckpt", "source": "official", "trained": ["vision", "fusion"]})


def load(viewer, qtbot, wait_task, checkpoint):
    widget = ModelWidget(viewer)
    qtbot.addWidget(widget)
    widget.path.setText(str(checkpoint))
    widget.device.setCurrentText("cpu")
    widget.load()
    wait_task(widget)
    return widget


def test_official_weights_offer_maps_and_volume_search_and_say_why_not_the_rest(
        make_napari_viewer, case_file, widget_data, official, qtbot, wait_task, tmp_path):
    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    findings, similar, training = FindingsWidget(viewer), SimilarWidget(viewer), TrainingWidget(viewer)
    for w in (findings, similar, training):
        qtbot.addWidget(w)
    model = load(viewer, qtbot, wait_task, official)
    text = model.info.text()
    assert "official MG-3D weights; trained: vision, fusion" in text
    assert "findings not offered" in text and "text search not offered" in text and "finetune align" in text
    assert not findings.run_button.isEnabled() and findings.note.text().startswith("findings not offered")
    modes = similar.mode.model()
    assert modes.item(0).isEnabled() and not modes.item(1).isEnabled() and not modes.item(2).isEnabled()
    assert similar.mode.currentText() == "this volume" and not similar.text.isEnabled()
    assert "text search not offered" in modes.item(2).toolTip()

    # mg3d finetune align from the Training widget, its result loaded into the Model widget
    training.kind.setCurrentText("finetune align")
    training.manifest.setText(str(widget_data[1]))
    training.out.setText(str(tmp_path / "align"))
    training.steps.setValue(3)
    training.batch.setValue(3)
    training.extra.setText(f"checkpoint={official} mode=probe warmup_steps=1 log_every=1 val_max_cases=0")
    training.start()
    qtbot.waitUntil(lambda: not training.running(), timeout=300_000)
    assert training.status.text().startswith("Finished"), training.status.text()
    training.load_result()
    wait_task(model)
    qtbot.waitUntil(lambda: "alignment" in model.info.text(), timeout=60_000)
    assert "trained: vision, fusion, alignment, findings" in model.info.text()
    assert "not offered" not in model.info.text()
    assert findings.run_button.isEnabled() and findings.note.text() == ""
    assert all(modes.item(i).isEnabled() for i in range(3)) and similar.text.isEnabled()
    findings.run()
    wait_task(findings)
    # a row for each label the alignment's training reports told apart; the others named apart, no number
    from napari_mg3d.model.capabilities import learnt_labels
    from napari_mg3d.model.checkpoint import read_metadata

    learnt = set(learnt_labels(read_metadata(tmp_path / "align" / "model.safetensors")))
    assert findings.table.rowCount() == len(learnt) and set(findings.results) == learnt
    assert len(learnt) + len(findings.not_learnt) == 18
