import torch

from napari_mg3d.train.calibrate import calibrate_alignment


def test_calibration_sets_the_exact_mean_and_variance(tmp_path):
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.model.factory import create_model

    manifest = write_synthetic(tmp_path / "s", 5, seed=4, shape=(16, 32, 32), split="train")
    data = CaseDataset(manifest, "synthetic-tiny", split="train", cache_dir=tmp_path / "cache")
    model = create_model("mg3d-tiny", device="cpu")
    assert calibrate_alignment(model, data, cases=4, batch_size=3) == 4
    from napari_mg3d.data.dataset import collate

    batch = collate([data[i] for i in range(4)])
    with torch.no_grad():
        images = model.image_vector(batch["volume"])
        reports = model.report_vector_of(model.tokenize(batch["report"]))
    head = model.itc_head
    assert torch.allclose(head.vision_center.running_mean, images.mean(0), atol=1e-5)
    assert torch.allclose(head.language_center.running_var, reports.var(0, unbiased=True), rtol=1e-3, atol=1e-7)
    # the model's mode is kept (here: training, as created) and the momentum restored
    assert head.vision_center.training and model.training and head.vision_center.momentum == 0.05


def test_logistic_fit_recovers_known_weights_and_stays_finite_on_separable_data():
    from napari_mg3d.train.calibrate import logistic_fit

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 2, generator=gen)
    y = (torch.rand(4000, generator=gen) < torch.sigmoid(x @ torch.tensor([2.0, -1.0]) + 0.5)).float()
    w = logistic_fit(x, y, l2=0.0)
    assert torch.allclose(w, torch.tensor([2.0, -1.0, 0.5]), atol=0.15), w
    separable = logistic_fit(x, (x[:, 0] > 0).float())
    assert torch.isfinite(separable).all() and separable[0] > 1 and abs(separable[1]) < separable[0]


def test_findings_calibration_weighs_what_a_grounding_head_finds(tmp_path):
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.calibrate import calibrate_findings, finding_scores

    manifest = write_synthetic(tmp_path / "s", 6, seed=4, shape=(16, 32, 32), split="train")
    data = CaseDataset(manifest, "synthetic-tiny", split="train", cache_dir=tmp_path / "cache")
    prompts = default_prompts()
    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu")
    calibration = calibrate_findings(model, data, prompts)
    assert model.training  # the model's mode is kept
    _, grounded, stated = finding_scores(model.eval(), data, prompts)
    assert grounded.shape == (6, len(prompts), 2) and stated.shape == (6, len(prompts))
    # weights of the global log-odds, the maps' log mean exp and maximum, and a bias, for each label
    # that some but not all reports state; none for the others
    mixed = {p.label for j, p in enumerate(prompts) if 0 < stated[:, j].sum() < 6}
    assert mixed and set(calibration) == mixed and all(len(w) == 4 for w in calibration.values())
    assert calibrate_findings(create_model("mg3d-tiny", device="cpu", grounding=False), data, prompts) == {}
