"""Out of distribution, said at once: a checkpoint that keeps its training data's summary gives one
line for a volume unlike its training cases (another body region, another modality) and none for a
held-out case of the same kind, in every command's --json output."""

import json

import pytest
import torch

from tests.clirun import mg3d


@pytest.fixture(scope="module")
def familiar_checkpoint(tmp_path_factory):
    """mg3d-tiny (random weights, seeded) with the summary of 48 synthetic training cases, and a
    manifest of 12 held-out ones of the same generator (another seed)."""
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.familiarity import training_summary

    folder = tmp_path_factory.mktemp("familiar")
    train = write_synthetic(folder / "train", 48, seed=21, shape=(32, 64, 64), split="train")
    held_out = write_synthetic(folder / "test", 12, seed=22, shape=(32, 64, 64), split="test")
    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    profile = get_profile("synthetic-tiny")
    summary = training_summary(model, CaseDataset(train, profile, cache_dir=folder / "cache"), profile)
    assert summary["cases"] == 48 and summary["region"] == "chest" and summary["modality"] == "CT"
    checkpoint = save_checkpoint(model, folder / "tiny.safetensors", profile=profile.to_dict(),
                                 prompts=[p.__dict__ for p in default_prompts()], extra={"training_data": summary})
    return checkpoint, held_out


def test_held_out_cases_pass_and_a_real_abdomen_ct_and_an_mr_are_named(familiar_checkpoint, totalseg):
    from napari_mg3d.inference.encode import load_model
    from napari_mg3d.inference.familiarity import unfamiliar_line
    from napari_mg3d.io.manifest import read_manifest
    from napari_mg3d.io.volume import read_volume

    checkpoint, held_out = familiar_checkpoint
    loaded = load_model(checkpoint, "cpu")
    lines = [unfamiliar_line(loaded, read_volume(c.volume)) for c in read_manifest(held_out)]
    assert sum(line is not None for line in lines) <= 1, lines  # the 99th percentile: about none of 12
    ct = unfamiliar_line(loaded, read_volume(totalseg / "example_ct_sm.nii.gz"))
    assert ct and "outside this model's training data" in ct and "48" in ct and "chest" in ct
    mr = unfamiliar_line(loaded, read_volume(totalseg / "example_mr_sm.nii.gz"))
    assert mr and "looks like MR" in mr


def test_every_json_output_carries_the_line(familiar_checkpoint, totalseg, tmp_path):
    checkpoint, held_out = familiar_checkpoint
    case = held_out.parent / "cases" / "synth-00022-00000.nii.gz"
    for volume, outside in ((case, False), (totalseg / "example_ct_sm.nii.gz", True)):
        result = mg3d("attention", checkpoint, volume, "--text", "pleural effusion", "--out", tmp_path / "maps",
                      "--json")
        assert result.returncode == 0, result.stderr[-2000:]
        assert bool(json.loads(result.stdout)["unfamiliar"]) == outside
        assert ("warning: outside this model's training data" in result.stderr) == outside
