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


def test_measure_scores_outlines_against_the_held_out_masks(tmp_path, monkeypatch):
    """Maps equal to each finding's mask give outlines of Dice near 1 and ml near the mask's; the
    same maps moved half the grid away give much lower Dice. (The maps are stand-ins: what is
    measured is the outline rule and the bookkeeping, over real synthetic cases and masks.)"""
    import napari_mg3d.io.volume as volume_module
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.inference import attention, outline_quality
    from napari_mg3d.io.manifest import read_manifest

    manifest = write_synthetic(tmp_path, 6, seed=2, shape=(32, 64, 64), supervision="findings", split="val")
    cases = [c for c in read_manifest(manifest) if c.regions]
    masks = {str(c.volume): {label: volume_module.read_volume(p).array > 0 for label, p in c.regions.items()}
             for c in cases}
    state = {"volume": None, "shift": 0}
    original = volume_module.read_volume

    def reading(path):
        if str(path) in masks:
            state["volume"] = str(path)
        return original(path)

    class Map:
        def __init__(self, text):
            self.text = text

    def grid(amap, volume, profile):  # where every finding the sentence states is
        from napari_mg3d.knowledge.labels import label_report

        stated = [m for label, m in masks[state["volume"]].items() if label_report(amap.text).get(label) == 1]
        mask = np.any(stated, axis=0) if stated else np.zeros(volume.array.shape, bool)
        return np.roll(mask, state["shift"], axis=2).astype(np.float32)

    class Model(torch_module()):
        pass

    monkeypatch.setattr(volume_module, "read_volume", reading)
    monkeypatch.setattr(attention, "sentence_maps", lambda model, x, report: [Map(s) for s in report.split(". ")])
    monkeypatch.setattr(attention, "on_volume_grid", grid)
    profile = get_profile("synthetic-tiny")
    right = outline_quality.measure(Model(), profile, cases)
    state["shift"] = 32
    moved = outline_quality.measure(Model(), profile, cases)
    assert len(right) >= 4 and right.keys() == moved.keys()
    # the median: a sentence of aortic plaques that the labeller also reads as coronary is outlined as both
    assert np.median([q["dice"] for q in right.values()]) > 0.9
    assert np.median([q["ml_error"] for q in right.values()]) < 0.25
    assert np.mean([q["dice"] for q in moved.values()]) < np.mean([q["dice"] for q in right.values()]) - 0.4


def torch_module():
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

    return Tiny
