import numpy as np


def test_3d_view_shows_label_surfaces_and_the_heatmap_isosurface_in_world_mm(make_napari_viewer, case_file,
                                                                            synthetic_case, qtbot, wait_task,
                                                                            tmp_path):
    import pyvista as pv
    from imageio.v3 import imread

    from napari_mg3d.data.synthetic import ORGANS
    from napari_mg3d.plugin.layers import labels_layer
    from napari_mg3d.widgets.heatmap import add_heatmap
    from napari_mg3d.widgets.view3d import View3DWidget

    viewer = make_napari_viewer(show=True)
    viewer.open(case_file, plugin="napari-mg3d")
    image = viewer.layers[0]
    data, kwargs, _ = labels_layer(synthetic_case.organs, synthetic_case.geometry, "organs", names=ORGANS)
    viewer.add_labels(data, **kwargs)
    # a heatmap with one hot spot at a known voxel
    zz, yy, xx = np.indices(image.data.shape)
    spot = (12, 20, 30)
    heat = np.exp(-((zz - spot[0]) ** 2 + (yy - spot[1]) ** 2 + (xx - spot[2]) ** 2) / 8.0).astype(np.float32)
    add_heatmap(viewer, image, heat, "a hot spot")
    widget = View3DWidget(viewer)
    qtbot.addWidget(widget)
    assert widget.labels_box.currentText() == "organs" and widget.heat_box.currentText() == "attention: a hot spot"
    widget.build()
    wait_task(widget)
    assert set(ORGANS.values()) <= set(widget.meshes)
    centre = np.mean(np.reshape(widget.meshes["attention: a hot spot"].bounds, (3, 2)), axis=1)
    expected = synthetic_case.geometry.index_to_world(spot[::-1])
    np.testing.assert_allclose(centre, expected, atol=max(synthetic_case.geometry.spacing))
    lung = widget.meshes["lung_lower_lobe_right"].bounds
    assert lung[0] < lung[1] and widget.meshes["lung_lower_lobe_right"].n_cells > 100
    shot = imread(widget.screenshot(tmp_path / "3d.png"))[..., :3].astype(float)
    assert shot.std() > 10  # surfaces drawn, not an empty background
    merged = pv.read(widget.export(tmp_path / "surfaces.vtp"))
    assert len(np.unique(merged.cell_data["part"])) == len(widget.meshes)
    widget.close()
