"""The main job, headless: the shipped demo model, the demo's cases (fewer here), every widget's
analysis, screenshots and a summary; and ``--retrain``, which trains the models as the make script
does (shrunk here)."""

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
           "MG3D_DEMO_CASES": "10"}
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
    # the shipped model: nothing trained, the library made once and cached for the next run
    assert "the shipped demo model" in result.stderr and "pre-training" not in result.stderr
    assert summary["model"].endswith("demo_model/model.safetensors")
    assert list((folder / "cache").glob("demo-*/library-shipped-*/done"))
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
           "MG3D_DEMO_CASES": "10"}
    result = subprocess.run([sys.executable, "-c", "from napari_mg3d.demo_assets import prepare; prepare()"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0 and "writing" not in result.stderr and "library" not in result.stderr


def test_retrain_trains_the_demo_models_here_with_progress(tmp_path):
    from napari_mg3d.io.manifest import read_manifest

    # 10 demo cases (8 for training), trained on 12: 4 more written after them, for training only
    env = {**os.environ, "MG3D_CACHE_DIR": str(tmp_path), "MG3D_DEMO_CASES": "10", "MG3D_DEMO_STEPS": "1",
           "MG3D_DEMO_SEG_STEPS": "1", "MG3D_DEMO_TRAIN_CASES": "12"}
    code = "from napari_mg3d.demo_assets import prepare; print(prepare(retrain=True)['model'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pre-training mg3d-tiny" in result.stderr and "step 1 / 1" in result.stderr
    assert "shipped" not in result.stderr and result.stdout.strip().endswith("pretrain/model.safetensors")
    assert list(tmp_path.glob("demo-*/seg/model.safetensors")) and list(tmp_path.glob("demo-*/library/done"))
    folder = next(tmp_path.glob("demo-*"))
    training = folder / "training" / "manifest.csv"
    for run in ("pretrain", "seg"):  # both models trained on the 12, validated on the demo's own
        assert json.loads((folder / run / "config.json").read_text())["manifest"] == str(training)
    splits = [c.split for c in read_manifest(training)]
    assert splits.count("train") == 12 and splits.count("val") == 1 and splits.count("test") == 1
    demo = [c.id for c in read_manifest(folder / "cases" / "manifest.csv")]
    trained = [c.id for c in read_manifest(training)]
    assert trained[:10] == demo
    # the case library holds the demo's 8 training cases, not the cases written only to train
    from napari_mg3d.inference.library import CaseLibrary

    library = CaseLibrary(folder / "library")
    assert len(library) == 8 and library.has(demo[0]) and not any(library.has(i) for i in trained[10:])
    library.close()


def test_the_demo_cache_is_keyed_by_the_model_config(monkeypatch):
    from napari_mg3d import demo_assets
    from napari_mg3d.model import config

    before = demo_assets.DemoSize().key()
    assert f"-m{demo_assets.model_signature()}-" in before
    changed = config.get_config("mg3d-tiny", **{"loss_weights.grounding": 0.5})
    monkeypatch.setattr(config, "get_config", lambda name, **kw: changed)
    assert demo_assets.DemoSize().key() != before  # a changed mg3d-tiny never reuses the cached model
