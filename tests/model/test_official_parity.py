"""Official MG-3D weights compute what the release computes: random official-layout weights, converted
by ``mg3d convert-checkpoint``, then every fusion and aggregation layer and each objective's loss on a
small batch against ``official_reference`` (the release's formulas on the raw tensors; MONAI's
SwinUNETR encoder and transformers' BERT for the two encoders). Max relative difference <= 1e-5
(the largest absolute difference over the largest reference value)."""

from __future__ import annotations

import pytest
import torch

from . import official_reference as ref

TOLERANCE = 1e-5
# three reports of 2, 3 and 4 sentences; one sentence shared, so SSM has positives
REPORTS = [
    ["Right pleural effusion is present.", "Heart size is normal."],
    ["Heart size is normal.", "No nodule is seen.", "Lungs are clear."],
    ["Emphysema in both upper lobes.", "Calcified plaques in the aorta.", "Bones are intact.",
     "Heart size is normal."],
]


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    ours, reference = ours.detach().double(), reference.detach().double()
    assert ours.shape == reference.shape, (ours.shape, reference.shape)
    return ((ours - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item()


def tokenizer_for(folder):
    """A cased WordPiece tokenizer over the test reports' words (RadBERT's own is not on this machine)."""
    from transformers import BertTokenizerFast

    words = sorted({w.strip(".") for r in REPORTS for s in r for w in s.split()} | {"."})
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    return BertTokenizerFast(vocab_file=str(vocab), do_lower_case=False)


def reference_encoders(W):
    """MONAI's SwinUNETR encoder and transformers' BERT with the official tensors."""
    from monai.networks.nets import SwinUNETR
    from transformers import BertConfig, BertModel

    swin = SwinUNETR(in_channels=1, out_channels=1, feature_size=48, use_v2=False).swinViT
    swin.load_state_dict({k[len("vision_encoder."):]: v for k, v in W.items() if k.startswith("vision_encoder.")})
    bert = BertModel(BertConfig(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2),
                     add_pooling_layer=False)
    state = {k[len("language_encoder."):]: v for k, v in W.items()
             if k.startswith("language_encoder.") and ".pooler." not in k and "position_ids" not in k}
    bert.load_state_dict(state, strict=False)
    return swin.eval(), bert.eval()


@pytest.fixture(scope="module")
def parity(official_b, converted_b, tmp_path_factory):
    from napari_mg3d.model import objectives as obj
    from napari_mg3d.model.factory import create_model

    W = official_b
    model = create_model("mg3d-swin-b", checkpoint=converted_b[1], device="cpu").eval()
    model.tokenizer = tok = tokenizer_for(tmp_path_factory.mktemp("vocab"))
    batch = model.tokenize([" ".join(r) for r in REPORTS])
    assert batch.sentences == REPORTS
    torch.manual_seed(0)
    volume = torch.rand(len(REPORTS), 1, 128, 96, 128)
    with torch.no_grad():
        features = model(volume, batch, generator=torch.Generator().manual_seed(0))
        losses = obj.pretraining_losses(features, model.config.loss_weights)
    swin, bert = reference_encoders(W)
    with torch.no_grad():  # the reference image tokens both tests read (MONAI's Swin is slow on CPU)
        img_ref = image_tokens(W, swin, volume)
    return model, tok, batch, volume, features, losses, swin, bert, img_ref


def image_tokens(W, swin, volume):
    """(b, 48, 768) the last stage's tokens, projected, with the image type embedding."""
    last = swin(volume)[-1]  # normalised, (b, 768, 4, 3, 4)
    return ref.lin(W, "multi_modal_vision_proj", last.flatten(2).transpose(1, 2)) + W["modality_type_embeddings.weight"][1]


def text_tokens(W, bert, ids):
    """(n, 768) one unpadded report's tokens through the frozen encoder, projected, text type."""
    hidden = bert(input_ids=ids[None]).last_hidden_state[0]
    return ref.lin(W, "multi_modal_language_proj", hidden) + W["modality_type_embeddings.weight"][0]


def test_fusion_and_aggregation_layers_compute_the_release_formulas(official_b, parity):
    W = official_b
    model, tok, batch, volume, *_ , swin, bert, img_ref = parity
    worst = {}
    with torch.no_grad():
        img = model.image_tokens(volume)
        worst["image tokens"] = relative(img, img_ref)
        txt = model.text_tokens(batch.input_ids, batch.attention_mask)
        sents = model.sentences(txt, batch)
        smask, tmask = batch.sentence_mask, batch.attention_mask.bool()
        a, b = img, sents
        c, e = txt, img
        g_img = model.uni_modal_vision_pooler(img)
        s_agg = sents
        per_layer = []
        for k in range(2):
            a, b = model.local_img_cross_multihead_attention[k](a, b, None, smask)
            c, e = model.local_text_cross_multihead_attention[k](c, e, tmask, None)
            s_agg = model.agg_img_cross_attention[k](s_agg, g_img)
            per_layer.append((a, b, c, e, s_agg))
            g_img = model.multi_modal_agg_vision_pooler(s_agg, smask)
        for i, report in enumerate(REPORTS):
            n = int(batch.attention_mask[i].sum())
            ids = batch.input_ids[i, :n]
            index = ref.sentence_spans(tok, report, n)
            t_ref = text_tokens(W, bert, ids)
            s_ref = ref.sentence_means(t_ref, index, len(report))
            worst[f"text tokens {i}"] = relative(txt[i, :n], t_ref)
            worst[f"sentence vectors {i}"] = relative(sents[i, :len(report)], s_ref)
            A, B, C, E = img_ref[i], s_ref, t_ref, img_ref[i]
            S, g = s_ref, ref.swin_pool(W, "uni_modal_vision_pooler", img_ref[i])
            for k in range(2):
                A, B = ref.local_cross(W, f"local_img_cross_multihead_attention.{k}", A, B)
                C, E = ref.local_cross(W, f"local_text_cross_multihead_attention.{k}", C, E)
                S = ref.gated(W, f"agg_img_cross_attention.{k}", S, g)
                g = ref.mean_pool(W, "multi_modal_agg_vision_pooler", S)
                a, b, c, e, s = per_layer[k]
                worst[f"local_img_cross_multihead_attention.{k} image {i}"] = relative(a[i], A)
                worst[f"local_img_cross_multihead_attention.{k} sentences {i}"] = relative(b[i, :len(report)], B)
                worst[f"local_text_cross_multihead_attention.{k} text {i}"] = relative(c[i, :n], C)
                worst[f"local_text_cross_multihead_attention.{k} image {i}"] = relative(e[i], E)
                worst[f"agg_img_cross_attention.{k} {i}"] = relative(s[i, :len(report)], S)
    print("\n".join(f"{k}: {v:.2e}" for k, v in worst.items()))
    assert max(worst.values()) <= TOLERANCE, {k: v for k, v in worst.items() if v > TOLERANCE}


def test_each_objective_loss_computes_the_release_formulas(official_b, parity):
    W = official_b
    model, tok, batch, volume, features, losses, swin, bert, img = parity
    voxel_mask = features["mim"][2]
    masked_ids, labels = features["mlm_input_ids"], features["mlm_labels"]
    with torch.no_grad():
        img_masked = image_tokens(W, swin, volume * (1 - voxel_mask))
        mlm_logits, mlm_labels, sal = [], [], []
        rep_f, img_f, rep_u, img_u, agg, text_vectors, visual, recon = [], [], [], [], [], [], [], []
        for i, report in enumerate(REPORTS):
            n = int(batch.attention_mask[i].sum())
            index = ref.sentence_spans(tok, report, n)
            S = ref.sentence_means(text_tokens(W, bert, batch.input_ids[i, :n]), index, len(report))
            # MIM: the masked volume's tokens fused with the unmasked report's sentence vectors
            A, B = img_masked[i], S
            for k in range(2):
                A, B = ref.local_cross(W, f"local_img_cross_multihead_attention.{k}", A, B)
            recon.append(ref.mim_decode(W, A.T.reshape(1, 768, 4, 3, 4))[0])
            # MLM and SAL: the masked report's tokens fused with the image tokens
            C, E = text_tokens(W, bert, masked_ids[i, :n]), img[i]
            for k in range(2):
                C, E = ref.local_cross(W, f"local_text_cross_multihead_attention.{k}", C, E)
            h = ref.mlm_transform(W, C)
            mlm_logits.append(h @ W["mlm_head.decoder.weight"].T + W["mlm_head.bias"])
            mlm_labels.append(labels[i, :n])
            embedded = bert.embeddings(input_ids=batch.input_ids[i, :n][None])[0]
            sal.append((1 - torch.cosine_similarity(ref.sal_projection(W, ref.sentence_means(h, index, len(report))),
                                                    ref.uni_emd_sen(W, ref.sentence_means(embedded, index,
                                                                                          len(report))))).sum())
            # the contrastive branch: image tokens fused with the sentence vectors
            A, B = img[i], S
            for k in range(2):
                A, B = ref.local_cross(W, f"local_img_cross_multihead_attention.{k}", A, B)
            rep_f.append(ref.sentence_pool(W, "multi_global_text_attention", B))
            img_f.append(ref.swin_pool(W, "multi_modal_vision_pooler", A))
            rep_u.append(ref.sentence_pool(W, "uni_global_text_attention", S))
            img_u.append(ref.swin_pool(W, "uni_modal_vision_pooler", img[i]))
            x, g = S, img_u[-1]
            for k in range(2):
                x = ref.gated(W, f"agg_img_cross_attention.{k}", x, g)
                g = ref.mean_pool(W, "multi_modal_agg_vision_pooler", x)
            agg.append(g)
            visual.append(ref.sentence_pooler(W, x))
            text_vectors.append(torch.stack([bert.embeddings(input_ids=torch.tensor(tok(s)["input_ids"])[None])[0].mean(0)
                                             for s in report]))
        recon = torch.stack(recon)[..., :128, :96, :128]
        m = voxel_mask.expand_as(recon)
        expected = {
            "mim": ((recon - volume) ** 2 * m).sum() / m.sum(),
            "mlm": torch.nn.functional.cross_entropy(torch.cat(mlm_logits), torch.cat(mlm_labels), ignore_index=-100),
            "align": torch.stack(sal).mean(),
            "cml": ref.itc_loss(W, "itc_cross_head", torch.cat([torch.stack(rep_f), torch.stack(img_f)], -1),
                                torch.cat([torch.stack(rep_u), torch.stack(img_u)], -1)),
            "dcl": ref.itc_loss(W, "itc_agg_head", torch.stack(img_f), torch.stack(agg)),
            "ssm": ref.ssm_loss(text_vectors, visual),
        }
    # the batch exercises each branch: masked words, SSM positives and negatives
    assert (labels != -100).sum() > 0
    worst = {k: relative(losses[k], v) for k, v in expected.items()}
    print("\n".join(f"{k}: ours {losses[k].item():.6f} reference {v.item():.6f} rel {worst[k]:.2e}"
                    for k, v in expected.items()))
    assert max(worst.values()) <= TOLERANCE, worst
    assert expected["ssm"] > 0
