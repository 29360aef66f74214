"""The few NIfTI-1/2 header fields the checks need, read in Python (much cheaper than ITK's
``ReadImageInformation`` on a .nii.gz), plus a cheap test for a truncated file.

ITK fills the voxels missing from a truncated .nii.gz with zeros and says nothing. A gzip stream
ends with ISIZE, the uncompressed length modulo 2**32; for a whole single-member file it equals the
header offset plus the voxel bytes. When it does not (a truncated file, or a rare multi-member
gzip), the stream is decompressed once to tell the two apart.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError


@dataclass(frozen=True)
class NiftiHeader:
    size: tuple[int, ...]  # x, y, z[, t, ...] with trailing singleton axes beyond 3 dropped
    components: int
    itemsize: int  # bytes per stored value
    scaled: bool  # scl_slope set: ITK returns floating point values
    vox_offset: int
    datatype: int = 0  # NIfTI code: 16 float32, 64 float64
    big_endian: bool = False

    @property
    def data_bytes(self) -> int:
        n = self.components * self.itemsize
        for s in self.size:
            n *= s
        return n


def read_nifti_header(path: Path) -> NiftiHeader:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read(544)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read {path.name} as NIfTI: {exc}") from None
    for endian in "<>":
        if len(raw) >= 4 and struct.unpack(endian + "i", raw[:4])[0] in (348, 540):
            break
    else:
        raise InputError(f"cannot read {path.name} as NIfTI: no NIfTI header")
    u = lambda fmt, off: struct.unpack_from(endian + fmt, raw, off)  # noqa: E731
    if u("i", 0)[0] == 540:
        if len(raw) < 540:
            raise InputError(f"cannot read {path.name}: file is truncated or corrupt (short header)")
        datatype, bitpix = u("hh", 12)
        dim = u("8q", 16)
        vox_offset, slope = u("q", 168)[0], u("d", 176)[0]
    else:
        if len(raw) < 348:
            raise InputError(f"cannot read {path.name}: file is truncated or corrupt (short header)")
        dim = u("8h", 40)
        datatype, bitpix = u("hh", 70)
        vox_offset, slope = int(u("f", 108)[0]), u("f", 112)[0]
    ndim = max(0, min(int(dim[0]), 7))
    size = [int(d) for d in dim[1 : ndim + 1]]
    components = 1
    if len(size) >= 5:
        components = size[4]
        size = size[:4] + size[5:]
    while len(size) > 3 and size[-1] == 1:
        size.pop()
    return NiftiHeader(tuple(size), components, max(1, bitpix // 8), slope not in (0.0, 1.0), max(vox_offset, 348),
                       int(datatype), endian == ">")


FLOAT_TYPES = {16: "f4", 64: "f8"}


def count_nonfinite(path: Path, header: NiftiHeader) -> int:
    """How many stored values of a floating-point NIfTI are NaN or infinite (ITK reads them as 0, so
    the array cannot tell), read in 8 MB pieces; 0 for integer data, which cannot hold them."""
    import numpy as np

    kind = FLOAT_TYPES.get(header.datatype)
    if kind is None:
        return 0
    dtype = np.dtype((">" if header.big_endian else "<") + kind)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    count, left = 0, header.data_bytes
    with opener(path, "rb") as f:
        f.seek(header.vox_offset)
        while left > 0 and (chunk := f.read(min(left, dtype.itemsize << 21))):
            left -= len(chunk)
            values = np.frombuffer(chunk[: len(chunk) - len(chunk) % dtype.itemsize], dtype)
            count += int(values.size - np.isfinite(values).sum())
    return count


def is_truncated(path: Path, header: NiftiHeader) -> bool:
    expected = header.vox_offset + header.data_bytes
    if not path.name.lower().endswith(".gz"):
        return path.stat().st_size < expected
    with open(path, "rb") as f:
        f.seek(-4, 2)
        (isize,) = struct.unpack("<I", f.read(4))
    return isize != expected % 2**32 and not _decompresses_whole(path)


def _decompresses_whole(path: Path) -> bool:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decompressor.decompress(chunk)
                while decompressor.eof and decompressor.unused_data:  # next gzip member
                    rest = decompressor.unused_data
                    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    decompressor.decompress(rest)
        except zlib.error:
            return False
    return decompressor.eof
