"""A model trained with the outline objective outlines each sentence at its own cut: the voxels
where the map's log-odds plus the sentence's outline offset reach 0; a checkpoint that did not train
the offset keeps the relative rule."""

import numpy as np
import torch

from napari_mg3d.inference.outline import body_mask, outline, outlines

REPORT = "There is a small right pleural effusion. A 6 mm nodule in the left upper lobe. The heart is enlarged."


def _model(offset_bias: float):
    from napari_mg3d.model.factory import create_model

    torch.manual_seed(0)
    model = create_model("mg3d-tiny", device="cpu", grounding_outline=True).eval()
    with torch.no_grad():
        model.grounding_head.voxel_query.weight.normal_()
        model.grounding_head.outline_weight.normal_(0, 0.05)
        model.grounding_head.outline_bias.fill_(offset_bias)
    return model


def _volume():
    from napari_mg3d.io.geometry import Geometry
    from napari_mg3d.io.volume import Volume

    rng = np.random.default_rng(0)
    array = rng.integers(-1000, 400, (64, 64, 64)).astype(np.int16)
    return Volume(array, Geometry((5.0, 5.0, 5.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel())), "", "ct", "CT")


def test_the_cut_is_where_the_log_odds_plus_the_offset_reach_zero():
    from napari_mg3d.inference.attention import sentence_maps
    from napari_mg3d.inference.encode import model_input
    from napari_mg3d.data.profiles import get_profile

    model = _model(-0.4)
    x = model_input(_volume(), get_profile("synthetic-tiny"))
    maps = sentence_maps(model, x, REPORT, ["pleural effusion"])
    assert len(maps) == 4 and all(m.cut is not None and m.cut > 0 for m in maps)
    with torch.no_grad():
        patches = model.grounding_head.patches(model.vision_encoder(x))
        voxels = model.grounding_voxels(x)
        batch = model.tokenize([REPORT])
        sents = model.sentences(model.text_tokens(batch.input_ids, batch.attention_mask), batch)[:, :3]
        logits = model.grounding_logits(patches, sents, voxels)[0]
        inside = (logits + model.grounding_head.outline_offset(sents[0], 0.1)[:, None] >= 0).numpy()
    for k in range(3):
        by_cut = maps[k].grid.ravel() >= maps[k].cut
        assert 0 < inside[k].sum() < inside[k].size  # a cut inside the map's range: a real test
        assert (by_cut != inside[k]).mean() < 1e-4  # float32 shares against float64 log-odds
    # Grad-CAM maps were not what the offset was trained on: no cut
    assert all(m.cut is None for m in sentence_maps(model, x, REPORT, refine=True))


def test_outlines_follow_the_cut_only_where_the_checkpoint_trained_the_offset():
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference.analysis import attention_maps
    from napari_mg3d.inference.encode import Loaded
    from napari_mg3d.model.capabilities import FUSION, GROUNDING, OUTLINES, VISION, Capabilities

    model, volume, profile = _model(-0.4), _volume(), get_profile("synthetic-tiny")
    trained = Loaded(model, profile, None, checkpoint="x", capabilities=Capabilities("ours", (VISION, FUSION, GROUNDING, OUTLINES)))
    untrained = Loaded(model, profile, None, checkpoint="x", capabilities=Capabilities("ours", (VISION, FUSION, GROUNDING)))
    with_cut, without = attention_maps(trained, volume, REPORT), attention_maps(untrained, volume, REPORT)
    assert all(m.cut is not None for m, _ in with_cut) and all(m.cut is None for m, _ in without)
    body = body_mask(volume)
    for (amap, heat), shape in zip(with_cut, outlines(with_cut, volume, {"Pleural effusion": 0.5})):
        assert np.array_equal(shape.mask, (heat >= amap.cut) & body)  # the cut, not the level
        assert shape.ml == shape.mask.sum() * 125 / 1000
    for (amap, heat), shape in zip(without, outlines(without, volume)):
        assert np.array_equal(shape.mask, outline(heat, volume, amap.text, body).mask)  # the relative rule
