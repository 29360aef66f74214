"""What the official MG-3D release computes, written from its formulas
(../shared/reference/mg3d_official_forward.md, settled against the release at commit 10b04f0) with the
official state dict's tensors and plain torch functions: no napari_mg3d module is used here. One
sample at a time and unpadded, as the release runs its fusion layers. The oracle of
test_official_parity.py."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

D_HEADS = 8  # SentenceAttentionPool's default head count


def lin(W, name, x):
    return F.linear(x, W[name + ".weight"], W.get(name + ".bias"))


def local_cross(W, p, A, B):
    """One local cross-attention layer ``p`` on sets A (n, D) and B (m, D) of one sample."""
    d = A.shape[-1]
    qa, ka, va = (lin(W, f"{p}.{n}1", A) for n in ("query", "key", "value"))
    qb, kb, vb = (lin(W, f"{p}.{n}2", B) for n in ("query", "key", "value"))
    out_a = va * torch.sigmoid(qa @ kb.T / math.sqrt(d)).mean(1, keepdim=True)
    out_b = vb * torch.sigmoid(qb @ ka.T / math.sqrt(d)).mean(1, keepdim=True)
    return out_a, out_b


def gated(W, p, S, g):
    """One aggregation layer: each sentence (S, D) its own value, gated by the image vector g (D,)."""
    d = S.shape[-1]
    gate = torch.sigmoid((lin(W, p + ".key1", S) * lin(W, p + ".query2", g)).sum(-1, keepdim=True) / math.sqrt(d))
    return gate * lin(W, p + ".value1", S)


def sentence_pool(W, p, S, heads: int = D_HEADS):
    """SentenceAttentionPool: [mean of rows; rows], multi-head attention, output of the first row."""
    x = torch.cat([S.mean(0, keepdim=True), S])
    n, d = x.shape
    hd = d // heads
    q = lin(W, p + ".q_proj", x[:1]).view(1, heads, hd).transpose(0, 1)
    k = lin(W, p + ".k_proj", x).view(n, heads, hd).transpose(0, 1)
    v = lin(W, p + ".v_proj", x).view(n, heads, hd).transpose(0, 1)
    out = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), -1) @ v  # (heads, 1, hd)
    return lin(W, p + ".c_proj", out.transpose(0, 1).reshape(1, d))[0]


def swin_pool(W, p, tokens):
    """Swin_Pooler: a linear over the token positions, dense, tanh."""
    return torch.tanh(lin(W, p + ".dense", lin(W, p + ".fc", tokens.T)[:, 0]))


def mean_pool(W, p, S):
    return torch.tanh(lin(W, p + ".dense", S.mean(0)))


def standardise_rows(x):
    """BatchNorm1d(affine=False, track_running_stats=False) on a (1, rows, features) tensor: the rows
    are its channels, each normalised over its features."""
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5)


def sentence_pooler(W, S):
    p = "multi_modal_sen_vision_pooler.dense"
    return torch.tanh(lin(W, p + ".3", F.gelu(standardise_rows(lin(W, p + ".0", S)))))


def sal_projection(W, S):
    return lin(W, "mlm_head.fc.3", F.gelu(standardise_rows(lin(W, "mlm_head.fc.0", S))))


def uni_emd_sen(W, S):
    return lin(W, "uni_emd_sen.2", F.relu(lin(W, "uni_emd_sen.0", S)))


def mlm_transform(W, x):
    h = F.gelu(lin(W, "mlm_head.transform.dense", x))
    return F.layer_norm(h, h.shape[-1:], W["mlm_head.transform.LayerNorm.weight"],
                        W["mlm_head.transform.LayerNorm.bias"], eps=1e-12)


def itc_loss(W, p, vision, language, temperature: float = 0.1):
    """ITCHead / ITCHead_Single: LayerNorm and bias-free projection each side, L2-normalised,
    symmetric cross-entropy over the batch."""
    def side(x, s):
        x = F.layer_norm(x, x.shape[-1:], W[f"{p}.{s}_ln.weight"], W[f"{p}.{s}_ln.bias"])
        return F.normalize(F.linear(x, W[f"{p}.{s}_proj.weight"]), dim=-1)
    logits = side(vision, "vision") @ side(language, "language").T / temperature
    labels = torch.arange(len(logits))
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def mim_decode(W, x):
    """MIM_SWINUNETR_Head ('vae'): five [conv 3^3, instance norm, leaky ReLU, trilinear x2], conv 1^3."""
    for k in range(5):
        w, b = W[f"mim_swin_unter_head.conv.{4 * k}.weight"], W[f"mim_swin_unter_head.conv.{4 * k}.bias"]
        x = F.interpolate(F.leaky_relu(F.instance_norm(F.conv3d(x, w, b, padding=1)), 0.01), scale_factor=2,
                          mode="trilinear", align_corners=False)
    return F.conv3d(x, W["mim_swin_unter_head.conv.20.weight"], W["mim_swin_unter_head.conv.20.bias"])


def sentence_spans(tokenizer, sentences: list[str], length: int) -> torch.Tensor:
    """(length,) the sentence (0, 1, ...) of each token of the report, -1 for [CLS], [SEP] and pads:
    the release assigns each sentence as many tokens as it has on its own, in order, after [CLS]."""
    index = torch.full((length,), -1)
    start = 1
    for k, s in enumerate(sentences):
        n = len(tokenizer(s)["input_ids"]) - 2
        index[start:start + n] = k
        start += n
    return index


def sentence_means(x, index, count):
    return torch.stack([x[index == k].mean(0) for k in range(count)])


def ssm_loss(text_vectors, visual, positive=0.9, negative=0.6):
    """Per pair of patients i < j of the batch: L1 over the S_i x S_j cells, then the mean over pairs."""
    losses = []
    for i in range(len(visual)):
        for j in range(i + 1, len(visual)):
            g = F.normalize(text_vectors[i], dim=-1) @ F.normalize(text_vectors[j], dim=-1).T
            p = F.normalize(visual[i], dim=-1) @ F.normalize(visual[j], dim=-1).T
            pos, neg = (g >= positive).float(), (g <= negative).float()
            losses.append(F.l1_loss(p * (pos + neg), g * pos))
    return torch.stack(losses).mean()
