import math

import pytest
import torch

from napari_mg3d.data.synthetic import make_case
from napari_mg3d.inference.zeroshot import prompt_embeddings
from napari_mg3d.knowledge.prompts import prompt_set
from napari_mg3d.model import objectives as obj
from napari_mg3d.model.factory import create_model
from napari_mg3d.model.findings import LabelPrompts, finding_logits, prompt_pairs
from napari_mg3d.train.module import PretrainModule


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("mg3d-tiny", device="cpu")


def test_finding_logits_and_loss_by_hand():
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pos, neg = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    logits = finding_logits(image, pos, neg, 0.5)  # (1 - 0) / 0.5 and (0 - 1) / 0.5
    assert torch.allclose(logits, torch.tensor([[2.0], [-2.0]]))
    targets = torch.tensor([[1.0], [0.0]])
    expected = -math.log(1 / (1 + math.exp(-2)))  # both rows are right with log-odds 2
    assert abs(obj.finding_loss(logits, targets).item() - expected) < 1e-6
    assert obj.DEFAULT_WEIGHTS["findings"] == 0.0  # off in the official recipe


def test_prompt_pairs_cache_the_frozen_text_and_match_zero_shot(tiny):
    sets = [prompt_set("Pleural effusion"), prompt_set("Emphysema")]
    prompts = LabelPrompts.of(tiny, sets)
    assert prompts.labels == ("Pleural effusion", "Emphysema") and prompts.counts == ((2, 2), (2, 2))
    tiny.eval()
    with torch.no_grad():
        pos, neg = prompt_pairs(tiny, prompts)
    assert prompts.hidden is not None and prompts.hidden.shape[0] == 8
    zs_pos, zs_neg = prompt_embeddings(tiny, sets)  # inference: the same vectors
    assert torch.allclose(pos, zs_pos, atol=1e-6) and torch.allclose(neg, zs_neg, atol=1e-6)
    assert torch.allclose(pos.norm(dim=-1), torch.ones(2))
    # the positive and negative means differ: each label's pair is two directions, not one
    assert ((pos - neg).norm(dim=-1) > 1e-4).all()


def test_running_centring_leaves_the_statistics_alone_in_training(tiny):
    head = tiny.itc_head
    tiny.train()
    before = head.language_center.running_mean.clone()
    prompts = LabelPrompts.of(tiny, [prompt_set("Cardiomegaly")])
    prompt_pairs(tiny, prompts, running=True)
    assert torch.equal(before, head.language_center.running_mean)
    prompt_pairs(tiny, prompts)  # training-mode statistics of the prompts themselves update them
    assert not torch.equal(before, head.language_center.running_mean)
    tiny.eval()


def test_the_module_trains_the_findings_the_reports_state():
    cases = [make_case(i, shape=(8, 8, 8)) for i in range(3)]
    module = PretrainModule({"model": "mg3d-tiny"})
    reports = [c.report for c in cases]
    inputs = module.report_inputs()
    prompts, targets = module.findings(torch.from_numpy(inputs.stated(reports)))
    for row, case in enumerate(cases):  # the report's statements are the generator's truth here
        for label, value in case.labels.items():
            assert targets[row, prompts.labels.index(label)].item() == value
    model = module.model.train()
    model.zero_grad()
    losses = obj.pretraining_losses(model(torch.randn(3, 1, 64, 64, 64), model.tokenize(reports),
                                          generator=torch.Generator().manual_seed(0), findings=(prompts, targets)),
                                    model.config.loss_weights)
    assert torch.isfinite(losses["findings"])
    weights = obj.loss_weights(model.config.loss_weights)
    assert weights["findings"] > 0
    others = sum(weights[k] * v for k, v in losses.items() if k not in ("loss", "findings"))
    assert abs(losses["loss"].item() - others.item() - weights["findings"] * losses["findings"].item()) < 1e-4
    losses["findings"].backward()
    assert model.itc_head.language_proj.weight.grad.abs().sum() > 0  # the prompts' side
    assert model.vision_encoder.patch_embed.proj.weight.grad.abs().sum() > 0  # and the image's
    # off (the official recipe): no prompts, no term
    assert PretrainModule({"model": "mg3d-tiny", "model_overrides": {"loss_weights.findings": 0.0}}).findings(None) is None
