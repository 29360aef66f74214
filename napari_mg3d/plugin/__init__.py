"""npe2 contributions: readers, writers and sample data (napari is imported lazily)."""
