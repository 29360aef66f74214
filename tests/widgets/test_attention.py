import numpy as np
import pytest

from napari_mg3d.widgets.case import SENTENCE_ROLE, CaseWidget


def _items(widget):
    items = [widget.sentence_list.item(i) for i in range(widget.sentence_list.count())]
    return [it for it in items if it.data(SENTENCE_ROLE) is not None]


def test_clicking_sentences_adds_heatmaps_over_the_volume(loaded_session, qtbot, wait_task):
    viewer, _ = loaded_session
    image = viewer.layers[0]
    case = CaseWidget(viewer)
    qtbot.addWidget(case)
    case.keep.setChecked(True)
    first, second = _items(case)[:2]
    case.sentence_list.setCurrentItem(first)
    wait_task(case)
    name = f"attention: {first.text()}"
    assert name in viewer.layers
    heat = viewer.layers[name]
    assert heat.data.shape == image.data.shape and heat.data.dtype == np.float32
    np.testing.assert_allclose(heat.scale, image.scale)
    np.testing.assert_allclose(heat.translate, image.translate)
    assert heat.colormap.name == "inferno" and heat.blending == "additive"
    assert heat.metadata["mg3d_kind"] == "attention" and heat.metadata["text"] == first.text()
    assert case.layer_box.currentText() == image.name  # the heatmap is not taken for a new case
    # beside it, the sentence's finding outlined: a labels layer on the volume's grid, its ml shown
    shape = viewer.layers[f"outline: {first.text()}"]
    assert shape._type_string == "labels" and shape.visible and shape.data.shape == image.data.shape
    np.testing.assert_allclose(shape.scale, image.scale)
    np.testing.assert_allclose(shape.translate, image.translate)
    voxels = int((shape.data == 1).sum())
    assert voxels > 0 and set(np.unique(shape.data)) == {0, 1}
    from napari_mg3d.inference.outline import body_mask
    from napari_mg3d.plugin.layers import layer_volume

    body = body_mask(layer_volume(image))
    assert not (shape.data.astype(bool) & ~body).any()  # in the body, around the map's peak there
    assert shape.data[np.unravel_index(int(np.argmax(np.where(body, heat.data, -1))), body.shape)] == 1
    ml = voxels * float(np.prod(image.scale)) / 1000
    assert shape.metadata["ml"] == pytest.approx(ml, abs=0.01) and shape.metadata["mg3d_kind"] == "outline"
    # this test model's outlines were never measured against finding masks: no volume shown, and why
    text = case.outline_info.text()
    assert text.startswith("Outlined: ") and " ml" not in text and "no volume" in text
    from napari_mg3d.widgets.case import outline_line

    # a model whose effusion outlines were good on held-out masks shows the ml
    good = type("L", (), {"outline_quality": {"Pleural effusion": {"cases": 5, "dice": 0.7, "ml_error": 0.2}}})()
    shape_of = type("S", (), {"mask": shape.data.astype(bool), "ml": ml, "place": "right"})()
    assert outline_line(good, shape_of, "Right pleural effusion.") == f"Outlined: {ml:.1f} ml · right"
    assert "no volume" in outline_line(good, shape_of, "Mild cardiomegaly.")  # not measured for that one
    # an outline the image rule left empty says so, not that the map is flat
    from napari_mg3d.inference.outline import EMPTY_IMAGE

    empty = type("S", (), {"mask": np.zeros_like(shape_of.mask), "ml": 0.0, "place": "-", "empty_because": EMPTY_IMAGE})()
    assert outline_line(good, empty, "Right pleural effusion.") == f"Outlined: nothing ({EMPTY_IMAGE})"
    # a Grad-CAM map is not what was measured: no volume, whatever the model's own maps earned
    assert "Grad-CAM" in outline_line(good, shape_of, "Right pleural effusion.", refined=True)
    # the view moved to the slice of the heatmap's peak
    peak = heat.metadata["peak_index_zyx"]
    assert abs(viewer.dims.point[0] - heat.data_to_world(peak)[0]) < 1e-3
    # the report's maps were computed once: the next sentence comes from the cache, at once
    case.sentence_list.setCurrentItem(second)
    assert not case.taskbar.busy() and f"attention: {second.text()}" in viewer.layers
    assert not np.array_equal(viewer.layers[f"attention: {second.text()}"].data, heat.data)
    # clicking the first again updates its layer rather than adding another
    count = len(viewer.layers)
    case.sentence_list.setCurrentItem(first)
    assert len(viewer.layers) == count


def test_a_typed_phrase_gets_its_own_heatmap(loaded_session, qtbot, wait_task):
    viewer, _ = loaded_session
    case = CaseWidget(viewer)
    qtbot.addWidget(case)
    case.phrase.setText("right pleural effusion")
    case.phrase_button.click()
    wait_task(case)
    layer = viewer.layers["attention: right pleural effusion"]
    assert layer.data.shape == viewer.layers[0].data.shape and layer.metadata["attention_source"] == "typed"


def test_without_a_model_a_click_asks_for_one(make_napari_viewer, case_file, qtbot, monkeypatch):
    import napari.utils.notifications as notifications

    said = []
    monkeypatch.setattr(notifications, "show_info", said.append)
    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    case = CaseWidget(viewer)
    qtbot.addWidget(case)
    case.sentence_list.setCurrentItem(_items(case)[0])
    assert len(viewer.layers) == 1 and "Load a model" in said[0]


def test_without_keep_one_heatmap_layer_follows_the_clicked_sentence(loaded_session, qtbot, wait_task):
    viewer, _ = loaded_session
    case = CaseWidget(viewer)
    qtbot.addWidget(case)
    assert not case.keep.isChecked()
    first, second = _items(case)[:2]
    case.sentence_list.setCurrentItem(first)
    wait_task(case)
    heat = viewer.layers[f"attention: {first.text()}"]
    data = heat.data
    case.sentence_list.setCurrentItem(second)
    # the volume, its one heatmap layer and its one outline layer, both following the sentence
    assert len(viewer.layers) == 3 and heat.name == f"attention: {second.text()}"
    assert f"outline: {second.text()}" in viewer.layers and f"outline: {first.text()}" not in viewer.layers
    assert heat.metadata["text"] == second.text() and not np.array_equal(heat.data, data)
