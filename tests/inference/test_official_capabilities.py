"""A checkpoint with official weights (no trained report-volume space) does what the release trained
it for and says, in one line, why it does not do the rest; `mg3d finetune align` gives it the rest.
The official architectures are too slow for this suite's CPU budget, so mg3d-tiny stands in, its
metadata saying what a converted official checkpoint says (tests/model covers the conversion)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.clirun import mg3d as _mg3d


def _mg3d_process(*args):
    """`mg3d ARGS` as its own process (training: Lightning's global settings stay out of the suite)."""
    return subprocess.run([sys.executable, "-m", "napari_mg3d.cli", *args], capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model

    folder = tmp_path_factory.mktemp("official")
    manifest = write_synthetic(folder / "synth", 6, seed=41, shape=(24, 48, 48))
    checkpoint = folder / "official.safetensors"
    save_checkpoint(create_model("mg3d-tiny", device="cpu"), checkpoint, profile=get_profile("synthetic-tiny").to_dict(),
                    extra={"converted_from": "mg3d.ckpt", "source": "official", "trained": ["vision", "fusion"]})
    volume = sorted((manifest.parent / "cases").glob("synth-*-?????.nii.gz"))[0]
    return folder, manifest, checkpoint, volume


def test_official_weights_map_and_search_by_volume_and_refuse_findings_and_text(official, tmp_path):
    import torch

    from napari_mg3d.inference.encode import load_model, model_input
    from napari_mg3d.inference.library import CaseLibrary
    from napari_mg3d.io.volume import read_volume

    folder, manifest, checkpoint, volume = official
    refused = _mg3d("zeroshot", str(checkpoint), str(volume))
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1
    assert "findings not offered" in lines[0] and "official MG-3D weights" in lines[0] and "finetune align" in lines[0]

    maps = _mg3d("attention", str(checkpoint), str(volume), "--out", str(tmp_path / "maps"), "--json")
    assert maps.returncode == 0, maps.stderr[-2000:]
    said = json.loads(maps.stdout)["checkpoint"]
    assert said["source"] == "official" and said["trained"] == ["vision", "fusion"]
    assert said["findings"].startswith("findings not offered")
    refined = _mg3d("attention", str(checkpoint), str(volume), "--refine", "--out", str(tmp_path / "r"))
    assert refined.returncode == 2 and "refined maps" in refined.stderr

    lib = tmp_path / "lib"
    added = _mg3d("library", "add", str(lib), str(manifest), "--checkpoint", str(checkpoint), "--json")
    assert added.returncode == 0, added.stderr[-2000:]
    assert json.loads(added.stdout)["checkpoint"]["volume_search"] == "unimodal image embedding"
    by_volume = _mg3d("search", str(lib), "--volume", str(volume), "--json")
    assert by_volume.returncode == 0, by_volume.stderr[-2000:]
    result = json.loads(by_volume.stdout)
    assert result["hits"][0]["score"] > 0.999 and result["checkpoint"]["source"] == "official"
    by_text = _mg3d("search", str(lib), "--text", "pleural effusion")
    assert by_text.returncode == 2 and "text search not offered" in by_text.stderr
    # the stored volume vectors are the unimodal image embedding, normalised
    loaded = load_model(checkpoint, "cpu")
    with torch.no_grad():
        x = model_input(read_volume(volume), loaded.profile)
        expected = torch.nn.functional.normalize(loaded.model.image_vector(x), dim=-1)[0].numpy()
    store = CaseLibrary(lib)
    try:
        assert json.loads(store.get_meta("capabilities"))["source"] == "official"
        hit = result["hits"][0]["case_id"]
        assert np.allclose(store.embedding(hit, "image"), expected, atol=1e-5)
    finally:
        store.close()


def test_finetune_align_gives_official_weights_findings_and_text_search(official, tmp_path):
    from napari_mg3d.model.checkpoint import read_checkpoint

    folder, manifest, checkpoint, volume = official
    out = tmp_path / "align"
    result = _mg3d_process("finetune", "align", "--set", f"manifest={manifest}", f"out={out}", f"checkpoint={checkpoint}",
                   "mode=probe", "max_steps=6", "batch_size=3", "log_every=1", "warmup_steps=1", "lr=0.003",
                   f"cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 0, result.stderr[-3000:]
    aligned = out / "model.safetensors"
    state, meta = read_checkpoint(aligned)
    before, _ = read_checkpoint(checkpoint)
    assert meta["source"] == "official" and meta["trained"] == ["vision", "fusion", "alignment", "findings"]
    assert meta["aligned_from"] == str(checkpoint) and len(meta["prompts"]) == 18
    # a probe leaves the image encoder as it was and trains the alignment
    for key in ("vision_encoder.patch_embed.proj.weight", "uni_modal_vision_pooler.dense.weight"):
        assert np.array_equal(state[key].numpy(), before[key].numpy())
    assert not np.array_equal(state["itc_head.vision_proj.weight"].numpy(), before["itc_head.vision_proj.weight"].numpy())
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    trained = [r for r in records if "ga" in r and "findings" in r]
    assert trained and trained[-1]["step"] == 6

    found = _mg3d("zeroshot", str(aligned), str(volume), "--json")
    assert found.returncode == 0, found.stderr[-2000:]
    answer = json.loads(found.stdout)
    assert answer["checkpoint"]["findings"] == "offered"
    # a probability for each label the alignment's training reports told apart, none for the others
    learnt = {k for k, c in meta["findings_learnt"].items() if min(c["positive"], c["negative"]) >= 3}
    assert set(answer["probabilities"]) == learnt and len(learnt) + len(answer["not_learnt"]) == 18
    lib = tmp_path / "lib"
    assert _mg3d("library", "add", str(lib), str(manifest), "--checkpoint", str(aligned)).returncode == 0
    by_text = _mg3d("search", str(lib), "--text", "pleural effusion", "--json")
    assert by_text.returncode == 0 and json.loads(by_text.stdout)["checkpoint"]["volume_search"] == "alignment space"
