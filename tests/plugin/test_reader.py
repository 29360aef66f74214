import numpy as np
import pytest

from napari_mg3d.plugin.reader import get_manifest_reader, get_volume_reader


@pytest.fixture
def notes(monkeypatch):
    """Messages the plugin shows as napari notifications."""
    from napari.utils import notifications

    seen = []
    for level in ("error", "warning", "info"):
        monkeypatch.setattr(notifications, f"show_{level}", lambda m, level=level: seen.append((level, m)))
    return seen


def test_opens_volume_with_report_and_geometry(make_napari_viewer, case_file, synthetic_case):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(case_file, plugin="napari-mg3d")
    np.testing.assert_array_equal(layer.data, synthetic_case.image)
    assert layer.metadata["report"] == synthetic_case.report
    assert layer.metadata["modality"] == "CT"
    assert tuple(layer.scale) == synthetic_case.geometry.spacing[::-1]
    assert tuple(layer.translate) == synthetic_case.geometry.origin[::-1]
    assert layer.contrast_limits == [-160.0, 240.0]  # soft-tissue window


def test_labels_overlay_ct_in_world_coordinates(make_napari_viewer, totalseg):
    viewer = make_napari_viewer()
    (ct,) = viewer.open(totalseg / "example_ct_sm.nii.gz", plugin="napari-mg3d")
    (seg,) = viewer.open(totalseg / "example_seg.nii.gz", plugin="napari-mg3d")
    assert seg._type_string == "labels"
    np.testing.assert_allclose(ct.affine.affine_matrix, seg.affine.affine_matrix)
    np.testing.assert_allclose(ct._data_to_world.affine_matrix, seg._data_to_world.affine_matrix)
    # voxel (0,0,0) lies at the NIfTI origin, reversed to napari's (z, y, x)
    np.testing.assert_allclose(ct.data_to_world([0, 0, 0]), [94.3017578125, -11.319000244140625, 177.95632934570312])
    # the flipped x/y axes of this file: one voxel along x moves 3 mm towards -x (patient right)
    np.testing.assert_allclose(np.subtract(ct.data_to_world([0, 0, 1]), ct.data_to_world([0, 0, 0])), [0, 0, -3.0])


def test_reflected_nrrd_keeps_its_world_mapping(make_napari_viewer, shared_data):
    import SimpleITK as sitk

    path = shared_data / "pyradiomics_testcases" / "brain1_image.nrrd"
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="napari-mg3d")
    image = sitk.ReadImage(str(path))
    for idx in [(0, 0, 0), (255, 10, 24)]:
        expected = image.TransformIndexToPhysicalPoint(idx)
        np.testing.assert_allclose(layer.data_to_world(idx[::-1])[::-1], expected, atol=1e-6)


def test_dicom_folder_layer(make_napari_viewer, totalseg):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(totalseg / "example_ct_dicom", plugin="napari-mg3d")
    assert layer.name == "CT Body 3.0" and layer.data.shape == (20, 512, 512)
    assert layer.metadata["spacing"][2] == pytest.approx(2.0)
    assert "PatientName" not in str(layer.metadata)


@pytest.mark.parametrize("kind", ["zero-byte", "truncated", "not-nifti", "2d", "4d", "no-dicom"])
def test_bad_input_is_a_notification_and_no_layer(make_napari_viewer, bad_inputs, notes, kind):
    viewer = make_napari_viewer()
    viewer.open(bad_inputs[kind], plugin="napari-mg3d")
    assert len(viewer.layers) == 0
    (level, message), *_ = notes
    assert level == "error" and "\n" not in message and message


def test_wrong_extension_is_not_claimed(bad_inputs):
    assert get_volume_reader(str(bad_inputs["wrong-extension"])) is None


def test_memory_limit_in_the_viewer(make_napari_viewer, case_file, notes, monkeypatch):
    monkeypatch.setenv("MG3D_MAX_VOLUME_MB", "0.001")
    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    assert len(viewer.layers) == 0 and "over the limit" in notes[0][1]


def test_non_utf8_report_opens_volume_and_says_why(make_napari_viewer, case_file, notes):
    case_file.with_name("case.txt").write_bytes("Erguss \xfcberall.".encode("latin-1"))
    viewer = make_napari_viewer()
    (layer,) = viewer.open(case_file, plugin="napari-mg3d")
    assert layer.metadata.get("report") is None
    assert notes == [("error", "report case.txt is not UTF-8 text (byte 0xfc at offset 7)")]


def test_manifest_opens_cases_with_reports_and_segmentations(make_napari_viewer, case_file, synthetic_case):
    from napari_mg3d.io.writer import write_volume

    write_volume(case_file.with_name("organs.nii.gz"), synthetic_case.organs, synthetic_case.geometry)
    manifest = case_file.with_name("cases.csv")
    manifest.write_text("volume,report,segmentation,split\ncase.nii.gz,case.txt,organs.nii.gz,test\n")
    assert get_manifest_reader(str(manifest)) is not None
    viewer = make_napari_viewer()
    image, labels = viewer.open(manifest, plugin="napari-mg3d")
    assert image.metadata["report"] == synthetic_case.report and image.metadata["split"] == "test"
    assert labels._type_string == "labels"
    np.testing.assert_array_equal(labels.data, synthetic_case.organs)
    np.testing.assert_allclose(image._data_to_world.affine_matrix, labels._data_to_world.affine_matrix)
