"""A sentence's finding outlined from its map: the rule, the volume in ml and the place."""

import numpy as np
import pytest

from napari_mg3d.inference.outline import FRACTION, body_mask, outline, outline_mask, place_of
from napari_mg3d.io.geometry import Geometry
from napari_mg3d.io.volume import Volume


def _softmax(logits):
    e = np.exp(logits - logits.max())
    return (e / e.sum()).astype(np.float32)


def _ball(shape, centre, radius):
    z, y, x = np.indices(shape)
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius ** 2


def test_the_rule_keeps_pieces_reaching_near_the_peak_and_drops_faint_ones():
    shape = (20, 40, 40)
    strong, second = _ball(shape, (10, 10, 10), 4), _ball(shape, (10, 30, 30), 3)
    faint = _ball(shape, (10, 10, 30), 3)
    # log-odds: the finding 8 above the rest, a second piece 7 above (a bilateral finding),
    # a faint one 3 above: above the outline's level (ln 100 = 4.6 below the peak) nowhere
    logits = 8.0 * strong + 7.0 * second + 3.0 * faint
    heat = _softmax(logits)
    mask = outline_mask(heat)
    assert np.array_equal(mask, strong | second)
    # a piece above the level that never comes within a tenth of the peak is left out
    logits = 8.0 * strong + 5.0 * faint  # 3 below the peak: above 1/100 of it, not 1/10
    assert np.array_equal(outline_mask(_softmax(logits)), strong)
    # a lower fraction (seeds at its square root, 0.045) takes it in
    assert np.array_equal(outline_mask(_softmax(logits), fraction=0.002), strong | faint)


def test_outside_the_body_nothing_is_outlined_and_a_flat_map_outlines_nothing():
    shape = (10, 20, 20)
    heat = _softmax(6.0 * _ball(shape, (5, 10, 10), 3))
    body = np.zeros(shape, bool)
    body[:, :, :10] = True
    mask = outline_mask(heat, body)
    assert mask.any() and not mask[:, :, 10:].any()
    assert not outline_mask(np.full(shape, 0.5, np.float32)).any()
    assert FRACTION == 0.01


def test_volume_in_ml_is_voxels_times_the_voxel_volume():
    shape = (10, 20, 20)
    geometry = Geometry((2.0, 2.0, 5.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    volume = Volume(np.zeros(shape, np.int16), geometry, "", "v", "MR")
    finding = _ball(shape, (5, 10, 10), 3)
    shape_ = outline(_softmax(8.0 * finding), volume, "a nodule")
    assert shape_.mask.sum() == finding.sum()
    assert shape_.ml == pytest.approx(finding.sum() * 20 / 1000)  # 2 x 2 x 5 mm^3 a voxel


def test_the_place_comes_from_the_words_else_from_the_outline_in_world_millimetres():
    shape = (10, 20, 40)
    mask = np.zeros(shape, bool)
    mask[4:6, 8:12, 4:10] = True  # low x indices
    lps = Geometry((1.0, 1.0, 1.0), (-20.0, 0.0, 0.0), tuple(np.eye(3).ravel()))  # x < 0: patient's right
    side, lobes, source, centroid = place_of("There is an opacity.", mask, lps)
    assert (side, lobes, source) == ("right", (), "outline") and centroid[0] < 0
    # stored the other way round (x index towards the patient's right): the same voxels are left
    flipped = Geometry((1.0, 1.0, 1.0), (20.0, 0.0, 0.0), tuple(np.diag([-1.0, 1.0, 1.0]).ravel()))
    assert place_of("There is an opacity.", mask, flipped)[0] == "left"
    # the midline is the body's, not the world's x = 0
    body = np.zeros(shape, bool)
    body[:, :, 0:14] = True  # the body's centre at x index 6.5: half the mask either side
    assert place_of("There is an opacity.", mask, lps, body)[0] == "both"
    # words win: lobes and side
    side, lobes, source, _ = place_of("Consolidation in the left lower lobe.", mask, lps)
    assert (side, lobes, source) == ("left", ("left lung lower lobe",), "words")
    assert place_of("Emphysema in both upper lobes.", mask, lps)[:3] == (
        "both", ("right lung upper lobe", "left lung upper lobe"), "words")
    assert place_of("Right pleural effusion.", mask, flipped)[0] == "right"


def test_a_smoothed_finding_map_outlines_the_finding_of_a_synthetic_case():
    from scipy.ndimage import gaussian_filter

    from napari_mg3d.data.synthetic import make_case

    case = make_case(3, findings=("pleural_effusion", "consolidation"), shape=(32, 64, 64))
    volume = Volume(case.image, case.geometry, "", "case", "CT")
    body = body_mask(volume)
    lungs = (case.organs == 1) | (case.organs == 2)
    # lungs inside (but where the phantom's lungs reach its skin, in front), the air around out
    assert body[lungs].mean() > 0.95 and not body[:, 0, 0].any() and not body[:, -1, -1].any()
    for name, finding in case.findings.items():
        # log-odds 10 on the finding, blurred by about a voxel: as a trained map falls off
        heat = _softmax(gaussian_filter(10.0 * finding.astype(np.float32), 1.0))
        shape_ = outline(heat, volume, "", body)
        dice = 2 * (shape_.mask & finding).sum() / (shape_.mask.sum() + finding.sum())
        assert dice > 0.8, name
        true_ml = finding.sum() * np.prod(case.geometry.spacing) / 1000
        assert abs(shape_.ml - true_ml) / true_ml < 0.35, name
        side = case.details[name].get("side") or case.details[name]["lobe"].split()[0]
        assert shape_.side == side and shape_.side_from == "outline", name


def test_a_level_in_means_outlines_a_map_with_a_sharp_peak_as_one_without():
    """Maps that fall off smoothly around a finding (balls of radius 3.5-4.5 voxels: one finding's
    sizes), half with one sharp peak on top (a voxel 5-30 times the finding's height, as a model's
    maps have): one level chosen on 20 maps and tried on 20 others. As a fraction of the peak it
    fits one kind and misses the other; as a multiple of the map's mean (``by_mean``, the "/mean"
    rules) it outlines both."""
    from scipy.ndimage import gaussian_filter

    from napari_mg3d.inference.outline import MAP_MEAN_RULE, MEAN_LEVEL, by_mean, level_for
    from napari_mg3d.inference.outline_quality import LEVELS, MEAN_LEVELS, dice

    draw = np.random.default_rng(0)
    shape = (24, 40, 40)

    def case():
        finding = _ball(shape, draw.integers(8, (16, 32, 32)), draw.uniform(3.5, 4.5))
        heat = gaussian_filter(finding.astype(np.float64), 1.0)
        if draw.random() < 0.5:
            inside = np.argwhere(finding)
            heat[tuple(inside[draw.integers(len(inside))])] += heat.max() * draw.uniform(5, 30)
        return (heat / heat.sum()).astype(np.float32), finding

    train, held_out = [case() for _ in range(20)], [case() for _ in range(20)]

    def best(levels, mean):
        def score(level, maps):
            return np.mean([dice(outline_mask(h, None, level, mean), t) for h, t in maps])

        level = levels[int(np.argmax([score(level, train) for level in levels]))]
        return score(level, held_out)

    of_peak, in_means = best(LEVELS, False), best(MEAN_LEVELS, True)
    assert in_means > 0.8 and in_means > of_peak + 0.1
    # the rules: which read levels in means, their defaults, and no rule but those
    assert by_mean(MAP_MEAN_RULE) and not by_mean("map+image")
    assert level_for(None, "a nodule", MAP_MEAN_RULE) == MEAN_LEVEL
    assert level_for(None, "a nodule") == FRACTION
    with pytest.raises(ValueError, match="unknown outline rule"):
        by_mean("map+mean")
