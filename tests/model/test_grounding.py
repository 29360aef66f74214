"""The grounding objective (our addition): sentences that state a finding against image patches,
multiple-instance, on what the reports state."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from napari_mg3d.data.dataset import collate, sentence_regions
from napari_mg3d.data.report_inputs import collate_reports
from napari_mg3d.data.synthetic import CT_RATE_LABEL, make_case
from napari_mg3d.model import objectives as obj
from napari_mg3d.model.factory import create_model
from napari_mg3d.model.heads import GroundingHead
from napari_mg3d.train.module import PretrainModule


def test_grounding_loss_and_targets_by_hand():
    scores = torch.tensor([[[2.0, -1.0, 0.0], [-3.0, -3.0, -3.0]]])  # one query, two images, three patches
    pooled = torch.tensor([math.log((math.exp(2) + math.exp(-1) + 1) / 3), -3.0])
    targets = torch.tensor([[1.0, 0.0]])
    expected = -(math.log(torch.sigmoid(pooled[0]).item()) + math.log(1 - torch.sigmoid(pooled[1]).item())) / 2
    assert obj.grounding_loss(scores, targets).item() == pytest.approx(expected, rel=1e-5)
    empty = torch.zeros(0, 2, 3, requires_grad=True)
    assert obj.grounding_loss(empty, torch.zeros(0, 2)).item() == 0.0 and obj.grounding_loss(empty, torch.zeros(0, 2)).requires_grad
    # sentences: [effusion], [nothing], [effusion, nodule]; images state {effusion}, {effusion, nodule}, {}
    named = torch.tensor([[1, 0], [0, 0], [1, 1]])
    stated = torch.tensor([[1, 0], [1, 1], [0, 0]])
    query, answers = obj.grounding_targets(named, stated)
    assert query.tolist() == [True, False, True]
    assert answers.tolist() == [[1, 1, 0], [0, 1, 0]]


def test_the_objective_finds_where_a_finding_is():
    """Images of which half carry a pattern at a random patch; one sentence says it is there. Trained
    on image-level answers only, the sentence's map peaks at the pattern on new images."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    head = GroundingHead((8, 16), 32, 32)
    pattern = torch.nn.functional.normalize(torch.randn(8, generator=gen), dim=0) * 10  # noise: norm ~2.8
    sentences = torch.randn(6, 32, generator=gen)  # row 0 states the finding; all train the centring

    def images(b):
        fine, coarse = torch.randn(b, 8, 6, 6, 6, generator=gen), torch.randn(b, 16, 3, 3, 3, generator=gen)
        has = torch.rand(b, generator=gen) < 0.5
        where = torch.randint(0, 216, (b,), generator=gen)
        for i in has.nonzero()[:, 0]:
            fine[i].view(8, -1)[:, where[i]] += pattern
        return fine, coarse, has, where

    def scores(fine, coarse):
        return torch.einsum("qe,bne->qbn", head.sentences(sentences)[:1], head.patches([fine, coarse])) / 0.1

    optimiser = torch.optim.Adam(head.parameters(), 1e-2)
    for _ in range(150):
        fine, coarse, has, _ = images(16)
        loss = obj.grounding_loss(scores(fine, coarse), has.float()[None])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    head.eval()
    with torch.no_grad():
        fine, coarse, has, where = images(64)
        peaks = scores(fine, coarse)[0].argmax(-1)
    hits = (peaks == where)[has].float().mean().item()
    assert hits >= 0.9, hits  # chance: 1 / 216


def test_the_module_asks_with_the_sentences_that_state_findings():
    cases = [make_case(i, findings, shape=(8, 8, 8)) for i, findings in
             enumerate([("nodule", "pleural_effusion"), (), ("emphysema", "cardiomegaly", "consolidation")])]
    module = PretrainModule({"model": "mg3d-tiny"})
    reports = [c.report for c in cases]
    inputs = module.report_inputs()
    batch, stated, named = collate_reports([inputs(r) for r in reports])
    _, same = module.grounding(named, stated)
    assert same is stated and named.shape == (*batch.sentence_mask.shape, len(module.labels))
    for row, case in enumerate(cases):
        for k, text in enumerate(batch.sentences[row][: named.shape[1]]):
            if batch.sentence_mask[row, k]:
                assert torch.equal(named[row, k], torch.from_numpy(inputs.stated([text])[0]))
        # a finding the report states is stated by one of its sentences; one it denies by none
        for label, value in case.labels.items():
            assert named[row, :, module.labels.index(label)].max().item() == value
    model = module.model.train()
    model.zero_grad()
    losses = obj.pretraining_losses(model(torch.randn(3, 1, 64, 64, 64), batch,
                                          generator=torch.Generator().manual_seed(0), grounding=(named, stated)),
                                    model.config.loss_weights)
    assert torch.isfinite(losses["grounding"]) and obj.loss_weights(model.config.loss_weights)["grounding"] > 0
    losses["grounding"].backward()
    assert model.grounding_head.patch[0].weight.grad.abs().sum() > 0
    assert model.vision_encoder.patch_embed.proj.weight.grad.abs().sum() > 0  # the image side
    assert model.multi_modal_language_proj.weight.grad.abs().sum() > 0  # and the sentences'
    # off: no term; the official architectures have no grounding head
    assert PretrainModule({"model": "mg3d-tiny", "model_overrides": {"loss_weights.grounding": 0.0}}).grounding(
        named, stated) is None
    assert not hasattr(create_model("mg3d-tiny", device="cpu", grounding=False), "grounding_head")


def test_region_loss_by_hand():
    masks = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.5, 0.0]])
    matching = torch.log(torch.tensor([[1e-9, 0.5, 0.5, 1e-9], [1e-9, 1e-9, 1.0, 1e-9]]))
    assert obj.region_loss(matching, masks).item() == pytest.approx(0.0, abs=1e-6)  # spreads as the masks do
    flat = torch.zeros(2, 4)  # uniform: KL = log 4 - log 2 and log 4 - log 1
    assert obj.region_loss(flat, masks).item() == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-5)
    empty = torch.zeros(0, 4, requires_grad=True)
    assert obj.region_loss(empty, torch.zeros(0, 4)).item() == 0.0 and obj.region_loss(empty, torch.zeros(0, 4)).requires_grad


def test_peak_loss_by_hand():
    masks = torch.tensor([[0.0, 1.0, 0.4, 0.0]])  # inside: place 1; outside: the rest, the grazed place 2 too
    assert obj.peak_loss(torch.tensor([[0.0, 9.0, 2.0, 1.0]]), masks, sharpness=50).item() == pytest.approx(
        math.log1p(math.exp(2.0 - 9.0)), rel=1e-3)  # the peak inside: a small cost, shrinking with the margin
    assert obj.peak_loss(torch.tensor([[0.0, 9.0, 20.0, 1.0]]), masks, sharpness=50).item() == pytest.approx(
        math.log1p(math.exp(20.0 - 9.0)), rel=1e-3)  # a peak on the finding's edge costs its margin
    empty = torch.zeros(0, 4, requires_grad=True)
    assert obj.peak_loss(empty, torch.zeros(0, 4)).item() == 0.0 and obj.peak_loss(empty, torch.zeros(0, 4)).requires_grad


def test_peak_loss_is_the_two_masked_smooth_maxima():
    """One pass of exp over each row gives what two masked logsumexp give, value and gradient, also
    where one side lies far below the other (neither may underflow)."""
    torch.manual_seed(0)
    logits = torch.randn(6, 500, dtype=torch.float64) * 4
    logits[0, :] -= 300.0
    logits[0, 7] = 80.0  # a peak far above a finding that is elsewhere
    logits[1, 3] = 90.0
    masks = (torch.rand(6, 500) > 0.97).double() * torch.rand(6, 1, dtype=torch.float64)
    masks[1, 3] = 1.0  # the peak inside
    masks[5] = 0.0  # a row that asks nothing

    def two_passes(x, m, sharpness=5.0):
        keep = m.sum(-1) > 0
        x, m = x[keep], m[keep]
        inside = m >= 0.5 * m.amax(-1, keepdim=True)
        high_in = torch.logsumexp((x * sharpness).masked_fill(~inside, -1e9), -1) / sharpness
        high_out = torch.logsumexp((x * sharpness).masked_fill(inside, -1e9), -1) / sharpness
        return F.softplus(high_out - high_in).mean()

    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    ours, theirs = obj.peak_loss(a, masks), two_passes(b, masks)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    assert torch.isfinite(a.grad).all() and torch.allclose(a.grad, b.grad, atol=1e-12)


def test_the_voxel_path_points_inside_a_finding_smaller_than_a_patch():
    """Volumes with a one-voxel bright spot at a random place, and its mask: trained on the masks,
    the sentence's map on the voxel grid peaks on the spot in new volumes, which the patch grid
    (4 x 4 x 4 voxels a patch) alone cannot do. Untrained, the voxel path adds nothing."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    head = GroundingHead((8, 16), 32, 32, voxels=8)
    sentence = torch.randn(1, 1, 32, generator=gen)
    grid = (4, 4, 4)

    def volumes(b):
        x = torch.rand(b, 1, 16, 16, 16, generator=gen) * 0.5
        where = torch.randint(0, 16**3, (b,), generator=gen)
        x.view(b, -1)[torch.arange(b), where] = 1.0
        masks = torch.zeros(b, 16**3)
        masks[torch.arange(b), where] = 1.0
        patches = head.patches([torch.randn(b, 8, *grid, generator=gen), torch.randn(b, 16, 2, 2, 2, generator=gen)])
        return x, patches, masks, where

    x, patches, _, _ = volumes(2)
    with torch.no_grad():
        coarse = head.logits(patches, sentence.expand(2, 1, 32), grid, 0.1)
        both = head.logits(patches, sentence.expand(2, 1, 32), grid, 0.1, head.voxel_features(x))
    up = torch.nn.functional.interpolate(coarse.view(2, 1, *grid), size=(16, 16, 16), mode="trilinear")
    assert both.shape == (2, 1, 16**3) and torch.allclose(both, up.view(2, 1, -1))
    hits = _trained_hits(head, sentence, grid, volumes, 100, 1e-2, [obj.region_loss], tests=32)
    assert hits >= 0.9  # chance 1 / 4096


def _trained_hits(head, sentence, grid, volumes, steps, lr, terms, tests=64) -> float:
    """Train ``head`` (Adam at ``lr``) on batches of 8 from ``volumes`` (b -> volume, patches,
    masks, spot) with the sum of ``terms`` (maps, masks -> loss); the share of ``tests`` new
    volumes whose map peaks on the spot."""
    def maps(x, patches):
        return head.logits(patches, sentence.expand(len(x), 1, -1), grid, 0.1, head.voxel_features(x))[:, 0]

    optimiser = torch.optim.Adam(head.parameters(), lr)
    for _ in range(steps):
        x, patches, masks, _ = volumes(8)
        loss = sum(term(maps(x, patches), masks) for term in terms)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        x, patches, _, where = volumes(tests)
        return (maps(x, patches).argmax(-1) == where).float().mean().item()


def test_voxel_windows_clip_and_stretch_the_input():
    """Each window is the input clipped to (low, high) and stretched onto [0, 1]; the windows are not
    weights (a checkpoint's tensors are the same with or without them)."""
    head = GroundingHead((8,), 32, 32, voxels=4, windows=((0.0, 1.0), (0.0, 0.15), (0.42, 0.62)))
    x = torch.tensor([0.0, 0.0175, 0.07, 0.52, 0.9]).view(1, 1, 1, 1, 5)
    seen = []
    head.voxel.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    head.voxel_features(x)
    expected = [[0.0, 0.0175, 0.07, 0.52, 0.9], [0.0, 0.1167, 0.4667, 1.0, 1.0], [0.0, 0.0, 0.0, 0.5, 1.0]]
    assert seen[0].shape == (1, 3, 1, 1, 5)
    assert torch.allclose(seen[0].view(3, 5), torch.tensor(expected), atol=1e-4)
    plain = GroundingHead((8,), 32, 32, voxels=4)
    assert {k: v.shape for k, v in head.state_dict().items() if k != "voxel.0.weight"} == {
        k: v.shape for k, v in plain.state_dict().items() if k != "voxel.0.weight"}
    assert head.state_dict()["voxel.0.weight"].shape == (4, 3, 3, 3, 3)


def test_mg3d_tiny_windows_are_the_documented_hu_windows():
    """The config holds the windows in the input's units; on its profile's HU window they are the
    whole range, lung, soft tissue and bone (docs/method.md); a window with low >= high is refused."""
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.model.config import get_config

    config = get_config("mg3d-tiny")
    low, high = get_profile(config.profile).window
    hu = [[round(low + v * (high - low)) for v in w] for w in config.grounding_windows]
    assert hu == [[-1000, 1000], [-1000, -700], [-160, 240], [300, 1000]]
    with pytest.raises(ValueError, match="low < high"):
        GroundingHead((8,), 32, 32, voxels=4, windows=((0.2, 0.1),))


def _faint_spot_hits(windows, steps: int = 120) -> float:
    """Train a voxel path on one-voxel masks of a faint spot (-965 HU in lung at -860 HU, noise 12
    HU, beside air, soft tissue and bone; the synthetic-tiny profile's window, -1000..1000 HU onto
    [0, 1]) at the learning bench's rate; its peaks' hit rate on new volumes."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    head = GroundingHead((8,), 32, 32, voxels=8, windows=windows)
    sentence = torch.randn(1, 1, 32, generator=gen)
    grid = (4, 4, 4)

    def volumes(b):
        x = torch.full((b, 1, 16, 16, 16), _hu(-860.0))
        x[..., :4] = _hu(-1000.0)
        x[..., 12:] = _hu(40.0)
        x[..., :2, :] = _hu(700.0)
        where = torch.randint(0, 16**2, (b,), generator=gen) * 16 + torch.randint(5, 11, (b,), generator=gen)
        x.view(b, -1)[torch.arange(b), where] = _hu(-965.0)
        x = x + torch.randn(x.shape, generator=gen) * 12.0 / 2000.0
        masks = torch.zeros(b, 16**3)
        masks[torch.arange(b), where] = 1.0
        return x, head.patches([torch.randn(b, 8, *grid, generator=gen)]), masks, where

    return _trained_hits(head, sentence, grid, volumes, steps, 3e-3, [obj.region_loss, obj.peak_loss])


def _hu(value: float) -> float:
    return (value + 1000.0) / 2000.0


def test_intensity_windows_let_the_voxel_path_find_a_faint_spot_sooner():
    """Through lung, soft-tissue and bone windows the spot is a third of a channel's range from the
    lung around it (a twentieth of the raw input's): the path learns it in steps the raw input
    needs several times over (chance 1 / 4096)."""
    windows = ((0.0, 1.0), (_hu(-1000), _hu(-700)), (_hu(-160), _hu(240)), (_hu(300), 1.0))
    assert _faint_spot_hits(windows) >= 0.9
    assert _faint_spot_hits(()) <= 0.6


def test_the_module_pairs_sentences_with_the_masks_of_what_they_name():
    cases = [make_case(i, shape=(8, 8, 8)) for i in range(3)]
    module = PretrainModule({"model": "mg3d-tiny"})
    assert module.wants_regions
    inputs = module.report_inputs()
    masks = [{CT_RATE_LABEL[f]: m.astype("float32") for f, m in c.findings.items()} for c in cases]
    items = []
    for case, mask in zip(cases, masks):
        text = inputs(case.report)
        slots, found = sentence_regions(text["named"], module.labels, mask, (8, 8, 8))
        expected = []
        for k, row in enumerate(text["named"]):
            names = [module.labels[j] for j in row.nonzero()[0] if module.labels[j] in mask]
            union = np.max([mask[n] for n in names], 0) if names else None
            if names and union.sum() > 0:  # a mask too small for this grid is no target
                expected.append((k, union))
        assert slots == [k for k, _ in expected]
        assert all(np.array_equal(f, e) for f, (_, e) in zip(found, expected))
        up = torch.nn.functional.interpolate(torch.from_numpy(found)[None], size=(64, 64, 64))[0].numpy() \
            if len(found) else np.zeros((0, 64, 64, 64), np.float32)
        items.append({"id": str(len(items)), "index": len(items), "volume": np.random.rand(1, 64, 64, 64).astype(np.float32),
                      "report": case.report, "labels": {}, "text": text, "region_slots": slots, "region_masks": up})
    none = sentence_regions(inputs(cases[0].report)["named"], module.labels, {}, (8, 8, 8))
    assert none[0] == [] and none[1].shape == (0, 8, 8, 8)
    batch = collate(items)
    assert batch["region_slots"].tolist() == [[i, k] for i, it in enumerate(items) for k in it["region_slots"]]
    assert len(batch["region_slots"]) and module.regions(batch, (64, 64, 64))[1].shape[1:] == (64, 64, 64)
    model = module.model.train()
    model.zero_grad()
    losses = module.losses(batch, step=0)
    (losses["regions"] + losses["peaks"]).backward()
    assert torch.isfinite(losses["regions"]) and losses["regions"] > 0 and torch.isfinite(losses["peaks"])
    assert model.grounding_head.voxel_query.weight.grad.abs().sum() > 0  # the voxel path learns from it
    assert model.vision_encoder.patch_embed.proj.weight.grad.abs().sum() > 0  # and the patches
    off = {"loss_weights.regions": 0.0, "loss_weights.peaks": 0.0}
    assert not PretrainModule({"model": "mg3d-tiny", "model_overrides": off}).wants_regions
