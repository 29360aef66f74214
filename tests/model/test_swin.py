import json

import pytest
import torch

from napari_mg3d.model.swin import SwinEncoder

REFERENCE = "mg3d_official_state_dict_swin_b.json"


def _monai(embed=12, **kw):
    from monai.networks.nets.swin_unetr import SwinTransformer

    return SwinTransformer(in_chans=1, embed_dim=embed, window_size=(7, 7, 7), patch_size=(2, 2, 2),
                           depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24), mlp_ratio=4.0, qkv_bias=True,
                           spatial_dims=3, use_v2=False, **kw)


@pytest.mark.parametrize("size", [(32, 32, 32), (30, 26, 34), (40, 18, 44)])
def test_same_outputs_as_monai_with_the_same_weights(size):
    """Odd sizes exercise padding, clipped windows (no shift along a short axis) and merging pads."""
    torch.manual_seed(0)
    reference = _monai().eval()
    ours = SwinEncoder(embed_dim=12).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 1, *size)
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    assert [e.shape for e in expected] == [g.shape for g in got]
    for e, g in zip(expected, got):
        assert (e - g).abs().max() <= 1e-4


def test_gradients_match_monai():
    """In float64, so that the comparison sees the mathematics, not float32 summation order."""
    torch.manual_seed(1)
    reference = _monai(embed=6).double()
    ours = SwinEncoder(embed_dim=6).double()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(1, 1, 30, 30, 30, dtype=torch.float64)
    reference(x)[-1].square().sum().backward()
    ours(x)[-1].square().sum().backward()
    theirs = dict(reference.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        other = theirs[name].grad
        assert (p.grad - other).norm() <= 1e-9 * other.norm() + 1e-12, name


def test_state_dict_keys_are_the_official_vision_encoder_keys(shared_data):
    ref = json.loads((shared_data.parent / "reference" / REFERENCE).read_text())["keys"]
    official = {k[len("vision_encoder."):]: v for k, v in ref.items() if k.startswith("vision_encoder.")}
    ours = {k: list(v.shape) for k, v in SwinEncoder(embed_dim=48).state_dict().items()}
    assert list(ours) == list(official)
    assert ours == official


def test_activation_checkpointing_gives_the_same_gradients():
    """Recomputed activations (``checkpointing``) change memory and time, not the result: the Swin
    stages and the MIM decoder, forward and backward, with it and without."""
    from napari_mg3d.model.heads import MIMDecoder

    torch.manual_seed(0)
    encoder, decoder = SwinEncoder(embed_dim=12), MIMDecoder(96, 3)
    x = torch.randn(2, 1, 32, 32, 32)
    results = []
    for on in (False, True):
        encoder.checkpointing = decoder.checkpointing = on
        encoder.zero_grad()
        decoder.zero_grad()
        maps = encoder(x)
        out = decoder(maps[-2])
        (out.square().mean() + maps[-1].mean()).backward()
        results.append([out.detach()] + [p.grad.clone() for p in [*encoder.parameters(), *decoder.parameters()]])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*results))



@pytest.mark.parametrize("size", [(44, 30, 36), (30, 26, 34)])
def test_without_gradients_on_a_cpu_the_streamed_blocks_give_the_whole_tensor_result(size, monkeypatch):
    """Inference streams a few windows (then a few thousand tokens) at a time through each block
    (``SwinBlock.streamed``); training runs the block on whole tensors. Same weights, same input:
    the same outputs, with chunks that split window groups and a batch of two (small chunks, so
    that every kind of boundary is crossed at this size)."""
    from napari_mg3d.model.swin import SwinBlock

    monkeypatch.setattr(SwinBlock, "STREAM_WINDOWS", 3)
    monkeypatch.setattr(SwinBlock, "STREAM_TOKENS", 1000)
    torch.manual_seed(0)
    encoder = SwinEncoder(embed_dim=12).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    x = torch.randn(2, 1, *size)
    calls = []
    original = SwinBlock.streamed
    monkeypatch.setattr(SwinBlock, "streamed", lambda self, *a: calls.append(1) or original(self, *a))
    with torch.enable_grad():
        whole = encoder(x)
    assert not calls
    with torch.no_grad():
        streamed = encoder(x)
    assert len(calls) == 8  # every block of the four stages
    for a, b in zip(whole, streamed):
        assert (a - b).abs().max() <= 1e-5


def test_the_streamed_blocks_under_cpu_autocast_match_the_whole_tensor_path():
    """Validation inside a bf16-mixed run on a CPU is a no-gradient pass under autocast: the
    streamed blocks take bf16 intermediates into float32 features, as the whole-tensor path does."""
    from napari_mg3d.model.swin import SwinBlock

    torch.manual_seed(0)
    encoder = SwinEncoder(embed_dim=12).eval()
    x = torch.randn(1, 1, 30, 26, 34)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.no_grad():
            streamed = encoder(x)
        SwinBlock.STREAM = False
        try:
            with torch.no_grad():
                whole = encoder(x)
        finally:
            SwinBlock.STREAM = True
    for a, b in zip(whole, streamed):
        assert a.dtype == b.dtype
        assert (a.float() - b.float()).abs().max() <= 0.05 * a.float().abs().max()
