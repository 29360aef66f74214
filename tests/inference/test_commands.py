import json

import numpy as np
import pytest

from tests.clirun import mg3d


@pytest.fixture(scope="module")
def case_and_checkpoint(tmp_path_factory):
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model

    folder = tmp_path_factory.mktemp("inference")
    manifest = write_synthetic(folder / "synth", 1, seed=11, shape=(32, 64, 64), split="test")
    checkpoint = folder / "tiny.safetensors"
    save_checkpoint(create_model("mg3d-tiny", device="cpu"), checkpoint,
                    profile=get_profile("synthetic-tiny").to_dict(), prompts=[p.__dict__ for p in default_prompts()])
    return manifest.parent / "cases" / "synth-00011-00000.nii.gz", checkpoint


def _mg3d(*args):
    return mg3d(*args)


def test_attention_maps_one_heatmap_per_sentence_on_the_volume_grid(case_and_checkpoint, tmp_path):
    from napari_mg3d.io.report import read_report
    from napari_mg3d.io.volume import read_volume

    volume, checkpoint = case_and_checkpoint
    report = read_report(volume.with_name("synth-00011-00000.txt"))
    result = _mg3d("attention", str(checkpoint), str(volume), "--text", "pleural effusion", "--out",
                   str(tmp_path / "maps"), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    maps = json.loads(result.stdout)["maps"]
    sentences = [m for m in maps if m["source"] == "report"]
    assert len(sentences) >= 8 and [m for m in maps if m["source"] == "typed"][0]["text"] == "pleural effusion"
    assert all(report[m["start"]:m["end"]] == m["text"] for m in sentences)
    source = read_volume(volume)
    for m in maps:
        heat = read_volume(tmp_path / "maps" / m["file"])
        assert heat.array.shape == source.array.shape and heat.geometry == source.geometry
        assert 0 < heat.array.min() <= heat.array.max() < 1  # sigmoid affinities
        assert np.unravel_index(int(np.argmax(heat.array)), heat.array.shape) == tuple(m["peak_index_zyx"])
    index = json.loads((tmp_path / "maps" / "attention.json").read_text())
    assert [m["file"] for m in index] == [m["file"] for m in maps]


def test_attention_masks_outline_each_sentence_with_the_volume_geometry_and_ml(case_and_checkpoint, tmp_path):
    from napari_mg3d.inference.outline import body_mask
    from napari_mg3d.io.volume import read_volume

    volume, checkpoint = case_and_checkpoint
    result = _mg3d("attention", str(checkpoint), str(volume), "--text", "right pleural effusion", "--masks",
                   "--out", str(tmp_path / "maps"), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    maps = json.loads(result.stdout)["maps"]
    source = read_volume(volume)
    body = body_mask(source)
    voxel_ml = float(np.prod(source.geometry.spacing)) / 1000
    for m in maps:
        shape = m["outline"]
        mask = read_volume(tmp_path / "maps" / shape["file"])
        assert shape["file"] == m["file"].replace(".nii.gz", "_mask.nii.gz")
        assert mask.geometry == source.geometry and mask.array.shape == source.array.shape
        assert set(np.unique(mask.array)) <= {0, 1} and mask.array.sum() == shape["voxels"] > 0
        assert not (mask.array.astype(bool) & ~body).any()  # inside the body only
        # the peak of the map is outlined (a voxel of the body at the map's maximum there)
        heat = read_volume(tmp_path / "maps" / m["file"]).array
        assert mask.array[np.unravel_index(int(np.argmax(np.where(body, heat, -1))), heat.shape)] == 1
        assert shape["ml"] == pytest.approx(shape["voxels"] * voxel_ml, abs=0.01)
        assert shape["side"] in ("right", "left", "both") and shape["place"]
    typed = next(m for m in maps if m["source"] == "typed")["outline"]
    assert (typed["side"], typed["side_from"]) == ("right", "words")
    index = json.loads((tmp_path / "maps" / "attention.json").read_text())
    assert [m["outline"] for m in index] == [m["outline"] for m in maps]
    text = _mg3d("attention", str(checkpoint), str(volume), "--masks", "--out", str(tmp_path / "again")).stdout
    # the ml is kept in the JSON, said in words only where earned: this test model was never measured
    assert all(m["outline"]["ml_earned"] is False and "no volume" in m["outline"]["ml_note"] for m in maps)
    reported = len([m for m in maps if m["source"] == "report"])  # this second run types no phrase
    assert text.count("  outline ") == reported and " ml, " not in text and text.count("no volume") == reported


def test_attention_masks_follow_the_outline_rule_the_checkpoint_records(case_and_checkpoint, tmp_path):
    """A checkpoint whose levels were chosen for the outline taken on to the image (``outline_rule``
    "map+image", and "map+image/mean" with levels in multiples of the map's mean, as ``mg3d
    pretrain`` now writes) has its masks outlined so; one that records no rule (written before)
    keeps the map's outline alone, which is what its outlines were measured by."""
    from napari_mg3d.inference.outline import (FRACTION, IMAGE_MEAN_RULE, IMAGE_RULE, body_mask, level_for,
                                               outline, outline_mask)
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.model.checkpoint import slim_copy

    volume, checkpoint = case_and_checkpoint
    source = read_volume(volume)
    body = body_mask(source)
    written = {}
    for rule in ("map", IMAGE_RULE, IMAGE_MEAN_RULE):
        path = checkpoint if rule == "map" else slim_copy(
            checkpoint, tmp_path / f"tagged{len(written)}.safetensors", {"outline_rule": rule})
        out = tmp_path / rule.replace("+", "-").replace("/", "-")
        result = _mg3d("attention", str(path), str(volume), "--masks", "--out", str(out), "--json")
        assert result.returncode == 0, result.stderr[-3000:]
        for m in json.loads(result.stdout)["maps"][:4]:
            heat = read_volume(out / m["file"]).array
            mask = read_volume(out / m["outline"]["file"]).array.astype(bool)
            level = level_for(None, m["text"], rule)  # the checkpoint chose no levels: the rule's default
            assert np.array_equal(mask, outline(heat, source, m["text"], body, level, rule=rule).mask)
            if rule == "map":
                assert level == FRACTION and np.array_equal(mask, outline_mask(heat, body, FRACTION))
            written.setdefault(rule, []).append(mask)
    for rule in (IMAGE_RULE, IMAGE_MEAN_RULE):  # the rules differ here
        assert any(not np.array_equal(a, b) for a, b in zip(written["map"], written[rule]))
    assert any(not np.array_equal(a, b) for a, b in zip(written[IMAGE_RULE], written[IMAGE_MEAN_RULE]))


def test_attention_with_nothing_to_map_is_a_clear_error(case_and_checkpoint, tmp_path):
    volume, checkpoint = case_and_checkpoint
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    result = _mg3d("attention", str(checkpoint), str(volume), "--report", str(empty), "--out", str(tmp_path / "m"))
    assert result.returncode == 2 and "report is empty" in result.stderr
    assert not (tmp_path / "m").exists()


def test_bad_input_is_taken_with_one_line(case_and_checkpoint, tmp_path):
    """An 11 MB report is refused before it is read (it once grew `mg3d attention` until the kernel
    killed it); a report of 150 sentences gets maps for the first 100, said so; NaN or infinite
    voxels are refused (an all-NaN volume once gave maps, and a warning that it looked like MR)."""
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.io.writer import write_volume

    volume, checkpoint = case_and_checkpoint
    huge = tmp_path / "huge.txt"
    huge.write_text("No pleural effusion is seen. " * 400_000)  # 11.6 MB, 400,000 sentences
    result = _mg3d("attention", str(checkpoint), str(volume), "--report", str(huge), "--out", str(tmp_path / "h"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "huge.txt is 11.1 MB; reports over 1024 KB are refused" in result.stderr and not (tmp_path / "h").exists()

    long = tmp_path / "long.txt"
    long.write_text(" ".join(f"Finding number {i} is stable." for i in range(150)))
    result = _mg3d("attention", str(checkpoint), str(volume), "--report", str(long), "--out", str(tmp_path / "l"),
                   "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "the report has 150 sentences: maps for the first 100 only" in result.stderr
    assert len(json.loads(result.stdout)["maps"]) == 100

    source = read_volume(volume)
    for name, values in (("nan", np.full_like(source.array, np.nan, dtype=np.float32)),
                         ("inf", np.where(np.arange(source.array.size).reshape(source.array.shape) % 97 == 0,
                                          np.inf, source.array).astype(np.float32))):
        bad = write_volume(tmp_path / f"{name}.nii.gz", values, source.geometry)
        for command in (["attention", str(checkpoint), str(bad), "--report", str(long), "--out", str(tmp_path / name)],
                        ["zeroshot", str(checkpoint), str(bad)]):
            result = _mg3d(*command)
            lines = result.stderr.strip().splitlines()
            assert result.returncode == 2 and len(lines) == 1, result.stderr
            assert "NaN or infinite voxels" in lines[0] and "MR" not in lines[0]
        assert not (tmp_path / name).exists()


def test_zeroshot_default_and_custom_labels_and_modality_warning(case_and_checkpoint, tmp_path):
    from napari_mg3d.io.geometry import Geometry
    from napari_mg3d.io.writer import write_volume

    volume, checkpoint = case_and_checkpoint
    result = _mg3d("zeroshot", str(checkpoint), str(volume), "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    probs = json.loads(result.stdout)["probabilities"]
    assert len(probs) == 18 and all(0 < p < 1 for p in probs.values())
    labels = tmp_path / "labels.txt"
    labels.write_text("Pleural effusion\nPneumothorax\n")
    result = _mg3d("zeroshot", str(checkpoint), str(volume), "--labels", str(labels), "--json")
    assert result.returncode == 0 and list(json.loads(result.stdout)["probabilities"]) == ["Pleural effusion",
                                                                                           "Pneumothorax"]
    mr = tmp_path / "mr.nii.gz"
    write_volume(mr, np.random.default_rng(0).integers(0, 800, (24, 32, 32)).astype(np.int16), Geometry.identity())
    result = _mg3d("zeroshot", str(checkpoint), str(mr))
    assert result.returncode == 0 and "looks like MR" in result.stderr and "expects CT" in result.stderr


def test_zeroshot_gives_no_probability_for_a_label_the_model_did_not_learn(case_and_checkpoint, tmp_path):
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.checkpoint import read_checkpoint, save_checkpoint
    from napari_mg3d.model.factory import create_model

    volume, checkpoint = case_and_checkpoint
    labels = [p.label for p in default_prompts()]
    counts = {label: {"positive": 12 if label in ("Pleural effusion", "Emphysema") else 0, "negative": 30}
              for label in labels}
    counts["Cardiomegaly"] = {"positive": 2, "negative": 40}  # seen twice: not enough to count as learnt
    _, meta = read_checkpoint(checkpoint)
    learnt = save_checkpoint(create_model("mg3d-tiny", checkpoint=checkpoint, device="cpu"), tmp_path / "l.safetensors",
                             profile=meta["profile"], prompts=meta["prompts"], extra={
                                 "findings_learnt": counts, "findings_temperature": {"cases": 30, "temperature": 1.25},
                                 "findings_calibration": {"Pleural effusion": [1.0, 0.0, 0.0, 0.0]}})
    result = _mg3d("zeroshot", learnt, volume, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout)
    assert set(answer["probabilities"]) == {"Pleural effusion", "Emphysema"}
    assert answer["not_learnt"] == [label for label in labels if label not in answer["probabilities"]]
    assert answer["learnt_from"]["Emphysema"] == {"positive": 12, "negative": 30}
    assert answer["findings_temperature"] == {"cases": 30, "temperature": 1.25}
    assert "softened by temperature 1.25 fitted on 30 validation cases" in answer["calibration"]
    text = _mg3d("zeroshot", learnt, volume).stdout.splitlines()
    assert len(text) == 4 and text[-2].startswith("not learnt by this model (no probability): ")
    assert "Cardiomegaly" in text[-2] and "Emphysema" not in text[-2] and text[-1] == answer["calibration"]


def test_maps_of_the_grounding_head_the_fusion_attention_and_gradients():
    import torch

    from napari_mg3d.inference.attention import sentence_maps
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    x = torch.rand(1, 1, 64, 64, 64)
    report = "There is a right pleural effusion. No nodule is seen."
    plain = sentence_maps(model, x, report, ["cardiomegaly"])
    refined = sentence_maps(model, x, report, ["cardiomegaly"], refine=True)
    assert [m.text for m in plain] == [m.text for m in refined] == [
        "There is a right pleural effusion.", "No nodule is seen.", "cardiomegaly"]
    # the grounding head's maps on the input grid (its voxel path), or the patch grid without that
    # path; without the head (the official models), the fusion attention's on the last stage;
    # Grad-CAM on the next-to-last
    assert all(m.grid.shape == (64, 64, 64) and m.grid.sum() == pytest.approx(1.0, abs=1e-4) for m in plain)
    patches = sentence_maps(create_model("mg3d-tiny", device="cpu", grounding_voxels=0).eval(), x, report)
    assert len(patches) == 2 and all(m.grid.shape == (16, 16, 16) for m in patches)
    fused = sentence_maps(create_model("mg3d-tiny", device="cpu", grounding=False).eval(), x, report)
    assert len(fused) == 2 and all(m.grid.shape == (4, 4, 4) for m in fused)
    assert all(m.grid.shape == (8, 8, 8) for m in refined)
    # each map scaled to a maximum of 1, or all zero where no place raises the score (ReLU of Grad-CAM)
    assert all(m.grid.min() >= 0 and m.grid.max() in (pytest.approx(1.0), 0.0) for m in refined)
    assert not np.allclose(plain[0].grid, plain[2].grid)  # each text its own map
    assert all(p.requires_grad for p in model.vision_encoder.parameters()) and model.vision_encoder.patch_embed.proj.weight.grad is None


def test_a_checkpoint_too_large_for_the_device_is_a_clear_error(case_and_checkpoint, monkeypatch):
    from napari_mg3d.io import InputError
    from napari_mg3d.model import memory
    from napari_mg3d.model.factory import create_model

    _, checkpoint = case_and_checkpoint
    monkeypatch.setattr(memory, "available_bytes", lambda device: 1 << 20)
    with pytest.raises(InputError, match=r"needs about .* GiB on CPU, but only 0.0 GiB is available"):
        create_model("mg3d-tiny", checkpoint=checkpoint, device="cpu")
