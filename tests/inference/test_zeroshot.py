import math

import torch

from napari_mg3d.inference.zeroshot import combined_log_odds, grounding_log_odds, phrase_vectors
from napari_mg3d.knowledge.prompts import PromptSet


def test_combined_log_odds_weigh_only_the_labels_the_calibration_knows():
    global_odds = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    # (cases, labels, [log mean exp, maximum])
    grounding = torch.tensor([[[4.0, 6.0], [1.0, 5.0]], [[-1.0, 2.0], [0.0, 0.5]]])
    calibration = {"B": [0.5, 2.0, 3.0, -1.0]}
    out = combined_log_odds(global_odds, grounding, ["A", "B"], calibration)
    assert torch.equal(out[:, 0], global_odds[:, 0])
    assert torch.allclose(out[:, 1], torch.tensor([0.5 * -2 + 2 * 1 + 3 * 5 - 1, 0.5 * 3 + 0 + 3 * 0.5 - 1]))
    # a calibration from before the maximum joined: [global, log mean exp, bias]
    old = combined_log_odds(global_odds, grounding, ["A", "B"], {"B": [0.5, 2.0, -1.0]})
    assert torch.allclose(old[:, 1], torch.tensor([0.5 * -2 + 2 * 1 - 1, 0.5 * 3 + 0 - 1]))
    assert torch.equal(combined_log_odds(global_odds, None, ["A", "B"], calibration), global_odds)
    assert torch.equal(combined_log_odds(global_odds, grounding, ["A", "B"], {}), global_odds)


def test_grounding_log_odds_pool_each_prompts_map_and_average_a_labels_prompts():
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    with torch.no_grad():  # a trained-looking voxel path (it starts at zero)
        model.grounding_head.voxel_query.weight.normal_()
    sets = [PromptSet("Effusion", ("Pleural effusion.", "There is fluid in the pleural space."), ("No effusion.",)),
            PromptSet("Nodule", ("A lung nodule.",), ("No nodule.",))]
    x = torch.rand(2, 1, 64, 64, 64)
    odds = grounding_log_odds(model, x, sets)
    assert odds.shape == (2, 2, 2)
    with torch.no_grad():
        vectors = phrase_vectors(model, ["Pleural effusion.", "There is fluid in the pleural space.", "A lung nodule."])
        x1 = x[1:]
        logits = model.grounding_logits(model.grounding_head.patches(model.vision_encoder(x1)), vectors[None],
                                        model.grounding_voxels(x1))[0]
    pooled = torch.logsumexp(logits, -1) - math.log(64**3)
    assert torch.allclose(odds[1, :, 0], torch.stack([pooled[:2].mean(), pooled[2]]), atol=1e-4)
    peak = logits.max(-1).values
    assert torch.allclose(odds[1, :, 1], torch.stack([peak[:2].mean(), peak[2]]), atol=1e-4)
    assert (odds[..., 1] >= odds[..., 0]).all()  # a maximum is never below a mean
    assert not torch.allclose(odds[0], odds[1])  # each volume its own


def test_zeroshot_of_a_calibrated_checkpoint_joins_the_grounding_heads_findings(tmp_path):
    import numpy as np

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference.analysis import zeroshot
    from napari_mg3d.inference.encode import Loaded, model_input
    from napari_mg3d.io.geometry import Geometry
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.io.writer import write_volume
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    profile = get_profile("synthetic-tiny")
    path = write_volume(tmp_path / "ct.nii.gz", np.random.default_rng(0).integers(-1000, 400, (24, 32, 32)).astype(np.int16),
                        Geometry.identity())
    volume = read_volume(path)
    sets = [PromptSet("Effusion", ("Pleural effusion.",), ("No effusion.",)), PromptSet("Nodule", ("A nodule.",), ("No nodule.",))]
    plain = zeroshot(Loaded(model, profile, None), volume, sets)
    calibrated = zeroshot(Loaded(model, profile, None, calibration={"Nodule": [0.0, 1.0, 0.5, -2.0]}), volume, sets)
    grounding = grounding_log_odds(model, model_input(volume, profile), sets)[0]
    assert calibrated["Effusion"] == plain["Effusion"]  # not calibrated: the global prompt pair alone
    expected = torch.sigmoid(grounding[1, 0] + 0.5 * grounding[1, 1] - 2.0).item()
    assert math.isclose(calibrated["Nodule"], expected, rel_tol=1e-5)


def test_the_calibration_line_says_how_the_probabilities_were_made():
    from napari_mg3d.inference.encode import NOT_RECORDED, Loaded

    def line(calibration, temperature, labels=None):
        return Loaded(None, None, None, "x.safetensors", capabilities=object(), calibration=calibration,
                      findings_temperature=temperature).calibration_line(labels)

    fitted = {"Lung nodule": [1.0, 0.5, 0.5, -1.0], "Emphysema": [1.0, 0.0, 0.0, 0.0]}
    assert line(None, None) == line({}, {"cases": 20, "temperature": 1.5}) == ""  # nothing calibrated
    assert line(fitted, {"cases": 20, "temperature": 1.5}) == (
        "findings calibrated on its training cases (2 labels), softened by temperature 1.50 fitted on 20 validation cases")
    assert line(fitted, None).endswith("no validation temperature (too few validation cases): they may be surer "
                                       "than they should be")
    assert line({"Emphysema": [1.0, 0.0, 0.0, 0.0]}, {"cases": 20, "temperature": 1.0}) == (
        "findings calibrated on its training cases (1 label); its 20 validation cases asked for no softening "
        "(temperature 1)")
    assert "made before runs fitted a validation temperature" in line(fitted, NOT_RECORDED)
    # a user's labels: only those the calibration knows are calibrated
    asked = ["Emphysema", "Rib fracture", "Pneumothorax"]
    assert line(fitted, {"cases": 20, "temperature": 1.5}, asked).startswith(
        "findings calibrated on its training cases (1 of these 3 labels), softened by temperature 1.50")
    assert line(fitted, {"cases": 20, "temperature": 1.5}, ["Rib fracture"]) == ""
