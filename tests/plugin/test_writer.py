import numpy as np
import pytest

from napari_mg3d.io import read_volume


@pytest.mark.parametrize(
    "folder, image_name, labels_name, suffix",
    [
        ("pyradiomics_testcases", "brain1_image.nrrd", "brain1_label.nrrd", ".nrrd"),
        ("totalsegmentator_examples", "example_ct_sm.nii.gz", "example_seg.nii.gz", ".nii.gz"),
    ],
)
def test_layers_save_with_source_geometry(make_napari_viewer, shared_data, tmp_path, folder, image_name,
                                          labels_name, suffix):
    src, lab = shared_data / folder / image_name, shared_data / folder / labels_name
    viewer = make_napari_viewer()
    (image,) = viewer.open(src, plugin="napari-mg3d")
    (labels,) = viewer.open(lab, plugin="napari-mg3d")
    assert labels._type_string == "labels"
    out_image, out_labels = tmp_path / f"image{suffix}", tmp_path / f"labels{suffix}"
    image.save(str(out_image), plugin="napari-mg3d")
    labels.save(str(out_labels), plugin="napari-mg3d")
    for original, written in ((src, out_image), (lab, out_labels)):
        a, b = read_volume(original), read_volume(written)
        np.testing.assert_array_equal(a.array, b.array)
        assert a.array.dtype == b.array.dtype
        assert a.geometry == b.geometry


def test_generated_labels_round_trip(make_napari_viewer, tmp_path, synthetic_case):
    from napari_mg3d.plugin.layers import labels_layer

    viewer = make_napari_viewer()
    data, kwargs, _ = labels_layer(synthetic_case.organs, synthetic_case.geometry, "organs")
    layer = viewer.add_labels(data, **kwargs)
    layer.save(str(tmp_path / "organs.nii.gz"), plugin="napari-mg3d")
    back = read_volume(tmp_path / "organs.nii.gz")
    np.testing.assert_array_equal(back.array, synthetic_case.organs)
    assert back.geometry == synthetic_case.geometry


def test_moved_layer_saves_where_it_is_shown(make_napari_viewer, tmp_path, synthetic_case):
    viewer = make_napari_viewer()
    layer = viewer.add_image(synthetic_case.image, scale=(5.0, 2.75, 2.75), translate=(10.0, 20.0, 30.0))
    layer.save(str(tmp_path / "moved.nrrd"), plugin="napari-mg3d")
    back = read_volume(tmp_path / "moved.nrrd")
    assert back.geometry.spacing == (2.75, 2.75, 5.0) and back.geometry.origin == (30.0, 20.0, 10.0)


def test_2d_layer_is_refused_and_nothing_written(make_napari_viewer, tmp_path, monkeypatch):
    from napari.utils import notifications

    seen = []
    monkeypatch.setattr(notifications, "show_error", seen.append)
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((8, 8)))
    layer.save(str(tmp_path / "flat.nii.gz"), plugin="napari-mg3d")
    assert list(tmp_path.iterdir()) == []
    assert "3D volume is needed" in seen[0]
