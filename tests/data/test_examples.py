import shutil

import pytest

from napari_mg3d.data.examples import EXAMPLE_CT, fetch_example_ct
from napari_mg3d.io import InputError


def test_offline_download_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MG3D_CACHE_DIR", str(tmp_path))
    with pytest.raises(InputError, match="are you offline\\? Put example_ct.nii.gz at"):
        fetch_example_ct(url="http://127.0.0.1:9/example_ct.nii.gz")
    assert not (tmp_path / EXAMPLE_CT["fname"]).exists()


def test_cached_copy_is_checked_against_the_fixed_hash(tmp_path, monkeypatch, totalseg):
    monkeypatch.setenv("MG3D_CACHE_DIR", str(tmp_path))
    shutil.copy(totalseg / "example_ct.nii.gz", tmp_path / EXAMPLE_CT["fname"])
    assert fetch_example_ct(url="http://127.0.0.1:9/unused") == tmp_path / EXAMPLE_CT["fname"]


def test_corrupt_cached_copy_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("MG3D_CACHE_DIR", str(tmp_path))
    (tmp_path / EXAMPLE_CT["fname"]).write_bytes(b"not the file")
    with pytest.raises(InputError):
        fetch_example_ct(url="http://127.0.0.1:9/example_ct.nii.gz")
