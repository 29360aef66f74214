"""How much memory the model may use: the machine's available memory, not its bare free pages."""

from pathlib import Path

import pytest
import torch

from napari_mg3d.model import memory


def test_memory_mostly_file_cache_counts_as_available(tmp_path, monkeypatch):
    # as seen on a CI machine: 1.7 GiB free, 20 GiB in the page cache, 21 GiB available
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       25165824 kB\nMemFree:         1782579 kB\n"
                    "MemAvailable:   22020096 kB\nBuffers:          10240 kB\nCached:         20971520 kB\n")
    assert memory._meminfo_available(info) == 22020096 * 1024
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 22020096 * 1024)
    assert memory.available_bytes(torch.device("cpu")) == 22020096 * 1024


def test_without_meminfo_the_free_pages_are_read(tmp_path, monkeypatch):
    assert memory._meminfo_available(tmp_path / "absent") is None
    (tmp_path / "odd").write_text("MemFree: 5 kB\n")
    assert memory._meminfo_available(tmp_path / "odd") is None
    monkeypatch.setattr(memory, "_meminfo_available", lambda: None)
    assert 0 < memory.available_bytes(torch.device("cpu")) < 1 << 62


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="no /proc/meminfo (not Linux)")
def test_this_machine_reads_at_least_its_free_pages():
    import os
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert memory.available_bytes(torch.device("cpu")) >= free * 0.9
