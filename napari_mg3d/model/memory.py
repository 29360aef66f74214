"""Will a checkpoint fit on the chosen device? A clear message before an out-of-memory crash."""

from __future__ import annotations

import os
from pathlib import Path

from ..io.errors import InputError

# weights, plus the activations of one inference pass at the model's input size, as a multiple of
# the weights (measured: Swin-B inference peaks at about 2.5x its checkpoint in float32)
HEADROOM = 3.0


def _meminfo_available(path="/proc/meminfo") -> int | None:
    """Linux's estimate of memory a new program can have: free pages plus the page cache it may drop."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_bytes(device) -> int:
    """Memory a model could have on ``device`` (a torch.device): the GPU's free memory, or the machine's
    available memory (on Linux MemAvailable, which counts the file cache the kernel gives back; bare
    free pages would refuse a machine whose memory is mostly cache)."""
    import torch

    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    avail = _meminfo_available()
    if avail is not None:
        return avail
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: do not guess
        return 1 << 62


def check_fits(checkpoint, device) -> None:
    need = Path(checkpoint).stat().st_size * HEADROOM
    have = available_bytes(device)
    if need > have:
        raise InputError(
            f"{Path(checkpoint).name} needs about {need / 2**30:.1f} GiB on {device.type.upper()}, but only "
            f"{have / 2**30:.1f} GiB is available; choose another device (--device cpu) or free memory")
