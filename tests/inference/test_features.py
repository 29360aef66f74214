"""One case, one encode: attention maps, findings and the embedding read from a case's features
(``inference.features``) equal the separate calls that each encode the volume, the vision encoder
runs once per case, and the label prompts are embedded once per loaded model."""

import numpy as np
import pytest
import torch

from napari_mg3d.knowledge.prompts import PromptSet

REPORT = ("Findings: There is a small right pleural effusion. A 6 mm nodule in the left upper lobe. "
          "The heart is enlarged. Impression: Right pleural effusion.")
SETS = [PromptSet("Effusion", ("Pleural effusion.", "There is fluid in the pleural space."), ("No effusion.",)),
        PromptSet("Nodule", ("A lung nodule.",), ("No nodule.",)),
        PromptSet("Cardiomegaly", ("The heart is enlarged.",), ("Normal heart size.",))]
CALIBRATION = {"Nodule": [0.5, 1.0, 0.4, -2.0], "Effusion": [1.0, 0.3, -0.2, 0.1]}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """(model, profile, two volumes): mg3d-tiny with a voxel path that counts (it starts at zero)."""
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.io.geometry import Geometry
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.io.writer import write_volume
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu").eval()
    with torch.no_grad():
        model.grounding_head.voxel_query.weight.normal_()
    folder = tmp_path_factory.mktemp("features")
    rng = np.random.default_rng(0)
    volumes = [read_volume(write_volume(folder / f"ct{i}.nii.gz", rng.integers(-1000, 400, (24, 32, 32)).astype(np.int16),
                                        Geometry.identity())) for i in range(2)]
    return model, get_profile("synthetic-tiny"), volumes


def _loaded(case, **kw):
    from napari_mg3d.inference.encode import Loaded

    model, profile, _ = case
    return Loaded(model, profile, None, calibration=CALIBRATION, **kw)


def _count(monkeypatch, obj, name):
    calls = []
    original = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


def test_maps_findings_and_embedding_from_features_equal_the_separate_calls(case):
    from napari_mg3d.inference.analysis import attention_maps, image_embedding, volume_embeddings, zeroshot
    from napari_mg3d.inference.attention import sentence_maps
    from napari_mg3d.inference.encode import model_input
    from napari_mg3d.inference.features import encode_case
    from napari_mg3d.inference.zeroshot import label_log_odds

    model, profile, (volume, _) = case
    loaded = _loaded(case)
    features = encode_case(loaded, volume)
    x = model_input(volume, profile)

    cached = attention_maps(loaded, volume, REPORT, ["pleural effusion"], features=features)
    separate = attention_maps(_loaded(case), volume, REPORT, ["pleural effusion"])
    assert len(cached) == len(separate) >= 4
    for (a, heat_a), (b, heat_b) in zip(cached, separate):
        assert (a.text, a.source, a.start, a.end) == (b.text, b.source, b.start, b.end)
        np.testing.assert_allclose(a.grid, b.grid, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(heat_a, heat_b, rtol=1e-5, atol=1e-7)
    refined = sentence_maps(model, None, REPORT, refine=True, features=features)
    for a, b in zip(refined, sentence_maps(model, x, REPORT, refine=True)):
        np.testing.assert_allclose(a.grid, b.grid, rtol=1e-4, atol=1e-6)

    # findings: against the training side's zero-shot, which encodes and embeds the prompts itself
    probabilities = zeroshot(loaded, volume, SETS, features)
    with torch.no_grad():
        reference = torch.sigmoid(label_log_odds(model, model.image_embedding(x), [x], SETS, CALIBRATION))[0]
    np.testing.assert_allclose([probabilities[p.label] for p in SETS], reference.numpy(), rtol=1e-5, atol=1e-6)
    assert probabilities == pytest.approx(zeroshot(_loaded(case), volume, SETS), rel=1e-5)

    embedding = image_embedding(loaded, volume, features)
    np.testing.assert_allclose(embedding, volume_embeddings(loaded, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(embedding, image_embedding(_loaded(case), volume), rtol=1e-5, atol=1e-6)


def test_the_encoder_runs_once_per_case_and_the_prompts_once_per_model(case, monkeypatch):
    from napari_mg3d.inference import zeroshot as zs
    from napari_mg3d.inference.analysis import attention_maps, findings, image_embedding
    from napari_mg3d.inference.features import encode_case

    model, _, volumes = case
    loaded = _loaded(case)
    encodes = _count(monkeypatch, model.vision_encoder, "forward")
    pairs = _count(monkeypatch, zs, "prompt_embeddings")
    phrases = _count(monkeypatch, zs, "phrase_vectors")
    for volume in volumes:
        features = encode_case(loaded, volume)
        attention_maps(loaded, volume, REPORT, ["pleural effusion"], features=features)
        findings(loaded, volume, SETS, features)
        findings(loaded, volume, SETS, features)
        image_embedding(loaded, volume, features)
    assert len(encodes) == 2  # one per case
    assert len(pairs) == 1 and len(phrases) == 1  # one per loaded model and prompt sets
    findings(loaded, volumes[0], SETS[:2], features)  # other prompt sets: embedded once more
    assert len(pairs) == 2
    # without features, each analysis encodes the volume itself (the prompts stay kept)
    attention_maps(loaded, volumes[0], REPORT)
    findings(loaded, volumes[0], SETS)
    assert len(encodes) == 4 and len(pairs) == 2
    # another model: its own prompt embeddings, and the features of the old one are refused
    from napari_mg3d.model.factory import create_model

    loaded.model = create_model("mg3d-tiny", device="cpu").eval()
    findings(loaded, volumes[0], SETS, encode_case(loaded, volumes[0]))
    assert len(pairs) == 3
    with pytest.raises(ValueError, match="another model"):
        findings(loaded, volumes[0], SETS, features)
