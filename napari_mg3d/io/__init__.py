"""Readers, writers, geometry, reports and case manifests (SimpleITK; no torch, no Qt)."""

from .errors import InputError
from .geometry import Geometry
from .volume import Volume, read_volume, volume_info
from .writer import write_volume

__all__ = ["Geometry", "InputError", "Volume", "read_volume", "volume_info", "write_volume"]
