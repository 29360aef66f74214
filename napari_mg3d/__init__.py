"""napari-mg3d: explore 3D medical images together with their radiology reports (MG-3D)."""

__version__ = "0.1.0"
