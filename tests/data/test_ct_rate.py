import csv

import pytest

from napari_mg3d.data.ct_rate import import_ct_rate
from napari_mg3d.io import InputError
from napari_mg3d.io.manifest import read_manifest
from napari_mg3d.io.writer import write_volume


def test_imports_the_ct_rate_layout(tmp_path, synthetic_case):
    volumes = tmp_path / "dataset" / "train" / "train_1" / "train_1_a"
    volumes.mkdir(parents=True)
    for name in ("train_1_a_1.nii.gz", "train_1_a_2.nii.gz"):
        write_volume(volumes / name, synthetic_case.image, synthetic_case.geometry)
    reports = tmp_path / "reports.csv"
    with open(reports, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["VolumeName", "ClinicalInformation_EN", "Findings_EN", "Impressions_EN"])
        w.writerow(["train_1_a_1.nii.gz", "", "No pleural effusion. A 5 mm nodule.", "Nodule."])
        w.writerow(["train_1_a_2.nii.gz", "", "Cardiomegaly.", ""])
        w.writerow(["train_9_a_1.nii.gz", "", "Not downloaded.", ""])
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["VolumeName", "Lung nodule", "Cardiomegaly"])
        w.writerow(["train_1_a_1.nii.gz", 1, 0])
        w.writerow(["train_1_a_2.nii.gz", 0, 1])
    out = tmp_path / "ct-rate.csv"
    assert import_ct_rate(tmp_path / "dataset", reports, labels, out) == 2
    first, second = read_manifest(out)
    assert first.id == "train_1_a_1" and first.report == "Findings: No pleural effusion. A 5 mm nodule.\nImpressions: Nodule."
    assert first.labels == {"Lung nodule": 1, "Cardiomegaly": 0} and second.labels["Cardiomegaly"] == 1
    with pytest.raises(InputError, match="no volume"):
        import_ct_rate(tmp_path / "dataset" / "nothing-here-yet", reports, labels, tmp_path / "x.csv")
