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


def test_the_temperature_undoes_overconfidence_and_never_sharpens():
    from napari_mg3d.train.calibrate import fit_scale

    g = torch.Generator().manual_seed(0)
    z = torch.randn(20000, generator=g) * 2
    y = (torch.rand(20000, generator=g) < torch.sigmoid(z)).float()
    assert abs(fit_scale(3 * z, y) - 1 / 3) < 0.02  # three times too sure: a temperature of 3
    assert fit_scale(z, y) > 0.95
    assert fit_scale(0.5 * z, y) == 1.0  # too unsure: left as it is


def test_findings_are_tempered_on_validation_cases(tmp_path):
    from napari_mg3d.data.dataset import CaseDataset
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.inference.zeroshot import combined_log_odds
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.calibrate import MIN_TEMPERATURE_CASES, calibrate_findings, finding_scores, \
        temper_findings

    n = MIN_TEMPERATURE_CASES
    train = CaseDataset(write_synthetic(tmp_path / "t", n, seed=4, shape=(16, 32, 32), split="train"),
                        "synthetic-tiny", cache_dir=tmp_path / "cache")
    val = CaseDataset(write_synthetic(tmp_path / "v", n, seed=5, shape=(16, 32, 32), split="val"),
                      "synthetic-tiny", cache_dir=tmp_path / "cache")
    prompts = default_prompts()
    labels = [p.label for p in prompts]
    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    calibration = calibrate_findings(model, train, prompts)
    tempered, record = temper_findings(model, val, prompts, calibration)
    assert record["cases"] == n and record["temperature"] >= 1.0 and set(tempered) == set(calibration)
    scores, grounded, stated = finding_scores(model, val, prompts)
    known = [j for j, label in enumerate(labels) if label in calibration]
    before = combined_log_odds(scores, grounded, labels, calibration)[:, known]
    after = combined_log_odds(scores, grounded, labels, tempered)[:, known]
    assert torch.allclose(after, before / record["temperature"], atol=1e-3)
    # on the cases it was fit to, the tempered log-loss is no worse (the scale 1 is among its choices)
    loss = torch.nn.functional.binary_cross_entropy_with_logits
    assert loss(after, stated[:, known]) <= loss(before, stated[:, known]) + 1e-6
    few = CaseDataset(None, "synthetic-tiny", cache_dir=tmp_path / "cache", cases=val.cases[: n - 1])
    assert temper_findings(model, few, prompts, calibration) == (calibration, None)
