import json
import subprocess
import sys

import numpy as np
import pytest

from napari_mg3d.train.finetune_seg import dice_per_class



@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from napari_mg3d.data.synth_writer import write_synthetic

    folder = tmp_path_factory.mktemp("synth")
    return write_synthetic(folder, 10, seed=5, shape=(32, 64, 64))


def _mg3d(*args, timeout=900):
    result = subprocess.run([sys.executable, "-m", "napari_mg3d.cli", *args], capture_output=True, text=True,
                            timeout=timeout)
    return result


def _records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_dice_per_class():
    truth = np.array([0, 1, 1, 2, 2, 2])
    pred = np.array([0, 1, 2, 2, 2, 0])
    assert dice_per_class(pred, truth, 4)[:2] == pytest.approx([2 * 1 / 3, 2 * 2 / 6])
    assert np.isnan(dice_per_class(pred, truth, 4)[2])


def test_finetune_seg_validates_exports_and_segments_onto_the_original_grid(synth, tmp_path):
    from napari_mg3d.data.synthetic import ORGANS
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.model.checkpoint import read_metadata

    out = tmp_path / "seg"
    classes = json.dumps(list(ORGANS.values()))
    result = _mg3d("finetune", "seg", "--set", f"manifest={synth}", f"out={out}", "max_steps=4", "batch_size=2",
                   "checkpoint_every=2", "log_every=1", f"classes={classes}", f"cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 0, result.stderr[-3000:]
    vals = [r for r in _records(out) if r.get("event") == "val"]
    assert vals and set(vals[-1]["dice"]) == set(ORGANS.values()) and 0 <= vals[-1]["dice_mean"] <= 1
    meta = read_metadata(out / "model.safetensors")
    assert meta["kind"] == "segmenter" and meta["classes"] == list(ORGANS.values())
    assert meta["profile"]["name"] == "synthetic-tiny"

    volume = synth.parent / "cases" / "synth-00005-00000.nii.gz"
    labels = tmp_path / "labels.nii.gz"
    result = _mg3d("segment", str(out / "model.safetensors"), str(volume), "--out", str(labels), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout)
    source, written = read_volume(volume), read_volume(labels)
    assert written.array.shape == source.array.shape == tuple(info["shape"])
    assert written.geometry == source.geometry
    assert written.array.max() <= len(ORGANS) and set(info["voxels"]) == set(ORGANS.values())

    # a pre-training checkpoint is not a segmenter: one clear line, exit 2
    result = _mg3d("segment", str(out / "last.ckpt"), str(volume), "--out", str(tmp_path / "x.nii.gz"))
    assert result.returncode == 2 and "not a segmentation checkpoint" in result.stderr


def test_finetune_cls_probe_from_a_pretrained_encoder(synth, tmp_path):
    import torch

    from napari_mg3d.model.checkpoint import read_checkpoint, save_checkpoint
    from napari_mg3d.model.factory import create_model

    pretrained = tmp_path / "pretrained.safetensors"
    save_checkpoint(create_model("mg3d-tiny", device="cpu"), pretrained, profile={"name": "synthetic-tiny"})
    out = tmp_path / "cls"
    result = _mg3d("finetune", "cls", "--set", f"manifest={synth}", f"out={out}", f"checkpoint={pretrained}",
                   "mode=probe", "max_steps=4", "batch_size=2", "log_every=1", f"cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 0, result.stderr[-3000:]
    state, meta = read_checkpoint(out / "model.safetensors")
    before, _ = read_checkpoint(pretrained)
    # a linear probe leaves the encoder exactly as pre-trained
    for key, value in state.items():
        if key.startswith("encoder."):
            assert torch.equal(value, before["vision_encoder." + key[len("encoder."):]])
    assert meta["kind"] == "classifier" and "Lung nodule" in meta["labels"] and meta["mode"] == "probe"
    assert [r for r in _records(out) if "loss" in r]


def test_finetune_refuses_a_bad_task_setting(synth, tmp_path):
    result = _mg3d("finetune", "cls", "--set", f"manifest={synth}", f"out={tmp_path}", "mode=probe",
                   "checkpoint=nothing-here.safetensors")
    assert result.returncode == 2 and "checkpoint not found" in result.stderr


def test_finetune_align_tempers_its_findings_on_the_validation_cases(tmp_path):
    import torch

    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.inference.encode import load_model
    from napari_mg3d.io.manifest import read_manifest
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.checkpoint import read_metadata, save_checkpoint
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.calibrate import MIN_TEMPERATURE_CASES, calibrate_findings

    import csv

    manifest = write_synthetic(tmp_path / "cases", 28, seed=6, shape=(16, 32, 32))
    rows = list(csv.DictReader(manifest.open(newline="")))
    for i, row in enumerate(rows):  # 8 training cases, 16 validation cases, 4 test cases
        row["split"] = "train" if i < 8 else "val" if i < 8 + MIN_TEMPERATURE_CASES else "test"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    torch.manual_seed(0)
    pretrained = tmp_path / "pretrained.safetensors"
    save_checkpoint(create_model("mg3d-tiny", device="cpu"), pretrained, profile={"name": "synthetic-tiny"})
    out = tmp_path / "align"
    result = _mg3d("finetune", "align", "--set", f"manifest={manifest}", f"out={out}", f"checkpoint={pretrained}",
                   "mode=probe", "max_steps=3", "batch_size=8", "log_every=1", "warmup_steps=1",
                   f"cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 0, result.stderr[-3000:]
    meta = read_metadata(out / "model.safetensors")
    record = meta["findings_temperature"]
    assert record["cases"] == MIN_TEMPERATURE_CASES and record["temperature"] > 1.0  # softened, not left
    # the kept weights are the training cases' fit, softened by that temperature
    loaded = load_model(out / "model.safetensors", "cpu")
    train = CaseDataset(None, "synthetic-tiny", cache_dir=tmp_path / "cache",
                        cases=[c for c in read_manifest(manifest) if c.split == "train"])
    fit = calibrate_findings(loaded.model, train, default_prompts())
    assert fit.keys() == meta["findings_calibration"].keys() and fit
    for label, weights in fit.items():
        assert np.allclose(np.asarray(weights) / record["temperature"], meta["findings_calibration"][label],
                           atol=2e-3 * (1 + np.abs(weights).max())), label
