"""Organ supervision (our addition): a sentence that states a finding and names a place is led into
the organs its case's segmentation has there, with no mask of the finding itself."""

import numpy as np
import pytest
import torch

from napari_mg3d.data.dataset import CaseDataset
from napari_mg3d.data.organ_targets import sentence_organs
from napari_mg3d.data.synth_writer import write_synthetic
from napari_mg3d.model import objectives as obj
from napari_mg3d.train.module import PretrainModule


def test_organ_loss_by_hand():
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.5]], requires_grad=True)
    masks = torch.tensor([[0.0, 0.3, 1.0, 0.0]])
    p = torch.softmax(logits, -1)[0]
    assert obj.organ_loss(logits, masks).item() == pytest.approx(-np.log((p[1] + p[2]).item()), rel=1e-6)
    spread = torch.tensor([[-9.0, 3.0, 3.0, -9.0]])  # all inside, however spread: about 0
    assert obj.organ_loss(spread, masks).item() < 1e-4
    none = obj.organ_loss(logits, torch.zeros(1, 4))
    assert none.item() == 0.0 and none.requires_grad


def test_sentence_organs_takes_stated_findings_with_a_place_only():
    organs = {"lung_upper_lobe_right": np.zeros((2, 2, 2), bool), "heart": np.zeros((2, 2, 2), bool)}
    organs["lung_upper_lobe_right"][0] = True
    organs["heart"][1, 1] = True
    sentences = ["A 7 mm nodule in the right upper lobe.", "No pleural effusion.", "Cardiomegaly.",
                 "Heart size is increased.", "A lesion is seen."]
    named = np.array([[1], [0], [1], [1], [1]])
    slots, masks = sentence_organs(sentences, named, organs, (2, 2, 2), skip={3})
    assert slots == [0, 2]  # denied: nothing; its own mask known (3): skipped; no place named: nothing
    assert masks[0].sum() == 4 and masks[1].sum() == 2 and (masks[1] > 0).tolist() == organs["heart"].tolist()


def test_organ_supervision_leads_a_sentence_map_into_its_organ(tmp_path):
    """Cases with organ maps only (no finding masks): trained on the organ term alone for a few
    steps, the maps of the sentences stating a finding put most of their mass in the organs they name,
    where before it spread about as the organs' share of the volume."""
    torch.manual_seed(0)
    manifest = write_synthetic(tmp_path / "data", 4, seed=11, shape=(32, 64, 64), supervision="organs",
                               split="train")
    module = PretrainModule({"model": "mg3d-tiny", "seed": 0})
    data = CaseDataset(manifest, "synthetic-tiny", cache_dir=tmp_path / "cache", text=module.report_inputs(),
                       organs=True)
    batch = data.collate([data[i] for i in range(len(data))])
    assert len(batch["organ_slots"]) >= 4, "the toy cases state findings in named organs"

    model = module.model
    inputs = (batch["volume"], batch["reports"], batch["organ_slots"], batch["organ_masks"])
    with torch.no_grad():  # the pre-training step's own organ term, once, against the direct path
        full = module.losses(batch, 0)["organs"]
        assert obj.organ_loss(*model.organ_maps(*inputs)).item() == pytest.approx(full.item(), rel=1e-4)

    # the text encoder is frozen (mg3d-tiny): its tokens, made once, are what every step would make
    assert not any(p.requires_grad for p in model.language_encoder.parameters())
    with torch.no_grad():
        tokens = model.text_tokens(batch["reports"].input_ids, batch["reports"].attention_mask)
    model.text_tokens = lambda *_: tokens

    def mass_inside():
        with torch.no_grad():
            logits, masks = model.organ_maps(*inputs)
        return (torch.softmax(logits, -1) * (masks > 0)).sum(-1)

    before = mass_inside()
    optimiser = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(20):
        loss = obj.organ_loss(*model.organ_maps(*inputs))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = mass_inside()
    assert after.mean() > 0.6 and after.mean() > before.mean() + 0.4, (before, after)
    assert (after > before).all(), (before, after)
