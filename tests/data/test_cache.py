import os

import numpy as np

from napari_mg3d.data.cache import VolumeCache
from napari_mg3d.data.profiles import get_profile


def test_cache_reuses_and_invalidates(tmp_path, case_file):
    cache = VolumeCache(tmp_path / "cache", "synthetic-tiny")
    first = cache.get(case_file)
    entries = list((tmp_path / "cache").glob("*.npy"))
    assert len(entries) == 1
    np.testing.assert_array_equal(cache.get(case_file), first)
    assert list((tmp_path / "cache").glob("*.npy")) == entries  # reused, not rebuilt
    other = VolumeCache(tmp_path / "cache", get_profile({**get_profile("synthetic-tiny").to_dict(), "window": [-500.0, 500.0]}))
    assert not np.array_equal(other.get(case_file), first)  # another profile never reads the stale entry
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    os.utime(case_file, ns=(1, 1))  # the file changed: a new entry
    cache.get(case_file)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3
    torn = next(iter((tmp_path / "cache").glob("*.npy")))
    torn.write_bytes(b"\x93NUMPY torn")
    assert cache.get(case_file).shape == (64, 64, 64)
