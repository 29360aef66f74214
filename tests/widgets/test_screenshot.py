"""What the viewer draws: a heatmap layer over a volume lands where the synthetic finding is (the
finding's own mask, opened from its file, drawn by napari as labels, is the reference)."""

import numpy as np


def _canvas(viewer, qtbot):
    qtbot.wait(50)
    return viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)


def test_heatmap_is_drawn_over_the_finding_and_not_black(make_napari_viewer, tmp_path, qtbot):
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.io.volume import read_volume
    from napari_mg3d.widgets.heatmap import add_heatmap
    import csv
    import json

    manifest = write_synthetic(tmp_path / "synth", 1, seed=4, shape=(32, 96, 96), split="test")
    row = next(csv.DictReader(manifest.open()))
    findings = json.loads(row["findings"])
    name = next(f for f in ("pleural_effusion", "consolidation", "nodule") if f in findings)
    mask_path = manifest.parent / findings[name]["mask"]
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(900, 800)
    image = viewer.open(manifest.parent / row["volume"], plugin="napari-mg3d")[0]
    from napari_mg3d.plugin.layers import labels_layer

    finding = read_volume(mask_path)  # the mask with its own geometry, from its file
    data, kwargs, _ = labels_layer(finding.array, finding.geometry, "finding mask")
    mask = viewer.add_labels(data, **kwargs)
    heat = finding.array.astype(np.float32)
    layer = add_heatmap(viewer, image, heat, "the finding")
    assert [la._type_string for la in viewer.layers] == ["image", "labels", "image"]
    # the view moved to the finding's slice; compare what each layer draws there
    z = int(np.argmax(heat.sum((1, 2)))) if heat[layer.metadata["peak_index_zyx"][0]].sum() == 0 else None
    if z is not None:
        viewer.dims.set_point(0, float(image.data_to_world([z, 0, 0])[0]))
    viewer.reset_view()
    with_all = _canvas(viewer, qtbot)
    assert with_all.mean() > 10 and with_all.std() > 10  # not black
    image.visible, mask.visible = False, False
    heat_only = _canvas(viewer, qtbot).sum(-1) > 30
    layer.visible, mask.visible = False, True
    mask_only = _canvas(viewer, qtbot).sum(-1) > 30
    assert 0 < heat_only.mean() < 0.5 and mask_only.any()
    overlap = (heat_only & mask_only).sum() / (heat_only | mask_only).sum()
    assert overlap > 0.7, f"the heatmap and the finding overlap only {overlap:.2f}"
