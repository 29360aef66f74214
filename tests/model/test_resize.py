import pytest
import torch
import torch.nn.functional as F

from napari_mg3d.model.resize import trilinear


@pytest.mark.parametrize("shape,size", [((2, 3, 4, 4, 4), (16, 16, 16)), ((1, 1, 16, 16, 16), (64, 64, 64)),
                                        ((2, 5, 7, 3, 6), (20, 9, 11)), ((1, 2, 12, 10, 9), (5, 4, 9))])
def test_the_same_numbers_and_gradients_as_torch_trilinear(shape, size):
    """Up, down, odd and unequal factors; in float64 so that the comparison sees the weights."""
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    y = torch.randn(*shape[:2], *size, dtype=torch.float64)
    ours = trilinear(x, size)
    theirs = F.interpolate(x, size=size, mode="trilinear", align_corners=False)
    assert ours.shape == theirs.shape and torch.allclose(ours, theirs, atol=1e-12)
    g_ours, = torch.autograd.grad((ours * y).sum(), x)
    g_theirs, = torch.autograd.grad((theirs * y).sum(), x)
    assert torch.allclose(g_ours, g_theirs, atol=1e-12)


def test_any_leading_axes():
    x = torch.randn(3, 2, 4, 2, 2, 2)
    assert torch.allclose(trilinear(x, (4, 6, 8)).view(-1, 4, 6, 8),
                          F.interpolate(x.view(-1, 1, 2, 2, 2), size=(4, 6, 8), mode="trilinear")[:, 0], atol=1e-6)


def test_a_float32_map_stays_float32_under_autocast():
    x = torch.randn(2, 3, 4, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = trilinear(x, (16, 16, 16))
        theirs = F.interpolate(x, size=(16, 16, 16), mode="trilinear", align_corners=False)
    assert ours.dtype == theirs.dtype == torch.float32 and torch.allclose(ours, theirs, atol=1e-6)


def test_the_matrix_product_layers_give_the_convolutions_numbers_and_dtypes():
    """The patch embedding (while training) and the MIM decoder's last 1x1x1 layer are computed as
    matrix products: the same values as their Conv3d, and the same dtype under autocast."""
    from napari_mg3d.model.heads import pointwise
    from napari_mg3d.model.swin import PatchEmbed

    torch.manual_seed(0)
    embed, conv = PatchEmbed(1, 12, (4, 4, 4)), torch.nn.Conv3d(6, 2, 1)
    x, y = torch.randn(2, 1, 30, 33, 36), torch.randn(2, 6, 8, 9, 10)
    padded = F.pad(x, (0, 0, 0, 3, 0, 2))
    assert torch.allclose(embed.channels_last(x), embed.proj(padded).permute(0, 2, 3, 4, 1), atol=1e-5)
    assert torch.allclose(pointwise(conv, y), conv(y), atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert embed.channels_last(x).dtype == embed.proj(padded).dtype == torch.bfloat16
        assert pointwise(conv, y).dtype == conv(y).dtype == torch.bfloat16
