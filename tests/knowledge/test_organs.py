"""Which organs of a segmentation a sentence speaks of (TotalSegmentator's names)."""

import pytest

from napari_mg3d.knowledge.organs import organs_named, sides

TOTALSEG = ["lung_upper_lobe_left", "lung_lower_lobe_left", "lung_upper_lobe_right", "lung_middle_lobe_right",
            "lung_lower_lobe_right", "heart", "aorta", "esophagus", "trachea", "vertebrae_T5", "rib_left_4",
            "rib_right_4", "liver"]


@pytest.mark.parametrize("sentence, organs", [
    ("A 7 mm nodule is seen in the right upper lobe.", ["lung_upper_lobe_right"]),
    ("RLL consolidation.", ["lung_lower_lobe_right"]),
    ("Nodule in the lower lobe of the left lung.", ["lung_lower_lobe_left"]),
    ("There is emphysema in both upper lobes.", ["lung_upper_lobe_left", "lung_upper_lobe_right"]),
    ("Left pleural effusion.", ["lung_upper_lobe_left", "lung_lower_lobe_left"]),
    ("Ground-glass opacity in the right lung.", ["lung_upper_lobe_right", "lung_middle_lobe_right",
                                                 "lung_lower_lobe_right"]),
    ("The heart is enlarged.", ["heart"]),
    ("Minimal pericardial effusion.", ["heart"]),
    ("Calcified plaques in the wall of the aorta.", ["aorta"]),
    ("Small sliding hiatal hernia.", ["esophagus"]),
    ("Degenerative changes of the vertebrae and a healed left rib fracture.", ["vertebrae_T5", "rib_left_4"]),
    ("Hepatic steatosis.", ["liver"]),
    ("A lesion is seen.", []),
])
def test_a_sentence_names_the_organs_it_speaks_of(sentence, organs):
    assert list(organs_named(sentence, TOTALSEG)) == organs


def test_whole_lungs_and_unnamed_sides():
    names = ["lung_right", "lung_left", "heart"]
    assert organs_named("Nodule in the right middle lobe.", names) == ("lung_right",)  # no lobes: the lung
    assert organs_named("Bilateral pleural effusion.", names) == ("lung_right", "lung_left")
    assert sides("No effusion on either side.") == ("right", "left") and sides("Cardiomegaly.") == ()
