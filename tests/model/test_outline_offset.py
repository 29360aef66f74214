"""The outline objective (our addition): a per-sentence offset on the grounding head's map log-odds
that says where the finding a sentence names ends, trained on finding masks."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from napari_mg3d.data.dataset import collate, sentence_regions
from napari_mg3d.data.synthetic import CT_RATE_LABEL, make_case
from napari_mg3d.model import objectives as obj
from napari_mg3d.model.capabilities import GROUNDING, OUTLINES, trained_parts
from napari_mg3d.model.factory import create_model
from napari_mg3d.model.heads import GroundingHead
from napari_mg3d.train.module import PretrainModule

ON = {"grounding_outline": True, "loss_weights.outlines": 1.0}


def test_outline_loss_by_hand():
    masks = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # the second row asks nothing
    sure = torch.tensor([[-30.0, 30.0, 30.0, -30.0], [5.0, 5.0, 5.0, 5.0]])
    assert obj.outline_loss(sure, masks).item() == pytest.approx(0.0, abs=1e-6)  # Dice 1, no cross-entropy
    flat = torch.zeros(1, 4)  # p = 0.5 everywhere: Dice loss 1 - (2 + 1) / (2 + 2 + 1), BCE ln 2
    assert obj.outline_loss(flat, masks[:1]).item() == pytest.approx(1 - 3 / 5 + math.log(2), rel=1e-5)
    wrong = torch.tensor([[30.0, -30.0, -30.0, 30.0]])  # the outline beside the finding
    assert obj.outline_loss(wrong, masks[:1]).item() > 10
    empty = torch.zeros(0, 4, requires_grad=True)
    assert obj.outline_loss(empty, torch.zeros(0, 4)).item() == 0.0
    assert obj.outline_loss(empty, torch.zeros(0, 4)).requires_grad


def _balls(shape, centres, radius):
    z, y, x = np.indices(shape)
    return np.stack([((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) ** 0.5 for c in centres]) <= radius


def test_the_offset_learns_where_findings_of_two_sizes_end_on_maps_that_fall_off_alike():
    """Two sentences, one naming a small finding (radius 1.5), one a large one (radius 4.5), whose
    maps fall off from the centre at the same rate (log-odds minus the distance): the softmax of
    both maps is the same shape, so no single level of the relative rule outlines both; trained on
    the masks, the sentence's own offset outlines each (Dice >= 0.85)."""
    from napari_mg3d.inference.outline import outline_mask
    from napari_mg3d.inference.outline_quality import LEVELS, dice

    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    shape = (12, 12, 12)
    head = GroundingHead((4,), 16, 16, outline=True)
    sentences = torch.randn(2, 16, generator=gen)
    radii = (1.5, 4.5)
    z, y, x = np.indices(shape)

    def batch(n):
        centres = np.random.default_rng(int(torch.randint(0, 10**6, (1,), generator=gen))).integers(3, 9, (n, 3))
        dist = np.stack([((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2) ** 0.5 for c in centres])
        kind = np.arange(n) % 2
        logits = torch.from_numpy(-dist).float().flatten(1) * 3  # the same fall-off for both sizes
        masks = torch.from_numpy(dist <= np.asarray(radii)[kind][:, None, None, None]).float().flatten(1)
        return logits, masks, torch.from_numpy(kind)

    optimiser = torch.optim.Adam(head.parameters(), 1e-2)
    for _ in range(200):
        logits, masks, kind = batch(16)
        loss = obj.outline_loss(logits + head.outline_offset(sentences[kind], 0.1)[:, None], masks)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        logits, masks, kind = batch(40)
        offsets = head.outline_offset(sentences[kind], 0.1)
        own = ((logits + offsets[:, None]) >= 0).numpy().reshape(-1, *shape)
        truth = masks.bool().numpy().reshape(-1, *shape)
        heat = torch.softmax(logits, -1).numpy().reshape(-1, *shape)
    own_dice = [np.mean([dice(own[i], truth[i]) for i in range(40) if kind[i] == k]) for k in (0, 1)]
    assert min(own_dice) >= 0.85, own_dice
    levels = [np.mean([np.mean([dice(outline_mask(heat[i], None, f), truth[i]) for i in range(40) if kind[i] == k])
                       for k in (0, 1)]) for f in LEVELS]
    assert max(levels) < np.mean(own_dice) - 0.1, (levels, own_dice)


def _batch(module):
    cases = [make_case(i, shape=(8, 8, 8)) for i in range(3)]
    inputs = module.report_inputs()
    items = []
    for case in cases:
        mask = {CT_RATE_LABEL[f]: m.astype("float32") for f, m in case.findings.items()}
        text = inputs(case.report)
        slots, found = sentence_regions(text["named"], module.labels, mask, (8, 8, 8))
        up = torch.nn.functional.interpolate(torch.from_numpy(found)[None], size=(64, 64, 64))[0].numpy() \
            if len(found) else np.zeros((0, 64, 64, 64), np.float32)
        items.append({"id": str(len(items)), "index": len(items), "volume": np.random.rand(1, 64, 64, 64).astype(np.float32),
                      "report": case.report, "labels": {}, "text": text, "region_slots": slots, "region_masks": up})
    return collate(items)


def test_the_module_trains_the_offset_on_the_finding_masks_and_records_it():
    module = PretrainModule({"model": "mg3d-tiny", "model_overrides": ON})
    model = module.model.train()
    batch = _batch(module)
    assert len(batch["region_slots"])
    model.zero_grad()
    losses = module.losses(batch, step=0)
    assert torch.isfinite(losses["outlines"]) and losses["outlines"] > 0
    losses["outlines"].backward()
    head = model.grounding_head
    assert head.outline_weight.grad.abs().sum() > 0 and head.outline_bias.grad.abs() > 0
    assert head.voxel_query.weight.grad.abs().sum() > 0  # the maps themselves learn where findings end
    # the offset's rows follow the region rows (grouped by image), as the maps' do
    slots = batch["region_slots"]
    order = torch.cat([slots[slots[:, 0] == i] for i in slots[:, 0].unique()])
    sents = torch.randn(3, int(slots[:, 1].max()) + 1, model.config.hidden)
    expected = head.outline_offset(sents[order[:, 0], order[:, 1]], model.config.temperature)
    assert torch.equal(model._outline_offsets(sents, slots[torch.randperm(len(slots))]), expected)
    assert OUTLINES in trained_parts(model.config, obj.loss_weights(model.config.loss_weights))
    # without the setting: no offset, no term, nothing recorded
    plain = PretrainModule({"model": "mg3d-tiny"})
    assert not hasattr(plain.model.grounding_head, "outline_weight")
    assert "outlines" not in plain.losses(_batch(plain), step=0)
    assert OUTLINES not in trained_parts(plain.model.config, obj.loss_weights(plain.model.config.loss_weights))


def test_the_offset_leaves_every_other_weight_as_it_starts_without_it():
    """Its weights start at zero from no random numbers: a model with it starts as one without it
    (the shipped demo model's recipe and every earlier run start the same)."""
    torch.manual_seed(0)
    plain = create_model("mg3d-tiny", device="cpu").state_dict()
    torch.manual_seed(0)
    with_offset = create_model("mg3d-tiny", device="cpu", grounding_outline=True).state_dict()
    assert set(with_offset) - set(plain) == {"grounding_head.outline_weight", "grounding_head.outline_bias"}
    assert all(torch.equal(plain[k], with_offset[k]) for k in plain)
    assert not with_offset["grounding_head.outline_weight"].any()


def test_a_run_without_finding_masks_does_not_record_the_offset_as_trained():
    from napari_mg3d.train.pretrain import what_was_learnt

    module = PretrainModule({"model": "mg3d-tiny", "model_overrides": ON})
    module.prompts = None
    cases = [SimpleNamespace(regions={}, organs=None, report="No effusion.")]
    reports_only = what_was_learnt(module, SimpleNamespace(cases=cases, regions=None, organs=None), {}, {})
    assert GROUNDING in reports_only["trained"] and OUTLINES not in reports_only["trained"]
    cases = [SimpleNamespace(regions={"Pleural effusion": "m.nii.gz"}, organs=None, report="Effusion.")]
    masked = what_was_learnt(module, SimpleNamespace(cases=cases, regions=object(), organs=None), {}, {})
    assert OUTLINES in masked["trained"] and masked["region_cases"] == 1
