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
    # the release sums 1 - cosine over a report's sentences and averages over the reports
    fused = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    text = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    assert abs(obj.sentence_alignment(fused, text, 2).item() - (0 + 1 + 0) / 2) < 1e-6
    assert obj.sentence_alignment(fused[:0], text[:0], 2).item() == 0.0


def test_ssm_loss_by_hand():
    # patient 0 has two sentences, patient 1 one: one pair of patients, a 2 x 1 grid of cells
    text = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    owner = torch.tensor([0, 0, 1])
    visual = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # cells: (s0, s2) G=1 positive, P=0.6 -> |0.6 - 1|; (s1, s2) G=0 negative, P=0.8 -> |0.8|; the
    # pair's mean over its 2 cells, and the mean over the one pair
    assert abs(obj.ssm_loss(text, visual, owner).item() - (0.4 + 0.8) / 2) < 1e-6
    # a third patient: three pairs, each its own mean over its cells (same-patient cells ask nothing)
    text3 = torch.cat([text, torch.tensor([[0.0, 1.0]])])
    visual3 = torch.cat([visual, torch.tensor([[0.0, 1.0]])])
    owner3 = torch.tensor([0, 0, 1, 2])
    pair01 = (0.4 + 0.8) / 2
    pair02 = (abs(0.0 - 0.0) + abs(1.0 - 1.0)) / 2  # (s0, s3) negative, P=0; (s1, s3) positive, P=1
    pair12 = abs(0.8 - 0.0)  # (s2, s3) negative, P=0.8
    assert abs(obj.ssm_loss(text3, visual3, owner3).item() - (pair01 + pair02 + pair12) / 3) < 1e-6
    band = torch.tensor([[1.0, 0.0], [0.8, 0.6]])  # cosine 0.8: ignored
    assert obj.ssm_loss(band, band, torch.tensor([0, 1])).item() == 0.0
    assert obj.ssm_loss(text, visual, torch.zeros(3, dtype=torch.long)).item() == 0.0  # one patient


def set_linear(lin, weight):
    with torch.no_grad():
        lin.weight.copy_(weight)
        lin.bias.zero_()


def test_local_cross_attention_by_hand():
    # roles told apart: A's query meets B's key (key2), B's query meets A's key (key1)
    layer = LocalCrossAttention(2)
    eye, zero = torch.eye(2), torch.zeros(2, 2)
    for name, w in (("query1", eye), ("key1", zero), ("value1", eye), ("query2", eye), ("key2", eye),
                    ("value2", 2 * eye)):
        set_linear(getattr(layer, name), w)
    a = torch.tensor([[[1.0, 0.0]]])
    b = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    out_a, out_b = layer(a, b)
    sig = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    # out_A = value1(a) * mean_j sigmoid(query1(a) . key2(b_j) / sqrt 2) = a * (sig + 0.5) / 2
    assert torch.allclose(out_a, torch.tensor([[[(sig + 0.5) / 2, 0.0]]]), atol=1e-6)
    # out_B[j] = value2(b_j) * sigmoid(query2(b_j) . key1(a) / sqrt 2) = 2 b_j * sigmoid(0)
    assert torch.allclose(out_b, 2 * b * 0.5, atol=1e-6)
    # a padded B element is left out of A's mean
    padded = torch.cat([b, torch.full((1, 1, 2), 9.0)], 1)
    masked_a, _ = layer(a, padded, None, torch.tensor([[True, True, False]]))
    assert torch.allclose(masked_a, out_a, atol=1e-6)


def test_gated_aggregation_by_hand():
    # each sentence keeps its own value (value1 of the sentence), gated by the image's query
    layer = GatedAggregation(2)
    set_linear(layer.query2, torch.eye(2))
    set_linear(layer.key1, torch.eye(2))
    set_linear(layer.value1, 3 * torch.eye(2))
    sentences = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    image = torch.tensor([[1.0, 1.0]])
    out = layer(sentences, image)  # (1, 2, 2)
    g0 = 1 / (1 + math.exp(-2 / math.sqrt(2)))
    assert torch.allclose(out[0], torch.tensor([[3 * 2 * g0, 0.0], [0.0, 0.0]]), atol=1e-6)


def test_total_weights():
    one = torch.tensor(1.0)
    losses = {"mlm": one, "align": one, "mim": one, "cml": one, "dcl": one, "ssm": one}
    assert abs(obj.total_loss(losses).item() - (1 + 0.1 + 1 + 0.3)) < 1e-6
