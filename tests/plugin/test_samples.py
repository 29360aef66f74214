import numpy as np
import pytest


def test_synthetic_sample_opens_with_report_and_organs(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-mg3d", "synthetic_chest_ct")
    image, organs = viewer.layers
    from napari_mg3d.data.synthetic import ORGANS
    from napari_mg3d.knowledge.labels import label_report

    assert image.metadata["labels"]["Lung nodule"] == 1
    assert label_report(image.metadata["report"])["Lung nodule"] == 1  # the report says what the case shows
    heart = next(k for k, v in ORGANS.items() if v == "heart")
    assert organs.metadata["label_names"][heart] == "heart"
    np.testing.assert_allclose(image._data_to_world.affine_matrix, organs._data_to_world.affine_matrix)


def test_example_ct_sample_offline_tells_the_user(make_napari_viewer, monkeypatch, tmp_path):
    from napari_mg3d.data import examples
    from napari_mg3d.io import InputError

    monkeypatch.setenv("MG3D_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(examples.EXAMPLE_CT, "url", "http://127.0.0.1:9/example_ct.nii.gz")
    viewer = make_napari_viewer()
    with pytest.raises(InputError, match="are you offline\\? Put example_ct.nii.gz at"):
        viewer.open_sample("napari-mg3d", "totalsegmentator_ct")
    assert len(viewer.layers) == 0
