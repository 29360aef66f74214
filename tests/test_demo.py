"""The main job, headless: prepare the demo's model (shrunk here), open the case, run every
widget's analysis, write screenshots and a summary."""

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs an X server (pytest-xvfb provides one)")
    folder = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "MG3D_CACHE_DIR": str(folder / "cache"), "MG3D_SETTINGS": str(folder / "settings.json"),
           "MG3D_DEMO_CASES": "10", "MG3D_DEMO_STEPS": "4", "MG3D_DEMO_SEG_STEPS": "4"}
    result = subprocess.run([sys.executable, "-m", "napari_mg3d.cli", "demo", "--screenshot", "--out",
                             str(folder / "out")], capture_output=True, text=True, timeout=900, env=env)
    return folder, result


def test_headless_demo_writes_screenshots_and_summary(demo_run):
    from imageio.v3 import imread

    folder, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    out = folder / "out"
    summary = json.loads((out / "summary.json").read_text())
    kinds = [(layer["name"], layer["type"]) for layer in summary["layers"]]
    assert kinds[0] == (summary["case"], "image")
    assert (f"{summary['case']} segmentation", "labels") in kinds
    assert summary["finding"] == "pleural_effusion"
    assert "pleural effusion" in summary["attention"]["text"].lower()
    assert (f"attention: {summary['attention']['text']}", "image") in kinds
    # a probability for each label the demo model learnt, none for the others; the 8 training cases
    assert len(summary["findings"]) + len(summary["not_learnt"]) == 18 and len(summary["similar"]) == 8
    assert not set(summary["findings"]) & set(summary["not_learnt"])
    assert any("heart" in line for line in summary["segmentation"])
    # the model was prepared once, with progress, and is cached for the next run
    assert "pre-training mg3d-tiny" in result.stderr and "step 4 / 4" in result.stderr
    assert list((folder / "cache").glob("demo-*/pretrain/model.safetensors"))
    canvas = imread(out / "canvas.png")[..., :3].astype(float)
    assert canvas.mean() > 20 and canvas.std() > 20  # drawn, not black
    h, w = canvas.shape[:2]
    middle, corner = canvas[h // 3: 2 * h // 3, w // 3: 2 * w // 3], canvas[: h // 10, : w // 10]
    assert middle.mean() > corner.mean() + 50  # the body is in the middle of the view, air around it
    for name in summary["screenshots"]:
        picture = imread(out / name)[..., :3].astype(float)
        assert picture.std() > 10, name


def test_demo_second_run_uses_the_cache(demo_run):
    folder, _ = demo_run
    env = {**os.environ, "MG3D_CACHE_DIR": str(folder / "cache"), "MG3D_SETTINGS": str(folder / "settings.json"),
           "MG3D_DEMO_CASES": "10", "MG3D_DEMO_STEPS": "4", "MG3D_DEMO_SEG_STEPS": "4"}
    result = subprocess.run([sys.executable, "-c", "from napari_mg3d.demo_assets import prepare; prepare()"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0 and "pre-training" not in result.stderr and "writing" not in result.stderr


def test_the_demo_cache_is_keyed_by_the_model_config(monkeypatch):
    from napari_mg3d import demo_assets
    from napari_mg3d.model import config

    before = demo_assets.DemoSize().key()
    assert before.endswith(demo_assets.model_signature())
    changed = config.get_config("mg3d-tiny", **{"loss_weights.grounding": 0.5})
    monkeypatch.setattr(config, "get_config", lambda name, **kw: changed)
    assert demo_assets.DemoSize().key() != before  # a changed mg3d-tiny never reuses the cached model
