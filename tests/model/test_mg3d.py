import json
import subprocess
import sys

import pytest
import torch

from napari_mg3d.data.synthetic import make_case
from napari_mg3d.model import objectives as obj
from napari_mg3d.model.checkpoint import convert_official, read_checkpoint, save_checkpoint
from napari_mg3d.model.config import get_config, list_models
from napari_mg3d.model.factory import create_model
from tests.clirun import mg3d

from .official_weights import official_state


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("mg3d-tiny", device="cpu")


def test_named_configs():
    assert list_models() == ["mg3d-swin-b", "mg3d-swin-l", "mg3d-tiny"]
    assert get_config("mg3d-swin-b").grid == (4, 3, 4) and get_config("mg3d-swin-b").num_image_tokens == 48
    assert get_config("mg3d-swin-l").vision.out_dim == 768
    assert get_config("mg3d-tiny", hidden=64).hidden == 64
    with pytest.raises(ValueError, match="unknown model"):
        get_config("mg3d-huge")


def test_tiny_runs_all_five_objectives_forward_and_backward(tiny):
    reports = [make_case(i, shape=(8, 8, 8)).report for i in range(3)]
    batch = tiny.tokenize(reports)
    assert (batch.sentence_index.max(1).values >= 5).all()  # sentences found in every report
    volume = torch.randn(3, 1, 64, 64, 64)
    tiny.train()
    tiny.zero_grad()
    features = tiny(volume, batch, generator=torch.Generator().manual_seed(0))
    losses = obj.pretraining_losses(features, tiny.config.loss_weights)
    assert set(losses) == {"mim", "mlm", "align", "ga", "cml", "dcl", "ssm", "loss"}
    # the vocabulary's logits only for the tokens MLM asks about (the parity test checks their values)
    logits, labels = features["mlm"]
    asked = features["mlm_labels"] != -100
    assert 0 < len(labels) == int(asked.sum()) < asked.numel() and logits.shape == (len(labels), 30522)
    assert torch.equal(labels, features["mlm_labels"][asked])
    assert all(torch.isfinite(v) for v in losses.values())
    losses["loss"].backward()
    no_grad = [n for n, p in tiny.named_parameters() if p.requires_grad and p.grad is None]
    # all but the grounding head, which only its own term trains (not asked for here; test_grounding)
    assert no_grad and all(n.startswith("grounding_head.") for n in no_grad)
    # as in the release, the last text-image layer's image side feeds no loss: frozen (DDP needs
    # every trainable parameter to get a gradient)
    frozen = {n for n, p in tiny.named_parameters() if not p.requires_grad and not n.startswith("language_encoder.")}
    assert frozen == {f"local_text_cross_multihead_attention.1.{n}.{t}" for n in ("query2", "key1", "value2")
                      for t in ("weight", "bias")}
    assert all(not p.requires_grad and p.grad is None for p in tiny.language_encoder.parameters())
    assert not tiny.language_encoder.training  # frozen: no dropout even in train mode


def test_safetensors_checkpoint_round_trip(tiny, tmp_path):
    path = save_checkpoint(tiny, tmp_path / "tiny.safetensors", profile={"name": "synthetic-tiny"})
    state, meta = read_checkpoint(path)
    assert meta["model_config"]["name"] == "mg3d-tiny" and meta["profile"]["name"] == "synthetic-tiny"
    again = create_model("mg3d-tiny", checkpoint=path, device="cpu")
    assert again.load_report.missing == [] and again.load_report.unexpected == []
    for k, v in tiny.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k


@pytest.mark.parametrize("variant, keys, loaded", [("b", 653, 462), ("l", 659, 468)])
def test_official_layout_converts_without_missing_or_unexpected(shared_data, variant, keys, loaded):
    from napari_mg3d.model.mg3d import MG3D

    state = official_state(shared_data, variant)
    model = MG3D(get_config(f"mg3d-swin-{variant}"), pretrained_text=False)
    converted, report = convert_official(state, model.state_dict())
    assert report.missing == [] and report.unexpected == []
    assert (report.loaded, len(state)) == (loaded, keys)
    assert sum(report.left_out.values()) == 191 and report.left_out["multi_modal_vision_layers."] == 52
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.state_dict()["itc_cross_head.vision_proj.weight"], state["itc_cross_head.vision_proj.weight"])


def test_convert_checkpoint_command(official_b, converted_b):
    _, out, counts = converted_b
    assert counts["model"] == "mg3d-swin-b" and counts["missing"] == 0 and counts["unexpected"] == 0
    assert counts["loaded"] == 462
    state, meta = read_checkpoint(out)
    assert meta["converted_from"] == "mg3d.ckpt" and torch.equal(
        state["vision_encoder.patch_embed.proj.weight"], official_b["vision_encoder.patch_embed.proj.weight"])
    # the metadata says where the weights came from and what the release trained
    assert meta["source"] == "official" and meta["trained"] == ["vision", "fusion"] and meta["missing_keys"] == []


def test_convert_checkpoint_refuses_missing_keys_and_unknown_widths(tmp_path):
    def convert(state, *flags):
        src = tmp_path / "part.pt"
        torch.save(state, src)
        out = tmp_path / "out.safetensors"
        return mg3d("convert-checkpoint", src, out, *flags), out

    marker = {"uni_emd_img.0.weight": torch.zeros(384, 768)}  # a key only the release has
    # a Swin-B patch embedding and nothing else the forward pass uses: refused, nothing written
    partial = {**marker, "vision_encoder.patch_embed.proj.weight": torch.zeros(48, 1, 2, 2, 2)}
    result, out = convert(partial)
    assert result.returncode == 2 and "keys the mg3d-swin-b forward pass uses" in result.stderr
    assert "--allow-missing" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    result, out = convert(partial, "--allow-missing", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["missing"] > 400 and out.exists()
    assert len(read_checkpoint(out)[1]["missing_keys"]) == json.loads(result.stdout)["missing"]
    # a width that is neither Swin-B (48) nor Swin-L (96): refused, not guessed
    result, _ = convert({**marker, "vision_encoder.patch_embed.proj.weight": torch.zeros(64, 1, 2, 2, 2)})
    assert result.returncode == 2 and "neither Swin-B (48) nor Swin-L (96)" in result.stderr


class Evil(dict):
    """A pickled class: loading it would run code from this module."""


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save(Evil(a=torch.zeros(1)), path)
    result = subprocess.run([sys.executable, "-m", "napari_mg3d.cli", "convert-checkpoint", str(path),
                             str(tmp_path / "x.safetensors")], capture_output=True, text=True)
    assert result.returncode == 2 and "needs code execution to load" in result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_text_encoder_can_be_trained():
    model = create_model(get_config("mg3d-tiny", **{"text.frozen": False}), device="cpu")
    batch = model.tokenize(["No pleural effusion. A nodule in the right upper lobe.", "Cardiomegaly."])
    model.train()
    model.report_embedding(batch).sum().backward()
    assert model.language_encoder.training
    assert all(p.requires_grad for p in model.language_encoder.parameters())
    assert model.language_encoder.embeddings.word_embeddings.weight.grad is not None


def test_tiny_grid_and_centred_alignment_head():
    from napari_mg3d.model.heads import ContrastiveHead

    config = get_config("mg3d-tiny")
    assert config.grid == (4, 4, 4) and config.upsamplings == 4 and config.align_center
    assert get_config("mg3d-swin-b").upsamplings == 5 and not get_config("mg3d-swin-b").align_center
    torch.manual_seed(0)
    head = ContrastiveHead(16, 16, center=True)
    # nearly parallel inputs (a shared component 100x their differences) ...
    x = torch.randn(1, 16) * 10 + torch.randn(64, 16) * 0.1
    plain = ContrastiveHead(16, 16)
    plain.load_state_dict({k: v for k, v in head.state_dict().items() if "center" not in k})
    cos_plain = plain.vision(x) @ plain.vision(x).t()
    head.train()
    cos_centred = head.vision(x) @ head.vision(x).t()
    # ... stay parallel without centring, and spread out with it
    assert cos_plain[~torch.eye(64, dtype=bool)].min() > 0.99
    assert cos_centred[~torch.eye(64, dtype=bool)].mean().abs() < 0.2
    # at inference one row is embedded with the running statistics, independently of its batch
    head.eval()
    assert torch.allclose(head.vision(x[:1]), head.vision(x)[:1], atol=1e-6)


def test_segmenter_shapes_and_encoder_weights_from_an_mg3d_state(tiny):
    from napari_mg3d.io import InputError
    from napari_mg3d.model.segmenter import SwinSegmenter

    net = SwinSegmenter(tiny.config, 4)
    assert net.load_encoder(tiny.state_dict()) == len(net.encoder.state_dict())
    for k, v in net.encoder.state_dict().items():
        assert torch.equal(v, tiny.state_dict()["vision_encoder." + k])
    assert net(torch.rand(1, 1, 64, 64, 64)).shape == (1, 4, 64, 64, 64)
    swin_b = SwinSegmenter(get_config("mg3d-swin-b"), 3)
    with pytest.raises(InputError, match="does not fit"):
        swin_b.load_encoder(tiny.state_dict())
