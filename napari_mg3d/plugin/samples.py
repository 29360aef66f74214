"""File > Open Sample: a synthetic chest CT with its report, and the TotalSegmentator example CT."""

from __future__ import annotations

from ..data.synthetic import ORGANS, make_case
from ..io.volume import Volume, read_volume
from .layers import image_layer, labels_layer

SAMPLE_SEED = 7
SAMPLE_FINDINGS = ("nodule", "pleural_effusion", "cardiomegaly", "arterial_calcification")


def synthetic_chest_ct() -> list[tuple]:
    """A generated chest-CT-like case with four findings, its report and organ labels."""
    case = make_case(SAMPLE_SEED, findings=SAMPLE_FINDINGS)
    volume = Volume(case.image, case.geometry, f"synthetic:{case.case_id}", case.case_id, "CT")
    image = image_layer(volume, case.report)
    image[1]["metadata"].update(case_id=case.case_id, labels=case.labels)
    organs = labels_layer(case.organs, case.geometry, f"{case.case_id} organs", volume.source, ORGANS)
    return [image, organs]


def totalsegmentator_ct() -> list[tuple]:
    """The public TotalSegmentator example CT, downloaded once (fixed sha256) and cached."""
    from ..data.examples import fetch_example_ct

    # offline, fetch_example_ct raises InputError: napari shows its one line as a notification
    return [image_layer(read_volume(fetch_example_ct()), name="TotalSegmentator example CT")]
