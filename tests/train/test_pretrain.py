import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from napari_mg3d.train.config import load_config
from napari_mg3d.train.schedule import warmup_linear

# no DataLoader workers (each one is a fresh interpreter: seconds a run); test_pretrain_logs_... has one
STEP_ARGS = ["batch_size=2", "log_every=1", "warmup_steps=2", "lr=1e-4", "num_workers=0"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from napari_mg3d.data.synth_writer import write_synthetic

    folder = tmp_path_factory.mktemp("synth")
    return write_synthetic(folder, 10, seed=3, shape=(32, 64, 64))


def _pretrain(manifest, out, *sets, resume=False, wait=True):
    cmd = [sys.executable, "-m", "napari_mg3d.cli", "pretrain", "--set", f"manifest={manifest}", f"out={out}",
           f"cache_dir={out.parent / 'cache'}", *STEP_ARGS, *sets]
    if resume:
        cmd.append("--resume")
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_schedule_and_config(tmp_path):
    assert [round(warmup_linear(s, 2, 6), 2) for s in range(7)] == [0.5, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    config = load_config(None, ["max_steps=7", "trainer.devices=2", "model=mg3d-tiny"])
    assert config.max_steps == 7 and config.trainer["devices"] == 2 and config.trainer["precision"] is None
    from napari_mg3d.train.run import loader_workers, resolved_trainer

    # on a CPU (or a GPU without bf16) the default precision is float32; what is set is kept
    expected = "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"
    assert resolved_trainer(config.trainer)["precision"] == expected
    assert resolved_trainer({**config.trainer, "precision": "16-mixed"})["precision"] == "16-mixed"
    assert loader_workers(3) == 3 and 0 <= loader_workers(None) <= 4
    from napari_mg3d.io import InputError

    with pytest.raises(InputError, match="unknown training setting 'maxsteps'"):
        load_config(None, ["maxsteps=7"])


def test_pretrain_logs_checkpoints_and_exports(synth, tmp_path):
    out = tmp_path / "run"
    _pretrain(synth, out, "max_steps=4", "checkpoint_every=2", "num_workers=1")  # the report inputs in a worker
    records = _metrics(out)
    steps = [r for r in records if "step" in r and "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert all(k in steps[-1] for k in ("mim", "mlm", "cml", "dcl", "ssm", "lr", "samples_per_s", "eta_s"))
    assert steps[-1]["lr_heads"] == pytest.approx(5 * steps[-1]["lr"])
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    from napari_mg3d.model.checkpoint import read_checkpoint

    state, meta = read_checkpoint(out / "model.safetensors")
    assert meta["model_config"]["name"] == "mg3d-tiny" and meta["profile"]["name"] == "synthetic-tiny"
    assert meta["step"] == 4 and len(meta["prompts"]) == 18
    # what each label was learnt from: the training reports that state it, and the others
    import csv

    from napari_mg3d.knowledge.labels import label_report

    counts = meta["findings_learnt"]
    assert len(counts) == 18 and len({c["positive"] + c["negative"] for c in counts.values()}) == 1
    reports = [(synth.parent / r["report"]).read_text() for r in csv.DictReader(synth.open()) if r["split"] == "train"]
    stated = [label_report(r) for r in reports]
    assert {k: c["positive"] for k, c in counts.items()} == {k: sum(s.get(k, 0) for s in stated) for k in counts}
    assert 0 < max(c["positive"] for c in counts.values()) and counts["Pleural effusion"]["negative"] > 0
    # too few validation cases to fit the findings' temperature: recorded as not fitted
    val = sum(r["split"] == "val" for r in csv.DictReader(synth.open()))
    assert val < 16 and "findings_temperature" in meta and meta["findings_temperature"] is None
    assert (out / "tensorboard").is_dir()
    ran = json.loads((out / "config.json").read_text())  # the config as run, every default resolved
    assert ran["trainer"]["precision"] in ("32-true", "bf16-mixed") and ran["num_workers"] == 1
    assert ran["max_steps"] == 4 and ran["manifest"] == str(synth)


def test_sigkill_then_resume_keeps_step_and_optimizer(synth, tmp_path):
    out = tmp_path / "killed"
    proc = _pretrain(synth, out, "max_steps=200", "checkpoint_every=3", wait=False)
    deadline = time.time() + 600
    try:
        while time.time() < deadline:
            ckpt = out / "last.ckpt"
            if ckpt.is_file() and torch.load(ckpt, weights_only=True)["global_step"] >= 6:
                break
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    saved = torch.load(out / "last.ckpt", weights_only=True)
    step = saved["global_step"]
    assert step >= 6 and step % 3 == 0
    adam = saved["optimizer_states"][0]["state"]
    assert int(next(iter(adam.values()))["step"]) == step
    _pretrain(synth, out, f"max_steps={step + 2}", "checkpoint_every=3", resume=True)
    resumed = torch.load(out / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == step + 2
    # the optimizer went on from its saved state: its step count did not restart at 0
    assert int(next(iter(resumed["optimizer_states"][0]["state"].values()))["step"]) == step + 2
    starts = [r for r in _metrics(out) if r.get("event") == "start"]
    assert [s["step"] for s in starts] == [0, step]


def test_two_process_ddp_on_cpu_trains_on_reports_of_different_lengths(synth, tmp_path):
    """`mg3d pretrain` on two gloo processes, each with its own number of sentences per batch (the
    gather of unequal rows once failed here: 'Received data size doesn't match expected size'), on a
    manifest with finding masks for half its cases (the mixed kind)."""
    import csv

    from napari_mg3d.knowledge import split_sentences

    rows = list(csv.DictReader(synth.open()))
    pool = [s.text for row in rows for s in split_sentences((synth.parent / row["report"]).read_text())]
    for i, row in enumerate(rows):
        report = tmp_path / f"report-{i}.txt"
        report.write_text(" ".join(pool[i * 7:][: 1 + (i * 5) % 11]))  # 1 to 11 sentences
        masks = {k: str(synth.parent / v) for k, v in json.loads(row["regions"]).items()}
        row.update(report=str(report), volume=str(synth.parent / row["volume"]),
                   segmentation=str(synth.parent / row["segmentation"]), organs="", organ_names="",
                   regions=json.dumps(masks) if i % 2 else "")  # finding masks for half the cases
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "ddp"
    _pretrain(manifest, out, "max_steps=3", "checkpoint_every=3", "trainer.devices=2", "trainer.strategy=ddp",
              "trainer.accelerator=cpu")
    steps = [r for r in _metrics(out) if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2, 3] and all(r["global_batch"] == 4 for r in steps)  # 2 x batch 2
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in steps)
    assert (out / "model.safetensors").is_file()


def test_bad_cases_are_skipped_or_refused_and_validation_reports_retrieval(synth, tmp_path):
    import csv

    rows = list(csv.DictReader(synth.open()))
    for row in rows[-3:]:
        row["split"] = "val"
    rows[0]["volume"] = "cases/not-there.nii.gz"
    rows[1]["report"] = ""
    manifest = synth.parent / "with_bad_rows.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    out = tmp_path / "refused"
    cmd = [sys.executable, "-m", "napari_mg3d.cli", "pretrain", "--set", f"manifest={manifest}", f"out={out}",
           "bad_cases=refuse"]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert "2 bad case(s): row 2" in refused.stderr and "row 3" in refused.stderr and "(bad_cases=refuse)" in refused.stderr
    assert not (out / "metrics.jsonl").exists()

    out = tmp_path / "skipped"
    # 7 train rows, 2 of them bad: 5 cases, 2 steps an epoch at batch 2 (drop_last)
    result = _pretrain(manifest, out, "max_steps=4", "checkpoint_every=4")
    assert "skipping 2 bad case(s)" in result.stderr
    bad = json.loads((out / "bad_cases_train.json").read_text())
    assert [b["row"] for b in bad] == [2, 3] and bad[1]["reason"] == "empty report"
    vals = [r for r in _metrics(out) if r.get("event") == "val"]
    assert [v["epoch"] for v in vals] == [0, 1] and [v["step"] for v in vals] == [2, 4]
    assert all(v["cases"] == 3 and 0 <= v["R@1"] <= v["R@5"] <= 1 for v in vals)
    assert vals[-1]["R@5"] == 1.0  # 3 candidates: the true one is always in the top 5


SWIN_B_SMALL = ["model=mg3d-swin-b", "profile=synthetic-tiny", "model_overrides.image_size=[64,64,64]",
                "model_overrides.text.name=minilm-offline", "model_overrides.text.max_tokens=128",
                "model_overrides.vision.embed_dim=12", "model_overrides.hidden=96", "model_overrides.grounding=true",
                *(f"model_overrides.loss_weights.{k}=1" for k in ("findings", "grounding", "regions", "peaks", "organs"))]


@pytest.mark.parametrize("kind,model", [("reports", "mg3d-tiny"), ("organs", "mg3d-tiny"), ("mixed", "mg3d-tiny"),
                                        ("mixed", "mg3d-swin-b")])
def test_pretraining_runs_on_every_kind_of_manifest(tmp_path, kind, model):
    """Reports alone (CT-RATE's kind), organ maps only, or finding masks, organ maps and reports alone
    case by case in one manifest (``mg3d synth --supervision``; the default manifest, finding masks
    and organ maps for every case, runs in the tests above): 3 steps without a crash, with the default
    mg3d-tiny and with mg3d-swin-b's code path at a small input; the organ term asks something
    wherever a case's organs are mapped, nothing where none are. The mixed manifest with mg3d-tiny
    runs with each step's samples moved and rescaled (``augment=true``, ``data.augment``)."""
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.model.checkpoint import read_metadata

    manifest = write_synthetic(tmp_path / "data", 6, seed=5, shape=(32, 64, 64), supervision=kind, split="train")
    out = tmp_path / "run"
    augment = ["augment=true"] if (kind, model) == ("mixed", "mg3d-tiny") else []
    _pretrain(manifest, out, "max_steps=3", *augment, *(SWIN_B_SMALL if model == "mg3d-swin-b" else []))
    steps = [m for m in _metrics(out) if "loss" in m]
    assert steps[-1]["step"] == 3 and all(torch.isfinite(torch.tensor(m["loss"])) for m in steps)
    organ_terms = [m["organs"] for m in steps]
    assert (max(organ_terms) > 0) == (kind != "reports"), organ_terms
    meta = read_metadata(out / "model.safetensors")
    assert meta["organ_cases"] == {"reports": 0, "organs": 6, "mixed": 2}[kind]
    assert meta["region_cases"] == {"reports": 0, "organs": 0, "mixed": 2}[kind]
