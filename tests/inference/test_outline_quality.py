"""An outline's volume is shown only where the model earned it on held-out finding masks."""

from __future__ import annotations

import numpy as np


def test_the_rule_shows_ml_only_for_measured_good_outlines():
    from napari_mg3d.inference.outline_quality import earned, named_label, shown_volume

    quality = {"Pleural effusion": {"cases": 9, "dice": 0.62, "ml_error": 0.21},
               "Cardiomegaly": {"cases": 9, "dice": 0.52, "ml_error": 1.48},  # overlaps, but 2.5x too big
               "Lung nodule": {"cases": 2, "dice": 0.9, "ml_error": 0.1}}  # too few cases to say
    assert named_label("Right pleural effusion is present.") == "Pleural effusion"
    assert shown_volume(quality, "Right pleural effusion is present.", 412.0) == (412.0, "")
    ml, why = shown_volume(quality, "The heart is enlarged (cardiomegaly).", 1317.6)
    assert ml is None and "Dice 0.52" in why and "148%" in why
    assert earned(quality, "Lung nodule")[0] is False and "never measured" in earned(quality, "Lung nodule")[1]
    assert earned(None, "Pleural effusion")[0] is False  # a model never measured earns no volume
    assert earned(quality, named_label("Bones are intact."))[0] is False


def stand_in_maps(tmp_path, monkeypatch, heat_of, n=6, cut=None):
    """Real synthetic cases with finding masks; each sentence's map made by ``heat_of(mask)`` from
    the masks of the findings it states (stand-ins for a model's maps: what is measured is the
    outline rule, the levels and the bookkeeping); ``cut``: each map's own (``AttentionMap.cut``)."""
    import napari_mg3d.io.volume as volume_module
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.inference import attention
    from napari_mg3d.io.manifest import read_manifest

    manifest = write_synthetic(tmp_path, n, seed=2, shape=(32, 64, 64), supervision="findings", split="val")
    cases = [c for c in read_manifest(manifest) if c.regions]
    masks = {str(c.volume): {label: volume_module.read_volume(p).array > 0 for label, p in c.regions.items()}
             for c in cases}
    state = {"volume": None}
    original = volume_module.read_volume

    def reading(path):
        if str(path) in masks:
            state["volume"] = str(path)
        return original(path)

    class Map:  # an AttentionMap (no cut of its own: a model without the outline term)
        def __init__(self, text):
            self.text = text
            self.cut = cut

    def grid(amap, volume, profile):  # from where every finding the sentence states is
        from napari_mg3d.knowledge.labels import label_report

        stated = [m for label, m in masks[state["volume"]].items() if label_report(amap.text).get(label) == 1]
        mask = np.any(stated, axis=0) if stated else np.zeros(volume.array.shape, bool)
        return heat_of(mask).astype(np.float32)

    monkeypatch.setattr(volume_module, "read_volume", reading)
    monkeypatch.setattr(attention, "sentence_maps", lambda model, x, report: [Map(s) for s in report.split(". ")])
    monkeypatch.setattr(attention, "on_volume_grid", grid)
    return cases


def test_measure_scores_outlines_against_the_held_out_masks(tmp_path, monkeypatch):
    """Maps equal to each finding's mask give outlines of Dice near 1 and ml near the mask's; the
    same maps moved half the grid away give much lower Dice."""
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference import outline_quality

    shift = {"x": 0}
    cases = stand_in_maps(tmp_path, monkeypatch, lambda mask: np.roll(mask, shift["x"], axis=2))
    profile = get_profile("synthetic-tiny")
    right = outline_quality.measure(torch_module()(), profile, cases)
    shift["x"] = 32
    moved = outline_quality.measure(torch_module()(), profile, cases)
    assert len(right) >= 4 and right.keys() == moved.keys()
    # the median: a sentence of aortic plaques that the labeller also reads as coronary is outlined as both
    assert np.median([q["dice"] for q in right.values()]) > 0.9
    assert np.median([q["ml_error"] for q in right.values()]) < 0.25
    assert np.mean([q["dice"] for q in moved.values()]) < np.mean([q["dice"] for q in right.values()]) - 0.4


def test_measure_outlines_at_the_maps_own_cuts_only_when_told_the_checkpoint_trained_them(tmp_path, monkeypatch):
    """Maps equal to the masks, each with a cut above every value (an untrained offset): at their
    cuts they outline nothing; told not to trust the cuts (``cuts=False``, as ``mg3d pretrain``
    does when no training case had finding masks), the relative rule outlines the findings."""
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference import outline_quality

    cases = stand_in_maps(tmp_path, monkeypatch, lambda mask: mask.astype(np.float32), cut=2.0)
    profile = get_profile("synthetic-tiny")
    at_cuts = outline_quality.measure(torch_module()(), profile, cases)
    relative = outline_quality.measure(torch_module()(), profile, cases, cuts=False)
    assert len(at_cuts) >= 4 and at_cuts.keys() == relative.keys()
    assert all(q["dice"] == 0.0 for q in at_cuts.values())
    assert np.median([q["dice"] for q in relative.values()]) > 0.9


def test_levels_chosen_on_training_cases_fit_maps_that_fall_off_slowly(tmp_path, monkeypatch):
    """Maps that fall off smoothly around the finding (its mask blurred, 2 voxels): the default
    level (1% of the peak) outlines far too much; the levels a run chooses on its training cases
    outline the findings closer, in overlap and in ml, and the viewer's outlines use them."""
    from scipy.ndimage import gaussian_filter

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference import outline_quality
    from napari_mg3d.inference.outline import FRACTION, level_for

    cases = stand_in_maps(tmp_path, monkeypatch, lambda mask: gaussian_filter(mask.astype(np.float32), 2.0), n=24)
    profile = get_profile("synthetic-tiny")
    model = torch_module()()
    train, held_out = cases[: len(cases) // 2], cases[len(cases) // 2:]  # chosen on some, measured on others
    levels = outline_quality.choose_levels(model, profile, train)
    assert len(levels) >= 3 and all(level in outline_quality.LEVELS for level in levels.values())
    assert np.median(list(levels.values())) >= 0.1
    default = outline_quality.measure(model, profile, held_out)
    chosen = outline_quality.measure(model, profile, held_out, levels=levels)
    assert chosen.keys() == default.keys()
    measured = [label for label in levels if label in chosen]
    assert len(measured) >= 3
    mean = lambda q, key: np.mean([q[k][key] for k in measured])  # noqa: E731
    assert mean(chosen, "dice") > mean(default, "dice") + 0.2
    assert mean(chosen, "ml_error") < mean(default, "ml_error") / 4
    # a sentence is outlined at the level of the finding it names; others, and a model without levels, at the default
    said = "There is consolidation in the right lower lobe."
    assert level_for(levels, said) == levels["Consolidation"] != FRACTION
    assert level_for(levels, "Bones are intact.") == FRACTION == level_for(None, said)


def torch_module():
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

    return Tiny


def test_levels_chosen_and_measured_for_the_outline_taken_on_to_the_image(tmp_path, monkeypatch):
    """Maps as a grid twice as coarse would give them (each mask blurred by two voxels and moved by
    one): levels chosen for the image rule on training cases and measured by it on held-out ones
    outline the findings closer than the map's own rule chosen and measured alike."""
    from scipy.ndimage import gaussian_filter, shift

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference import outline_quality
    from napari_mg3d.inference.outline import IMAGE_RULE

    cases = stand_in_maps(tmp_path, monkeypatch,
                          lambda mask: shift(gaussian_filter(mask.astype(np.float32), 2.0), (0, 1, 1), order=1), n=24)
    profile = get_profile("synthetic-tiny")
    model = torch_module()()
    train, held_out = cases[: len(cases) // 2], cases[len(cases) // 2:]
    measured = {}
    for rule in ("map", IMAGE_RULE):
        levels = outline_quality.choose_levels(model, profile, train, rule=rule)
        measured[rule] = outline_quality.measure(model, profile, held_out, levels=levels, rule=rule)
    both = sorted(set(measured["map"]) & set(measured[IMAGE_RULE]))
    assert len(both) >= 4
    mean = {rule: np.mean([q[label]["dice"] for label in both]) for rule, q in measured.items()}
    assert mean[IMAGE_RULE] > mean["map"] + 0.05
