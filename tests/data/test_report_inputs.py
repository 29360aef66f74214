"""The report inputs the dataset makes once per case, collated, are what the model's own tokenizer
path (``MG3D.tokenize``, used at inference) makes of the same reports."""

import csv

import pytest
import torch

from napari_mg3d.data.report_inputs import ReportInputs, collate_reports
from napari_mg3d.data.synthetic import make_case
from napari_mg3d.knowledge.labels import CT_RATE_LABELS
from napari_mg3d.model.text import MINILM, build_text_encoder, tokenize_reports


@pytest.fixture(scope="module")
def tokenizer():
    return build_text_encoder(MINILM, pretrained=False)[1]


def _same(tokenizer, reports, max_tokens):
    inputs = ReportInputs(tokenizer, max_tokens, CT_RATE_LABELS)
    batch, stated, named = collate_reports([inputs(r) for r in reports], inputs.pad_id)
    ref = tokenize_reports(tokenizer, reports, max_tokens)
    for name in ("input_ids", "attention_mask", "sentence_index", "sentence_mask"):
        assert torch.equal(getattr(batch, name), getattr(ref, name)), name
    present = ref.sentence_mask
    n = min(batch.sentence_ids.shape[-1], ref.sentence_ids.shape[-1])
    assert torch.equal(batch.sentence_ids[present][:, :n], ref.sentence_ids[present][:, :n])
    assert (ref.sentence_ids[present][:, n:] == 0).all() and (batch.sentence_ids[present][:, n:] == 0).all()
    words = [[-1 if w is None else w for w in row] for row in ref.word_ids]
    assert batch.word_ids.tolist() == words
    assert stated.shape == (len(reports), len(CT_RATE_LABELS)) and named.shape[:2] == present.shape
    assert (named[~present] == 0).all()
    for row, report in enumerate(reports):  # what each sentence names is what the labeller finds in it
        for k in present[row].nonzero()[:, 0].tolist():
            assert torch.equal(named[row, k], torch.from_numpy(inputs.stated([ref.sentences[row][k]])[0]))
    return batch


def test_synthetic_reports_collate_to_the_models_tokenisation(tokenizer):
    reports = [make_case(i, shape=(8, 8, 8)).report for i in range(5)] + ["", "No acute findings."]
    _same(tokenizer, reports, 128)


def test_real_reports_collate_to_the_models_tokenisation(tokenizer, shared_data):
    with open(shared_data / "ct-rate_ctclip_text_classifier" / "train.csv", encoding="utf-8", newline="") as f:
        reports = [r["report_text"] for _, r in zip(range(24), csv.DictReader(f))]
    batch = _same(tokenizer, reports, 250)
    assert batch.sentence_mask.sum(1).min() < batch.sentence_mask.sum(1).max()  # reports of different lengths
    assert batch.attention_mask.sum(1).max() == 250  # some truncated
