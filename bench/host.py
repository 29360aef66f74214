"""Host work per pre-training step: the milliseconds the training process spends outside tensor
work, before (report labelling, tokenising, sentence labels and masks built in the training step,
as the code did until issue 19) and after (report inputs made once per case in the DataLoader
workers; the step draws each sample's masks), side by side in one run, at batch 4 with
``mg3d-swin-b``'s inputs (250 tokens, its 128 x 96 x 128 volume in 16^3 MIM blocks) on real CT-RATE
reports from ../shared/data. The worker's share (per step, first epoch: every case made once;
later epochs reuse it) is printed beside it: it runs in parallel with the step, not in it.

The tokenizer is the offline MiniLM's (BERT WordPiece; RadBERT's is not on this machine).
Usage: python bench/host.py [--steps 50] [--batch 4]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def old_whole_word_mask(input_ids, word_ids, ratio, mask_id, vocab_size, generator):
    """The training step's masking before issue 19 (a Python loop over every token), for reference."""
    import torch

    masked = input_ids.clone()
    labels = torch.full_like(input_ids, -100)
    for row, words in enumerate(word_ids):
        ids = sorted({w for w in words if w is not None})
        if not ids:
            continue
        k = max(1, int(round(ratio * len(ids))))
        chosen = {ids[i] for i in torch.randperm(len(ids), generator=generator)[:k].tolist()}
        for pos, w in enumerate(words):
            if w in chosen:
                labels[row, pos] = input_ids[row, pos]
                r = float(torch.rand(1, generator=generator))
                if r < 0.8:
                    masked[row, pos] = mask_id
                elif r < 0.9:
                    masked[row, pos] = int(torch.randint(vocab_size, (1,), generator=generator))
    return masked, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--reports", default=str(SHARED / "ct-rate_ctclip_text_classifier" / "train.csv"))
    args = parser.parse_args()
    import torch

    from napari_mg3d.data.report_inputs import ReportInputs, collate_reports
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.config import get_config
    from napari_mg3d.model.masking import block_grid, block_mask, sample_generators, whole_word_mask
    from napari_mg3d.model.text import MINILM, build_text_encoder, tokenize_reports
    from napari_mg3d.train.module import stated_labels

    torch.set_num_threads(1)
    config = get_config("mg3d-swin-b")
    tokenizer = build_text_encoder(MINILM, pretrained=False)[1]
    labels = tuple(p.label for p in default_prompts())
    with open(args.reports, encoding="utf-8", newline="") as f:
        reports = [r["report_text"] for _, r in zip(range(args.steps * args.batch), csv.DictReader(f))]
    batches = [reports[i:i + args.batch] for i in range(0, len(reports) - args.batch + 1, args.batch)]
    shape, max_tokens, mask_id, vocab = tuple(config.image_size), config.text.max_tokens, tokenizer.mask_token_id, \
        tokenizer.vocab_size

    def before(texts):
        gen = torch.Generator().manual_seed(0)
        batch = tokenize_reports(tokenizer, texts, max_tokens)
        stated_labels(texts, labels)
        for sentences in batch.sentences:
            stated_labels(sentences[: batch.sentence_mask.shape[1]], labels)
        block_mask(shape, config.mim_block, config.mim_ratio, len(texts), gen)
        old_whole_word_mask(batch.input_ids, batch.word_ids, config.mlm_ratio, mask_id, vocab, gen)

    inputs = ReportInputs(tokenizer, max_tokens, labels)
    collated, worker_ms = [], []
    for texts in batches:  # the workers' share: each case made once, then collated
        t = time.perf_counter()
        collated.append(collate_reports([inputs(r) for r in texts], inputs.pad_id))
        worker_ms.append((time.perf_counter() - t) * 1e3)

    def after(step, batch):
        reports_batch, stated, named = batch
        reports_batch.to("cpu"), stated.to("cpu"), named.to("cpu")
        gens = sample_generators(0, step, range(step * args.batch, (step + 1) * args.batch))
        block_grid(shape, config.mim_block, config.mim_ratio, len(gens), gens)
        whole_word_mask(reports_batch.input_ids, reports_batch.word_ids, config.mlm_ratio, mask_id, vocab, gens)

    before(batches[0]), after(0, collated[0])  # warm-up
    before_ms, after_ms = [], []
    for step, (texts, batch) in enumerate(zip(batches, collated)):  # turn by turn: noise hits both alike
        t = time.perf_counter()
        before(texts)
        before_ms.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        after(step, batch)
        after_ms.append((time.perf_counter() - t) * 1e3)

    def row(name, ms, where):
        return [name, where, f"{statistics.median(ms):.2f}", f"{statistics.mean(ms):.2f}", f"{max(ms):.2f}"]

    sentences = [int(b[0].sentence_mask.sum()) for b in collated]
    print(f"host work per step, batch {args.batch}, {len(batches)} steps of real CT-RATE reports "
          f"({min(sentences)}-{max(sentences)} sentences a batch), mg3d-swin-b inputs ({max_tokens} tokens, "
          f"{shape} volume, MIM block {config.mim_block}), one CPU thread")
    print_table(["path", "where", "median ms", "mean ms", "max ms"], [
        row("before: labels, tokens, sentence labels, masks in the step", before_ms, "training process"),
        row("after: the step draws its samples' masks", after_ms, "training process"),
        row("after: report inputs made and collated (first epoch)", worker_ms, "DataLoader worker"),
    ])
    print("target: <= 5 ms a step in the training process")


if __name__ == "__main__":
    main()
