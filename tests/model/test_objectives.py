import math

import torch

from napari_mg3d.model import objectives as obj
from napari_mg3d.model.fusion import GatedAggregation, LocalCrossAttention


def test_info_nce_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # logits = a b^T / 0.1 = [[10, 0], [0, 10]]: loss = -log(e^10 / (e^10 + 1)) for each row, both ways
    expected = -math.log(math.exp(10) / (math.exp(10) + 1))
    assert abs(obj.info_nce(a, b, 0.1).item() - expected) < 1e-6
    swapped = obj.info_nce(a, b.flip(0), 0.1).item()
    assert abs(swapped - (-math.log(1 / (math.exp(10) + 1)))) < 1e-4


def test_mim_loss_counts_only_masked_voxels():
    target = torch.zeros(1, 1, 2, 2, 2)
    recon = torch.ones(1, 1, 2, 2, 2)
    recon[0, 0, 0, 0, 0] = 3.0
    mask = torch.zeros(1, 1, 2, 2, 2)
    mask[0, 0, 0, 0, 0] = 1
    mask[0, 0, 1, 1, 1] = 1
    assert obj.mim_loss(recon, target, mask).item() == (9 + 1) / 2


def test_mlm_loss_ignores_unmasked():
    logits = torch.zeros(1, 3, 4)
    logits[0, 1, 2] = 10.0
    labels = torch.tensor([[-100, 2, -100]])
    expected = -math.log(math.exp(10) / (math.exp(10) + 3))
    assert abs(obj.mlm_loss(logits, labels).item() - expected) < 1e-6
    assert obj.mlm_loss(logits, torch.full((1, 3), -100)).item() == 0.0


def test_sentence_alignment_by_hand():
    fused = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    mask = torch.tensor([1, 1, 0])
    assert abs(obj.sentence_alignment(fused, text, mask).item() - (0 + 1) / 2) < 1e-6


def test_ssm_loss_by_hand():
    # two patients, two sentences each; text cosines: s0~s2 identical (positive), s1 vs s3 orthogonal (negative)
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    owner = torch.tensor([0, 0, 1, 1])
    visual = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [1.0, 0.0]])
    # cross-patient pairs (both orders): (0,2) G=1 pos, P=0.6; (0,3) G=1 pos, P=1; (1,2) G=0 neg, P=0.8;
    # (1,3) G=0 neg, P=0 -> |0.6-1| + |1-1| + |0.8| + |0| = 1.2 per order, over 4 counted pairs
    expected = 2 * 1.2 / 8
    assert abs(obj.ssm_loss(text, visual, owner).item() - expected) < 1e-6
    band = torch.tensor([[1.0, 0.0], [0.8, 0.6]])  # cosine 0.8: ignored
    assert obj.ssm_loss(band, band, torch.tensor([0, 1])).item() == 0.0


def test_local_cross_attention_by_hand():
    layer = LocalCrossAttention(2)
    for name in ("query1", "key1", "value1", "query2", "key2", "value2"):
        lin = getattr(layer, name)
        torch.nn.init.eye_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    x = torch.tensor([[[1.0, 0.0]]])
    y = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    out_x, out_y = layer(x, y)
    gate = (1 / (1 + math.exp(-1 / math.sqrt(2))) + 0.5) / 2  # mean over y of sigmoid(q.k / sqrt(2))
    assert torch.allclose(out_x, torch.tensor([[[gate, 0.0]]]), atol=1e-6)
    assert torch.allclose(out_y[0, 1], torch.zeros(2))  # a zero value stays zero whatever its gate


def test_gated_aggregation_by_hand():
    layer = GatedAggregation(2)
    for lin in (layer.query2, layer.key1, layer.value1):
        torch.nn.init.eye_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    x = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    y = torch.tensor([[[1.0, 1.0]]])
    out = layer(x, y)  # (1, 2, 1, 2)
    g0 = 1 / (1 + math.exp(-2 / math.sqrt(2)))
    assert torch.allclose(out[0, :, 0], torch.tensor([[g0, g0], [0.5, 0.5]]), atol=1e-6)


def test_total_weights():
    one = torch.tensor(1.0)
    losses = {"mlm": one, "align": one, "mim": one, "cml": one, "dcl": one, "ssm": one}
    assert abs(obj.total_loss(losses).item() - (1 + 0.1 + 1 + 0.3)) < 1e-6
