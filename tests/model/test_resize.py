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
