"""The MG-3D model: Swin vision encoder, BERT-family text encoder, local cross-attention fusion,
gated aggregation, poolers and the heads of the five objectives. Module names follow the official
release so its checkpoints load (see checkpoint.py and docs/method.md)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import objectives as obj
from .config import ModelConfig
from .findings import finding_logits, prompt_pairs
from .fusion import AttentionPool, GatedAggregation, LocalCrossAttention, masked_mean
from .heads import (ContrastiveHead, GroundingHead, ImagePooler, MeanPooler, MIMDecoder, MLMHead, RowNorm,
                    SentenceVisionPooler)
from .swin import SwinEncoder
from .text import ReportBatch, build_text_encoder, sentence_means, tokenize_reports


# what the forward pass computes; bumped when it changes, so that cached models trained on another
# one are made again (2: the release's formulas, tests/model/test_official_parity.py)
FORWARD_REVISION = 2


class ProjectionHead(nn.Module):
    """Swin-L's projection of its 1536 last-stage channels to 768 (keys layer1.0 .. layer3.0)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Linear(dim_in, dim_out), RowNorm(), nn.ReLU())
        self.layer2 = nn.Sequential(nn.Linear(dim_out, dim_out), RowNorm(), nn.ReLU())
        self.layer3 = nn.Sequential(nn.Linear(dim_out, dim_out), RowNorm())

    def forward(self, x):  # (b, n, c)
        b, n, c = x.shape
        return self.layer3(self.layer2(self.layer1(x.reshape(b * n, c)))).view(b, n, -1)


class MG3D(nn.Module):
    def __init__(self, config: ModelConfig, pretrained_text: bool = True):
        super().__init__()
        self.config = c = config
        v = c.vision
        self.vision_encoder = SwinEncoder(1, v.embed_dim, v.window_size, v.patch_size, v.depths, v.num_heads)
        if v.proj_dim:
            self.vision_encoder.proj_head = ProjectionHead(v.embed_dim * 2 ** len(v.depths), v.proj_dim)
        self.language_encoder, self.tokenizer = build_text_encoder(c.text.name, pretrained_text)
        text_dim = self.language_encoder.config.hidden_size
        vocab = self.language_encoder.config.vocab_size
        if c.text.frozen:
            self.language_encoder.requires_grad_(False)
        d, n = c.hidden, c.num_image_tokens
        self.multi_modal_language_proj = nn.Linear(text_dim, d)
        self.multi_modal_vision_proj = nn.Linear(v.out_dim, d)
        self.modality_type_embeddings = nn.Embedding(2, d)
        self.uni_global_text_attention = AttentionPool(d, c.pool_heads)
        self.multi_global_text_attention = AttentionPool(d, c.pool_heads)
        self.uni_emd_sen = nn.Sequential(nn.Linear(text_dim, d // 2), nn.ReLU(), nn.Linear(d // 2, c.align_dim))
        self.local_img_cross_multihead_attention = nn.ModuleList(LocalCrossAttention(d) for _ in range(c.fusion_layers))
        self.local_text_cross_multihead_attention = nn.ModuleList(LocalCrossAttention(d) for _ in range(c.fusion_layers))
        self.agg_img_cross_attention = nn.ModuleList(GatedAggregation(d) for _ in range(c.fusion_layers))
        # the last text-image layer's image side (its query2, key1, value2) feeds no loss, in the release
        # as here: frozen, so that no optimiser or DDP waits for a gradient that never comes
        last = self.local_text_cross_multihead_attention[-1]
        for unused in (last.query2, last.key1, last.value2):
            unused.requires_grad_(False)
        self.uni_modal_vision_pooler = ImagePooler(d, n)
        self.multi_modal_vision_pooler = ImagePooler(d, n)
        self.multi_modal_agg_vision_pooler = MeanPooler(d)
        self.multi_modal_sen_vision_pooler = SentenceVisionPooler(d, c.sentence_dim)
        self.mlm_head = MLMHead(d, vocab, c.align_dim)
        self.mim_swin_unter_head = MIMDecoder(d, c.upsamplings)
        self.itc_head = ContrastiveHead(d, d, center=c.align_center)  # unimodal image <-> report: the global alignment space
        self.itc_cross_head = ContrastiveHead(2 * d, d)
        self.itc_agg_head = ContrastiveHead(d, d)
        if c.grounding:  # ours: sentence-to-patch maps (see GroundingHead); not in official checkpoints
            stages = tuple(v.embed_dim * 2**i for i in range(len(v.depths) + 1))
            self.grounding_head = GroundingHead(stages, d, d, c.grounding_voxels, c.grounding_windows,
                                              c.grounding_outline)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.text.frozen:
            self.language_encoder.eval()  # a frozen encoder never runs dropout
        return self

    # -- unimodal encoders ----------------------------------------------------------------------
    def image_tokens(self, volume: torch.Tensor) -> torch.Tensor:
        """(b, n, hidden) tokens of the last vision stage, projected and typed."""
        return self.tokens_of(self.vision_encoder(volume)[-1])

    def tokens_of(self, feats: torch.Tensor) -> torch.Tensor:
        """Image tokens from the last vision stage's (b, c, d, h, w) map."""
        tokens = feats.flatten(2).transpose(1, 2)
        if hasattr(self.vision_encoder, "proj_head"):
            tokens = self.vision_encoder.proj_head(tokens)
        return self.multi_modal_vision_proj(tokens) + self.modality_type_embeddings.weight[1]

    def text_tokens(self, input_ids, attention_mask) -> torch.Tensor:
        return self.text_projection(self.text_hidden(input_ids, attention_mask))

    def text_hidden(self, input_ids, attention_mask) -> torch.Tensor:
        """The text encoder's last hidden state (no gradient when it is frozen)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.text.frozen):
            return self.language_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def text_projection(self, hidden) -> torch.Tensor:
        return self.multi_modal_language_proj(hidden) + self.modality_type_embeddings.weight[0]

    def tokenize(self, reports: list[str]) -> ReportBatch:
        return tokenize_reports(self.tokenizer, reports, self.config.text.max_tokens)

    def sentences(self, tokens, batch: ReportBatch) -> torch.Tensor:
        return sentence_means(tokens, batch.sentence_index, batch.sentence_mask.shape[1])

    def report_vector(self, tokens, batch: ReportBatch) -> torch.Tensor:
        """The report's unimodal vector: ``uni_global_text_attention`` over its sentence vectors, the
        mean of the sentences first (the release's sentence attention pool)."""
        return self.uni_global_text_attention(self.sentences(tokens, batch), batch.sentence_mask)

    # -- fusion -----------------------------------------------------------------------------------
    def fuse_image_with_sentences(self, img, sents, sent_mask):
        """``local_img_cross_multihead_attention``: A = image tokens, B = sentence vectors."""
        for layer in self.local_img_cross_multihead_attention:
            img, sents = layer(img, sents, None, sent_mask)
        return img, sents

    def fuse_text_with_image(self, txt, img, txt_mask):
        """``local_text_cross_multihead_attention``: A = text tokens, B = image tokens."""
        for layer in self.local_text_cross_multihead_attention:
            txt, img = layer(txt, img, txt_mask, None)
        return txt, img

    def aggregate(self, sents, image, sent_mask):
        """``agg_img_cross_attention``: each sentence vector keeps its own value, gated by the image's
        global vector; after each layer the image vector is ``multi_modal_agg_vision_pooler`` of the
        sentence outputs. Returns the last layer's (b, s, d) sentence outputs and (b, d) vector."""
        for layer in self.agg_img_cross_attention:
            sents = layer(sents, image)
            image = self.multi_modal_agg_vision_pooler(sents, sent_mask)
        return sents, image

    def sentence_text_vectors(self, batch: ReportBatch) -> torch.Tensor:
        """(b, s, text_dim) each sentence tokenised on its own, the mean of the text encoder's input
        embeddings over its tokens (not contextual, no gradient): SSM's text similarity."""
        ids, mask = batch.sentence_ids, batch.sentence_ids_mask
        b, s, n = ids.shape
        with torch.no_grad():
            emb = self.language_encoder.embeddings(input_ids=ids.reshape(b * s, n))
        return masked_mean(emb, mask.reshape(b * s, n, 1), dim=1).view(b, s, -1)

    def sentence_patch_affinity(self, img, sents) -> torch.Tensor:
        """(b, s, n): the release's own sentence-image affinity in the first image-sentence fusion
        layer, query2(sentence) . key1(token) / sqrt(D), as each sentence's share among the image
        tokens (softmax over tokens), the basis of the attention maps of models without a grounding
        head. The fusion gates with a sigmoid of the same log-odds, which saturates near 1.0 for
        every token once trained: the share keeps its order and its peak."""
        layer = self.local_img_cross_multihead_attention[0]
        return torch.softmax(layer.affinity(img, sents).float(), dim=-1)

    def grounding_logits(self, patches, sents, voxels=None, emb=None) -> torch.Tensor:
        """(b, s, n) log-odds of each sentence (b, s, hidden) at each place of the map: cosine /
        temperature against ``patches`` (b, n, e), the head's embedding of the patches
        (``grounding_head.patches``, once per volume), on the patch grid; with ``voxels`` (b, c, D, H,
        W), the voxel path's features of the volume (``grounding_voxels``), upsampled onto their grid
        and added to the voxel path's score, n = D * H * W. ``emb``: the head's (b, s, e) embeddings of
        the sentences, when already made."""
        c = self.config
        return self.grounding_head.logits(patches, sents, c.patch_grid, c.temperature, voxels, emb)

    def grounding_voxels(self, volume) -> torch.Tensor | None:
        """(b, c, D, H, W) the grounding head's voxel path on ``volume``, or None (no such path)."""
        head = self.grounding_head
        return head.voxel_features(volume) if hasattr(head, "voxel") else None

    def image_vector(self, volume) -> torch.Tensor:
        return self.uni_modal_vision_pooler(self.image_tokens(volume))

    def report_vector_of(self, batch: ReportBatch) -> torch.Tensor:
        tokens = self.text_tokens(batch.input_ids, batch.attention_mask)
        return self.report_vector(tokens, batch)

    def image_embedding(self, volume) -> torch.Tensor:
        """L2-normalised image embedding in the global alignment space (retrieval, zero-shot)."""
        return self.itc_head.vision(self.image_vector(volume))

    def report_embedding(self, batch: ReportBatch) -> torch.Tensor:
        """L2-normalised report (or prompt) embedding in the same space."""
        return self.itc_head.language(self.report_vector_of(batch))

    def _grounding_scores(self, patches, sents, emb, named, stated):
        """``sents`` (rows, hidden) the batch's real sentences and ``emb`` (rows, e) the grounding
        head's embeddings of them, ``named`` (rows, labels) what each states as present, ``stated``
        (b, labels) what each report states as present. A sentence that states something asks each
        image of the global batch (every process's) whether it shows it: yes where that image's report states all of it.
        Asked of the patch grid (the voxel path, all pairs on the input grid, would cost about 0.7 s
        a step more on a CPU). Returns (q, b, n) log-odds and (q, b) targets."""
        from .distributed import gather_rows

        # every image of the global batch answers (their patches gathered from the other processes)
        patches, _ = gather_rows(patches)
        stated, _ = gather_rows(stated, grad=False)
        query, targets = obj.grounding_targets(named, stated)
        c = self.config
        scores = self.grounding_head.logits(patches, sents[query], c.patch_grid, c.temperature,
                                            emb=emb[query], every=True)
        return scores, targets

    def _region_maps(self, patches, voxels, sents, emb, slots, masks):
        """``slots`` (r, 2): (image, sentence) of each sentence that names a finding whose mask
        ``masks`` (r, D, H, W) holds, on the input grid: (r, n) its map's log-odds on its own image
        and (r, n) the mask on the same places (``objectives.region_loss``, ``peak_loss``). ``emb``
        (b, s, e): the head's sentence embeddings; ``voxels``: the voxel path's features of the
        batch, or None (no such path: the masks' mean over each patch)."""
        if voxels is None:
            masks = F.adaptive_avg_pool3d(masks[:, None], self.config.patch_grid)[:, 0]
        slots, masks = self._rows_by_image(slots, masks)
        logits = []
        # one view per image: a slice of the whole batch's voxel features would fill a gradient the
        # size of all of them for each image in the backward pass
        per_image = None if voxels is None else voxels.unbind(0)
        for image in slots[:, 0].unique().tolist():
            k = slots[slots[:, 0] == image, 1]
            own = None if voxels is None else per_image[image][None]
            one = self.grounding_logits(patches[image:image + 1], sents[image, k][None], own,
                                        emb[image, k][None])
            logits.append(one[0])
        return torch.cat(logits), masks.flatten(1)

    @staticmethod
    def _rows_by_image(slots, masks=None):
        """(slots, masks) in the order of ``_region_maps``' rows: grouped by image, each image's in
        their own order. No slot (no mask in this batch): the first slot against an empty mask, which
        asks nothing (every term on these rows is 0) yet keeps every parameter the terms train in the
        graph (DDP)."""
        if len(slots) == 0:
            return slots.new_zeros(1, 2), None if masks is None else masks.new_zeros(1, *masks.shape[1:])
        order = torch.argsort(slots[:, 0], stable=True)
        return slots[order], None if masks is None else masks[order]

    def _outline_offsets(self, sents, slots) -> torch.Tensor:
        """(r,) the outline offset of each (image, sentence) of ``slots``, in the rows' order of
        ``_region_maps`` (``_rows_by_image``)."""
        rows, _ = self._rows_by_image(slots)
        return self.grounding_head.outline_offset(sents[rows[:, 0], rows[:, 1]], self.config.temperature)

    def _grounding_inputs(self, feats, sents, rows):
        """The grounding head's (b, n, e) patches of the encoder's features, (rows, e) embeddings of
        the real sentences (all real rows: the centring sees every kind) and the same on (b, s, e)."""
        patches = self.grounding_head.patches(feats)
        real = self.grounding_head.sentences(sents[rows])
        return patches, real, real.new_zeros(*rows.shape, real.shape[-1]).masked_scatter(rows[..., None], real)

    def organ_maps(self, volume, batch: ReportBatch, slots, masks):
        """The organ objective's inputs alone (``forward``'s ``out["organs"]``, without the rest of
        pre-training): (r, n) log-odds on the patch grid of each (image, sentence) slot, and (r, n)
        the share of each place that its organs' mask (r, D, H, W) covers."""
        sents = self.sentences(self.text_tokens(batch.input_ids, batch.attention_mask), batch)
        patches, _, emb = self._grounding_inputs(self.vision_encoder(volume), sents, batch.sentence_mask.bool())
        return self._region_maps(patches, None, sents, emb, slots, masks)

    # -- pre-training -------------------------------------------------------------------------
    def forward(self, volume: torch.Tensor, batch: ReportBatch, generator=None, findings=None,
                grounding=None, regions=None, organs=None) -> dict:
        """The features every pre-training objective needs, as the release computes them
        (docs/method.md); ``objectives.pretraining_losses`` turns them into losses. ``generator``:
        the masks' random generator, one for the batch or a list of one per sample
        (``masking.sample_generators``: a sample's masks then do not depend on its batch). ``findings``:
        (LabelPrompts, (b, labels) targets, 1 where the report states the label, 0 where not) for
        the findings objective (our addition), or None. ``grounding``: ((b, s, labels) what each
        sentence states, (b, labels) what each report states) for the grounding objective (ours
        too; the model needs ``config.grounding``), or None. ``regions``: ((r, 2) image and sentence
        slot of each sentence naming a finding, (r, D, H, W) that finding's mask on the input grid)
        for the region objective (ours; grounded report data), or None. ``organs``: the same for each
        sentence naming a finding where only the organs it names are segmented ((r, D, H, W) their
        mask), for the organ objective (ours), or None: asked on the patch grid, the finding's place
        being known to the organ only."""
        from .masking import block_grid, expand_blocks, whole_word_mask

        c = self.config
        b = volume.shape[0]
        tmask = batch.attention_mask.bool()
        smask = batch.sentence_mask
        rows = smask.bool()
        owner = torch.arange(b, device=volume.device)[:, None].expand_as(smask)[rows]
        out: dict = {"temperature": c.temperature, "ssm_bounds": (c.ssm_positive, c.ssm_negative)}

        # the masks first, on the host, before the device has work queued (the token ids' copy back
        # then waits for nothing): MIM's block grid (the voxel mask is made on the device) and MLM's words
        shape = tuple(volume.shape[2:])
        blocks = block_grid(shape, c.mim_block, c.mim_ratio, b, generator)
        vocab = self.language_encoder.config.vocab_size
        masked_ids, labels = whole_word_mask(batch.input_ids.cpu(), batch.word_ids, c.mlm_ratio,
                                             self.tokenizer.mask_token_id, vocab, generator)

        feats = self.vision_encoder(volume)
        img = self.tokens_of(feats[-1])
        txt = self.text_tokens(batch.input_ids, batch.attention_mask)
        sents = self.sentences(txt, batch)  # (b, s, d)
        fixed = sents.detach()  # the release's sentence vectors carry no gradient
        img_uni = self.uni_modal_vision_pooler(img)

        # MIM: a masked volume fused with the unmasked report's sentences, reconstructed
        voxel_mask = expand_blocks(blocks.to(volume), c.mim_block, shape)
        img_masked = self.image_tokens(volume * (1 - voxel_mask))
        fused_masked_img, _ = self.fuse_image_with_sentences(img_masked, fixed, smask)
        grid = fused_masked_img.transpose(1, 2).reshape(b, -1, *c.grid)
        recon = self.mim_swin_unter_head(grid)[..., : volume.shape[2], : volume.shape[3], : volume.shape[4]]
        out["mim"] = (recon, volume, voxel_mask)

        # MLM: a masked report fused with the unmasked volume, its words predicted; SAL: each
        # sentence of the predicted tokens against the same sentence's input embeddings
        out["mlm_input_ids"] = masked_ids
        txt_masked = self.text_tokens(masked_ids.to(volume.device), batch.attention_mask)
        fused_masked_txt, _ = self.fuse_text_with_image(txt_masked, img, tmask)
        hidden = self.mlm_head.transformed(fused_masked_txt)
        # the vocabulary's logits only where a word is to be predicted: the loss reads no others, and
        # over every token they were most of a CPU step (1024 x 30522 for the tiny model's batch)
        labels = labels.to(volume.device)
        asked = labels != -100
        out["mlm"] = (self.mlm_head.decode(hidden[asked]), labels[asked])
        out["mlm_labels"] = labels  # (b, tokens), -100 where nothing is asked
        with torch.no_grad():
            embedded = self.language_encoder.embeddings(input_ids=batch.input_ids)
        out["align"] = (self.mlm_head.fc(self.sentences(hidden, batch)[rows]),
                        self.uni_emd_sen(self.sentences(embedded, batch)[rows]), b)

        # global alignment (ours): the unimodal image against the unimodal report (retrieval space)
        v, t = self.itc_head(img_uni, self.uni_global_text_attention(sents, smask))
        out["ga"] = (v, t)
        if findings is not None:  # the label prompts against the image, in the same space
            prompts, targets = findings
            pos, neg = prompt_pairs(self, prompts, running=True)
            out["findings"] = (finding_logits(v, pos, neg, c.temperature), targets)

        if grounding is not None or regions is not None or organs is not None:
            patches, real, emb = self._grounding_inputs(feats, sents, rows)
        if grounding is not None:  # each sentence that states a finding, against every image's patches
            named, stated = grounding
            out["grounding"] = self._grounding_scores(patches, sents[rows], real, named[rows], stated)
        if regions is not None:  # each sentence naming a finding whose mask is known, against it
            voxels = self.grounding_voxels(volume)  # (b, c, D, H, W) or None
            out["regions"] = self._region_maps(patches, voxels, sents, emb, *regions)
            if c.grounding_outline:  # the same maps shifted by their sentences' outline offsets
                logits, masks = out["regions"]
                out["outlines"] = (logits + self._outline_offsets(sents, regions[0])[:, None], masks)
        if organs is not None:  # each other sentence naming a finding, against the organs it names
            out["organs"] = self._region_maps(patches, None, sents, emb, *organs)

        # the release's contrastive branch: image tokens fused with the sentence vectors
        fused_img, fused_sents = self.fuse_image_with_sentences(img, fixed, smask)
        img_fused = self.multi_modal_vision_pooler(fused_img)
        # CML: [fused report; fused image] against [unimodal report; unimodal image]
        report_fused = self.multi_global_text_attention(fused_sents, smask)
        report_uni = self.uni_global_text_attention(fixed, smask)
        out["cml"] = self.itc_cross_head(torch.cat([report_fused, img_fused], -1),
                                         torch.cat([report_uni, img_uni], -1))
        # DCL: the fused image against the image aggregated from its report's sentences
        per_sentence, img_agg = self.aggregate(fixed, img_uni, smask)
        out["dcl"] = self.itc_agg_head(img_fused, img_agg)
        # SSM: sentence-wise visual features against the sentences' text similarity, inside this batch
        out["ssm"] = (self.sentence_text_vectors(batch)[rows],
                      self.multi_modal_sen_vision_pooler(per_sentence[rows]), owner)
        return out
