"""Fixtures for the widget tests: a remembered-settings file of their own, small checkpoints (an
MG-3D model and a segmenter) and a case library, all made here."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def own_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("MG3D_SETTINGS", str(tmp_path / "settings.json"))


@pytest.fixture(scope="session")
def widget_data(tmp_path_factory):
    """(folder, manifest of 6 synthetic cases, tiny MG-3D checkpoint, segmentation checkpoint)."""
    import torch

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.data.synthetic import ORGANS
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.config import get_config
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.model.segmenter import SwinSegmenter

    folder = tmp_path_factory.mktemp("widgets")
    manifest = write_synthetic(folder / "synth", 6, seed=31, shape=(24, 48, 48), split="train")
    torch.manual_seed(0)
    profile = get_profile("synthetic-tiny").to_dict()
    checkpoint = save_checkpoint(create_model("mg3d-tiny", device="cpu"), folder / "tiny.safetensors",
                                 profile=profile, prompts=[p.__dict__ for p in default_prompts()])
    classes = list(ORGANS.values())
    segmenter = save_checkpoint(SwinSegmenter(get_config("mg3d-tiny"), len(classes) + 1), folder / "seg.safetensors",
                                profile=profile, extra={"kind": "segmenter", "classes": classes})
    return folder, manifest, checkpoint, segmenter


@pytest.fixture
def wait_task(qtbot):
    """Wait until a widget's background task (its TaskBar) is done."""

    def wait(widget, timeout=120_000):
        qtbot.waitUntil(lambda: not widget.taskbar.busy(), timeout=timeout)

    return wait


@pytest.fixture
def loaded_session(make_napari_viewer, widget_data, case_file, qtbot, wait_task):
    """A viewer with the synthetic case open and the tiny model loaded through the Model widget."""
    from napari_mg3d.widgets.model import ModelWidget

    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    model = ModelWidget(viewer)
    qtbot.addWidget(model)
    model.path.setText(str(widget_data[2]))
    model.device.setCurrentText("cpu")
    model.load()
    wait_task(model)
    assert model.session.loaded is not None
    return viewer, model
