"""MG-3D model: encoders, fusion, heads, objectives, configs, checkpoints (no Qt, no napari)."""
