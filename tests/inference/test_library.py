import csv
import locale
import json

import numpy as np
import pytest

from napari_mg3d.inference.library import CaseLibrary
from tests.clirun import mg3d


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.data.synth_writer import write_synthetic
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model

    folder = tmp_path_factory.mktemp("library")
    manifest = write_synthetic(folder / "synth", 6, seed=21, shape=(16, 32, 32), split="train")
    checkpoints = []
    for seed in (0, 1):
        import torch

        torch.manual_seed(seed)
        path = folder / f"tiny{seed}.safetensors"
        save_checkpoint(create_model("mg3d-tiny", device="cpu"), path, profile=get_profile("synthetic-tiny").to_dict())
        checkpoints.append(path)
    return folder, manifest, checkpoints


def _mg3d(*args):
    return mg3d(*args)


def _first_rows(manifest, n, out):
    rows = list(csv.DictReader(manifest.open()))
    for row in rows:
        row["volume"] = str(manifest.parent / row["volume"])
        row["segmentation"] = str(manifest.parent / row["segmentation"])
        row["report"] = str(manifest.parent / row["report"])
        row["regions"] = json.dumps({k: str(manifest.parent / v) for k, v in json.loads(row["regions"]).items()})
        for key in ("organs", "organ_names"):
            row[key] = str(manifest.parent / row[key]) if row.get(key) else ""
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:n])
    return out


def test_add_is_incremental_then_search_by_case_text_and_volume(setup, tmp_path):
    folder, manifest, (ckpt, _) = setup
    lib = tmp_path / "lib"
    part = _first_rows(manifest, 4, tmp_path / "part.csv")
    first = _mg3d("library", "add", str(lib), str(part), "--checkpoint", str(ckpt), "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout)["added"] == 4 and "4/4 cases" in first.stderr
    again = json.loads(_mg3d("library", "add", str(lib), str(manifest), "--checkpoint", str(ckpt), "--json").stdout)
    assert again["added"] == 2 and again["already_there"] == 4 and again["cases"] == 6 and not again["rebuilt"]

    by_case = json.loads(_mg3d("search", str(lib), "--case", "synth-00021-00000", "--k", "3", "--json").stdout)
    ids = [h["case_id"] for h in by_case["hits"]]
    assert len(ids) == 3 and "synth-00021-00000" not in ids
    scores = [h["score"] for h in by_case["hits"]]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)

    by_text = _mg3d("search", str(lib), "--text", "right pleural effusion", "--json")
    assert by_text.returncode == 0, by_text.stderr[-2000:]
    assert len(json.loads(by_text.stdout)["hits"]) == 6
    volume = manifest.parent / "cases" / "synth-00021-00001.nii.gz"
    by_volume = json.loads(_mg3d("search", str(lib), "--volume", str(volume), "--k", "1", "--json").stdout)
    assert by_volume["hits"][0]["case_id"] == "synth-00021-00001" and by_volume["hits"][0]["score"] == pytest.approx(1, abs=1e-4)


def test_another_model_rebuilds_and_a_corrupt_library_is_reported(setup, tmp_path):
    folder, manifest, (ckpt, other) = setup
    lib = tmp_path / "lib"
    part = _first_rows(manifest, 2, tmp_path / "part.csv")
    assert _mg3d("library", "add", str(lib), str(part), "--checkpoint", str(ckpt)).returncode == 0
    result = _mg3d("search", str(lib), "--text", "nodule", "--checkpoint", str(other))
    assert result.returncode == 2 and "built with another model" in result.stderr
    rebuilt = _mg3d("library", "add", str(lib), str(part), "--checkpoint", str(other), "--json")
    assert json.loads(rebuilt.stdout)["rebuilt"] and json.loads(rebuilt.stdout)["added"] == 2
    assert "rebuilt" in rebuilt.stderr

    (lib / "image.faiss").unlink()  # an index lost between database and index: rebuilt from the database
    assert len(json.loads(_mg3d("search", str(lib), "--case", "synth-00021-00000", "--json").stdout)["hits"]) == 1

    (lib / "library.sqlite").write_bytes(b"this is not a database" * 100)
    for name in ("library.sqlite-wal", "library.sqlite-shm"):
        (lib / name).unlink(missing_ok=True)
    result = _mg3d("search", str(lib), "--case", "synth-00021-00000")
    assert result.returncode == 2 and "corrupt" in result.stderr
    assert _mg3d("search", str(tmp_path / "nothing"), "--case", "x").returncode == 2


def test_readers_keep_working_while_a_writer_adds(tmp_path, monkeypatch):
    signature = {"checkpoint_sha256": "x", "profile": "p", "dim": 4}
    writer, _ = CaseLibrary.for_model(tmp_path / "lib", signature)
    rng = np.random.default_rng(0)

    def rows(start, n):
        v = rng.normal(size=(n, 4)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return [{"case_id": f"c{start + i}", "report": "r", "labels": {}, "image": v[i], "report_vec": v[i]}
                for i in range(n)]

    writer.add(rows(0, 5))
    reader = CaseLibrary(tmp_path / "lib")
    before = reader.search(writer.embedding("c0"), k=3)
    writer.add(rows(5, 5))  # while the reader is open
    assert [h.case_id for h in reader.search(writer.embedding("c0"), k=3)] == [h.case_id for h in before]
    assert len(reader) == 10
    # the index file still holds 5 (written by the first reader): a new reader catches up from the
    # database without rebuilding the index
    from napari_mg3d.inference import vector_index

    assert vector_index.load(tmp_path / "lib" / "image.faiss").ntotal == 5

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(vector_index, "build_index", no_rebuild)
    assert len(CaseLibrary(tmp_path / "lib").search(writer.embedding("c0"), k=20)) == 10
    writer.close()  # writes the extended indexes
    assert vector_index.load(tmp_path / "lib" / "image.faiss").ntotal == 10


def test_no_patient_identifiers_reach_the_library(setup, tmp_path):
    folder, manifest, (ckpt, _) = setup
    series = tmp_path / "series"
    series.mkdir()
    ctype = locale.setlocale(locale.LC_CTYPE)
    try:
        _write_series(series)
    finally:  # SimpleITK's DICOM writer (GDCM) sets LC_CTYPE to C for the whole process
        locale.setlocale(locale.LC_CTYPE, ctype)
    m = tmp_path / "dicom.csv"
    m.write_text("id,volume,report\ncase-a,series,No pleural effusion. Heart size is normal.\n")
    result = _mg3d("library", "add", str(tmp_path / "lib"), str(m), "--checkpoint", str(ckpt), "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["added"] == 1, result.stderr[-2000:]
    stored = b"".join(p.read_bytes() for p in (tmp_path / "lib").iterdir())
    for identifier in (b"Doe", b"Jane", b"PID-778899", b"19450203"):
        assert identifier not in stored


def _write_series(folder):
    """Four DICOM slices whose headers carry a patient name, ID and birth date."""
    import SimpleITK as sitk

    for i in range(4):
        img = sitk.GetImageFromArray(np.full((1, 16, 16), -500 + 100 * i, np.int16))
        for k, v in {"0010|0010": "Doe^Jane", "0010|0020": "PID-778899", "0010|0030": "19450203",
                     "0008|0060": "CT", "0020|000e": "1.2.9", "0020|000d": "1.2.8", "0020|0013": str(i + 1),
                     "0020|0032": f"0\\0\\{2 * i}", "0020|0037": "1\\0\\0\\0\\1\\0", "0028|0030": "1\\1",
                     "0008|0018": f"1.2.9.{i + 1}"}.items():
            img.SetMetaData(k, v)
        writer = sitk.ImageFileWriter()
        writer.KeepOriginalImageUIDOn()
        writer.SetFileName(str(folder / f"s{i}.dcm"))
        writer.Execute(img)
