"""Random values in the official MG-3D key layout (../shared/reference): weights for the tests."""

from __future__ import annotations

from napari_mg3d.model.official_layout import random_official_state


def official_state(shared_data, variant: str) -> dict:
    return random_official_state(shared_data.parent / "reference" / f"mg3d_official_state_dict_swin_{variant}.json")
