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
