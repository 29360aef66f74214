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


def test_entries_are_stored_in_float16_within_half_a_hounsfield_unit(tmp_path, case_file):
    from napari_mg3d.data.preprocess import preprocess_file

    profile = get_profile("synthetic-tiny")
    cache = VolumeCache(tmp_path / "cache", profile)
    cold = cache.get(case_file)
    (entry,) = (tmp_path / "cache").glob("*.npy")
    assert np.load(entry).dtype == np.float16 and cold.dtype == np.float32
    np.testing.assert_array_equal(cache.get(case_file), cold)  # cold or warm, the same values
    exact = preprocess_file(case_file, profile)
    low, high = profile.window
    assert np.abs(cold - exact).max() * (high - low) <= 0.5  # HU (2^-12 of the window)
    assert entry.stat().st_size < exact.nbytes * 0.51


def _fill(folder, files, start, out):
    start.wait()
    cache = VolumeCache(folder, "synthetic-tiny")
    loaded = []
    for path in files:
        loaded.append(cache.get(path))
        for entry in folder.glob("*.npy"):  # whatever another process has written is whole
            np.load(entry)
    np.save(out, np.stack(loaded))


def test_two_processes_fill_one_cache_at_once_without_a_torn_entry(tmp_path):
    import multiprocessing

    from napari_mg3d.data.synth_writer import write_synthetic

    manifest = write_synthetic(tmp_path / "synth", 6, seed=4, shape=(32, 64, 64))
    files = sorted((manifest.parent / "cases").glob("synth-*[0-9].nii.gz"))
    assert len(files) == 6
    folder = tmp_path / "shared-cache"
    context = multiprocessing.get_context("spawn")  # fork would inherit SimpleITK's threads (run.worker_context)
    start = context.Barrier(2)
    workers = [context.Process(target=_fill, args=(folder, files, start, tmp_path / f"{i}.npy")) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert [w.exitcode for w in workers] == [0, 0]
    first, second = np.load(tmp_path / "0.npy"), np.load(tmp_path / "1.npy")
    np.testing.assert_array_equal(first, second)
    assert len(list(folder.glob("*.npy"))) == 6 and not list(folder.glob(".mg3d-*"))  # no temporary left
    np.testing.assert_array_equal(np.stack([VolumeCache(folder, "synthetic-tiny").get(f) for f in files]), first)
