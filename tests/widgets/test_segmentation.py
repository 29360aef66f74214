import numpy as np

from napari_mg3d.widgets.segmentation import SegmentationWidget


def test_segment_gives_named_labels_on_the_volume_grid_and_exports_with_its_geometry(
        loaded_session, widget_data, qtbot, wait_task, tmp_path, case_file):
    from napari_mg3d.io.volume import read_volume

    viewer, _ = loaded_session
    widget = SegmentationWidget(viewer)
    qtbot.addWidget(widget)
    widget.path.setText(str(widget_data[3]))
    widget.run()
    wait_task(widget)
    image = viewer.layers[0]
    labels = viewer.layers[f"{image.name} segmentation"]
    assert labels._type_string == "labels" and labels.data.shape == image.data.shape
    np.testing.assert_allclose(labels.scale, image.scale)
    np.testing.assert_allclose(labels.translate, image.translate)
    from napari_mg3d.data.synthetic import ORGANS

    heart = next(k for k, v in ORGANS.items() if v == "heart")
    assert labels.metadata["label_names"][heart] == "heart"
    assert list(labels.features["name"])[:3] == ["background", ORGANS[1], ORGANS[2]]
    assert "heart" in widget.info.text()
    out = widget.export(str(tmp_path / "labels.nii.gz"))
    written, source = read_volume(out), read_volume(case_file)
    assert written.geometry == source.geometry
    np.testing.assert_array_equal(written.array, labels.data)


def test_a_non_segmentation_checkpoint_is_refused_clearly(loaded_session, widget_data, qtbot, wait_task, monkeypatch):
    from napari_mg3d.widgets import tasks

    errors = []
    monkeypatch.setattr(tasks, "show_error", errors.append)
    viewer, _ = loaded_session
    widget = SegmentationWidget(viewer)
    qtbot.addWidget(widget)
    widget.path.setText(str(widget_data[2]))  # the MG-3D model, not a segmenter
    widget.run()
    wait_task(widget)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert "is not a segmentation checkpoint" in errors[0]
    assert len(viewer.layers) == 1
