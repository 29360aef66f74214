import json

import pytest

from napari_mg3d.io import InputError
from napari_mg3d.io.manifest import is_manifest, read_manifest


def test_csv_with_paths_inline_text_labels_and_split(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"x")
    (tmp_path / "b.nii.gz").write_bytes(b"x")
    (tmp_path / "a.txt").write_text("Nodule in the right upper lobe.")
    (tmp_path / "m.csv").write_text(
        "volume,report,labels,split\n"
        "a.nii.gz,a.txt,Lung nodule;Emphysema,train\n"
        'b.nii.gz,"No effusion. No nodule.","{""Lung nodule"": 0}",test\n'
    )
    assert is_manifest(tmp_path / "m.csv")
    a, b = read_manifest(tmp_path / "m.csv")
    assert a.id == "a" and a.report == "Nodule in the right upper lobe." and a.report_path == tmp_path / "a.txt"
    assert a.labels == {"Lung nodule": 1, "Emphysema": 1} and a.split == "train"
    assert b.report == "No effusion. No nodule." and b.labels == {"Lung nodule": 0} and b.split == "test"


def test_jsonl(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"x")
    (tmp_path / "seg.nii.gz").write_bytes(b"x")
    rows = [{"volume": "a.nii.gz", "report": "Clear.", "labels": ["Emphysema"], "segmentation": "seg.nii.gz"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (case,) = read_manifest(tmp_path / "m.jsonl")
    assert case.segmentation == tmp_path / "seg.nii.gz" and case.labels == {"Emphysema": 1}


def test_regions_name_a_mask_per_label(tmp_path):
    (tmp_path / "a.nii.gz").write_bytes(b"x")
    (tmp_path / "heart.nii.gz").write_bytes(b"x")
    row = {"volume": "a.nii.gz", "report": "The heart is enlarged.", "regions": {"Cardiomegaly": "heart.nii.gz"}}
    (tmp_path / "m.jsonl").write_text(json.dumps(row) + "\n")
    (case,) = read_manifest(tmp_path / "m.jsonl")
    assert case.regions == {"Cardiomegaly": tmp_path / "heart.nii.gz"}
    (tmp_path / "m.csv").write_text('volume,report,regions\na.nii.gz,x,"{""Cardiomegaly"": ""heart.nii.gz""}"\nheart.nii.gz,y,\n')
    with_regions, without = read_manifest(tmp_path / "m.csv")
    assert with_regions.regions == case.regions and without.regions == {}


def test_organs_as_a_named_label_map_or_a_folder_of_masks(tmp_path):
    for name in ("a.nii.gz", "b.nii.gz", "organs.nii.gz"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "seg").mkdir()
    (tmp_path / "names.json").write_text('{"0": "background", "1": "lung_upper_lobe_left", "7": "heart"}')
    (tmp_path / "m.csv").write_text(
        "volume,report,organs,organ_names\n"
        "a.nii.gz,x,organs.nii.gz,names.json\n"
        'b.nii.gz,y,organs.nii.gz,"{""3"": ""aorta""}"\n'
        "organs.nii.gz,z,seg,\n"
    )
    a, b, folder = read_manifest(tmp_path / "m.csv")
    assert a.organs == tmp_path / "organs.nii.gz" and a.organ_names == {1: "lung_upper_lobe_left", 7: "heart"}
    assert b.organ_names == {3: "aorta"}
    assert folder.organs == tmp_path / "seg" and folder.organ_names == {}  # named by its files


@pytest.mark.parametrize(
    "text, message",
    [
        ("image,text\na.nii.gz,x\n", "lacks column\\(s\\) volume, report"),
        ("volume,report\nmissing.nii.gz,x\n", "row 2: volume not found"),
        ("volume,report\n,x\n", "row 2: empty volume"),
        ("volume,report,split\na.nii.gz,x,holdout\n", "split 'holdout' is not one of"),
        ("volume,report\na.nii.gz,x\na.nii.gz,y\n", "row 3: duplicate case id 'a'"),
        ("volume,report\n", "has no cases"),
        ('volume,report,regions\na.nii.gz,x,"{""Cardiomegaly"": ""gone.nii.gz""}"\n',
         "row 2: region mask of 'Cardiomegaly' not found"),
        ("volume,report,regions\na.nii.gz,x,heart.nii.gz\n", "row 2: regions are not valid JSON"),
        ('volume,report,regions\na.nii.gz,x,"[""heart.nii.gz""]"\n', "row 2: regions must be an object"),
        ("volume,report,organs\na.nii.gz,x,gone.nii.gz\n", "row 2: organ map not found"),
        ("volume,report,organs\na.nii.gz,x,a.nii.gz\n", "row 2: an organ map needs organ_names"),
        ('volume,report,organs,organ_names\na.nii.gz,x,a.nii.gz,"{""lung"": 1}"\n', "keys must be label values"),
        ("volume,report,organs,organ_names\na.nii.gz,x,a.nii.gz,names.json\n", "row 2: organ names not found"),
    ],
)
def test_manifest_errors_name_the_row(tmp_path, text, message):
    (tmp_path / "a.nii.gz").write_bytes(b"x")
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        read_manifest(tmp_path / "m.csv")


def test_plain_csv_is_not_a_manifest(tmp_path):
    (tmp_path / "points.csv").write_text("index,axis-0,axis-1\n0,1,2\n")
    assert not is_manifest(tmp_path / "points.csv")
