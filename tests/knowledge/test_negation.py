import pytest

from napari_mg3d.knowledge.negation import ABSENT, PRESENT, UNCERTAIN, mention_status


def status(text: str, word: str) -> str:
    i = text.lower().index(word.lower())
    return mention_status(text, i, i + len(word))


@pytest.mark.parametrize(
    "text, word, expected",
    [
        ("No pleural effusion.", "effusion", ABSENT),
        ("Pleural effusion-thickening was not detected.", "effusion", ABSENT),
        ("Pericardial effusion-thickening was not observed.", "effusion", ABSENT),
        ("No enlarged lymph nodes were detected in prevascular or subcarinal areas.", "lymph nodes", ABSENT),
        ("There is no nodule, mass or consolidation in either lung.", "consolidation", ABSENT),
        ("Aeration of both lungs is normal and no nodular or infiltrative lesion is detected.", "infiltrative", ABSENT),
        ("The effusion seen before has resolved.", "effusion", ABSENT),
        ("The catheter, which was observed in the previous examination, was removed.", "catheter", ABSENT),
        ("Pleural effusion is present.", "effusion", PRESENT),
        ("Bilateral pleural effusion is observed.", "effusion", PRESENT),
        ("A nodule, which was not observed in the previous examination, is seen.", "nodule", PRESENT),
        ("No pathological wall thickening was observed, and there are metallic sutures.", "sutures", PRESENT),
        ("No effusion; consolidation in the right lower lobe.", "consolidation", PRESENT),
        ("Small airway disease is not excluded but emphysema is seen.", "emphysema", PRESENT),
        ("Edema-inflammation, mediastinitis in fatty planes in the mediastinum?", "mediastinitis", UNCERTAIN),
        ("Findings may be compatible with pneumonic infiltration.", "infiltration", UNCERTAIN),
        ("Metastasis cannot be excluded.", "metastasis", UNCERTAIN),
        ("Suspicious for atelectasis in the left lower lobe.", "atelectasis", UNCERTAIN),
        ("Mediastinal lymph nodes are not pathologically enlarged.", "lymph", ABSENT),
        ("Lymph nodes were enlarged.", "lymph", PRESENT),
        ("Pericardial effusion, the heart is not enlarged.", "effusion", PRESENT),
    ],
)
def test_negation_and_uncertainty_scope(text, word, expected):
    assert status(text, word) == expected
