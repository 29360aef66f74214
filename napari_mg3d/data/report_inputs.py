"""What pre-training needs of a report, made once per case where the data is loaded (DataLoader
workers), so that the training process does tensor work only: the report's tokens, the sentence of
each token, the word of each token (whole-word masking), each sentence tokenised on its own (SSM's
text vectors), what the report states (findings) and what each sentence names (grounding, regions).
``collate_reports`` pads a batch of them into the ``ReportBatch`` that ``MG3D.tokenize`` makes of
the same reports (tests/data/test_report_inputs.py holds the two equal)."""

from __future__ import annotations

import numpy as np


def stated_labels(texts: list[str], labels) -> np.ndarray:
    """(n, labels) float32, 1 where a text (report or sentence) states a label as present or
    uncertain (the report labeller, ``knowledge.labels.label_report``)."""
    from ..knowledge.labels import label_report

    out = np.zeros((len(texts), len(labels)), np.float32)
    for row, text in enumerate(texts):
        found = label_report(text)
        out[row] = [found.get(label, 0) for label in labels]
    return out


class ReportInputs:
    """Per-report inputs for a tokenizer, a token budget and a label set. Picklable (it goes to the
    DataLoader workers with the dataset)."""

    def __init__(self, tokenizer, max_tokens: int, labels: tuple[str, ...]):
        if tokenizer is None:
            raise ValueError("no tokenizer for this text encoder on this machine; give the model's folder")
        self.tokenizer, self.max_tokens, self.labels = tokenizer, max_tokens, tuple(labels)
        self.pad_id = tokenizer.pad_token_id or 0

    def stated(self, texts: list[str]) -> np.ndarray:
        """(n, labels) 1 where a text (report or sentence) states a label as present or uncertain."""
        return stated_labels(texts, self.labels)

    def __call__(self, report: str) -> dict:
        from ..knowledge import split_sentences, token_sentence_index

        enc = self.tokenizer(report, truncation=True, max_length=self.max_tokens, return_offsets_mapping=True)
        sentences = split_sentences(report)
        index = np.asarray(token_sentence_index(enc["offset_mapping"], sentences), np.int64)
        count = int(index.max()) + 1 if index.size and index.max() >= 0 else 0
        texts = [s.text for s in sentences]
        own = self.tokenizer(texts[:count], truncation=True, max_length=self.max_tokens)["input_ids"] if count else []
        return {
            "input_ids": np.asarray(enc["input_ids"], np.int64),
            "sentence_index": index,
            "word_ids": np.asarray([-1 if w is None else w for w in enc.word_ids()], np.int64),
            "sentences": texts,
            "sentence_ids": [np.asarray(ids, np.int64) for ids in own],
            "present": np.isin(np.arange(count), index),
            "stated": self.stated([report])[0],
            "named": self.stated(texts[:count]),  # (sentences with tokens, labels)
        }


def collate_reports(items: list[dict], pad_id: int = 0):
    """(ReportBatch, (b, labels) stated, (b, s, labels) named) of per-report inputs."""
    import torch

    from ..model.text import ReportBatch

    b = len(items)
    t = max((len(it["input_ids"]) for it in items), default=1)
    s = max(1, max((len(it["present"]) for it in items), default=0))
    length = max((len(ids) for it in items for ids in it["sentence_ids"]), default=1)
    labels = items[0]["stated"].shape[0] if items else 0
    input_ids = torch.full((b, t), pad_id, dtype=torch.long)
    attention = torch.zeros(b, t, dtype=torch.long)
    index = torch.full((b, t), -1, dtype=torch.long)
    words = torch.full((b, t), -1, dtype=torch.long)
    present = torch.zeros(b, s, dtype=torch.bool)
    sentence_ids = torch.zeros(b, s, length, dtype=torch.long)
    sentence_mask = torch.zeros(b, s, length, dtype=torch.long)
    named = torch.zeros(b, s, labels)
    for row, it in enumerate(items):
        n = len(it["input_ids"])
        input_ids[row, :n] = torch.from_numpy(it["input_ids"])
        attention[row, :n] = 1
        index[row, :n] = torch.from_numpy(it["sentence_index"])
        words[row, :n] = torch.from_numpy(it["word_ids"])
        present[row, : len(it["present"])] = torch.from_numpy(it["present"])
        for k, ids in enumerate(it["sentence_ids"]):
            sentence_ids[row, k, : len(ids)] = torch.from_numpy(ids)
            sentence_mask[row, k, : len(ids)] = 1
        named[row, : len(it["named"])] = torch.from_numpy(it["named"])
    stated = torch.from_numpy(np.stack([it["stated"] for it in items])) if items else torch.zeros(0, labels)
    batch = ReportBatch(input_ids, attention, index, present, words, [it["sentences"] for it in items],
                        sentence_ids, sentence_mask)
    return batch, stated, named * present[..., None]
