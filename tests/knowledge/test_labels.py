import csv

import pytest

from napari_mg3d.knowledge import CT_RATE_LABELS, label_report

NORMAL = (
    "Trachea, both main bronchi are open. Mediastinal main vascular structures, heart contour, size are normal. "
    "Pericardial effusion-thickening was not observed. No enlarged lymph nodes were detected in prevascular, "
    "pre-paratracheal, subcarinal or bilateral hilar-axillary pathological dimensions. When examined in the lung "
    "parenchyma window; Aeration of both lung parenchyma is normal and no nodular or infiltrative lesion is detected "
    "in the lung parenchyma. Pleural effusion-thickening was not detected. Upper abdominal organs included in the "
    "sections are normal. Bone structures in the study area are natural."
)


def test_normal_report_has_no_label():
    assert label_report(NORMAL) == {label: 0 for label in CT_RATE_LABELS}


@pytest.mark.parametrize(
    "sentence, label",
    [
        ("A port catheter extending from the right jugular vein to the vena cava is observed.", "Medical material"),
        ("Calcific atheroma plaques are observed in the aortic arch and descending aorta.", "Arterial wall calcification"),
        ("The cardiothoracic ratio increased in favor of the heart.", "Cardiomegaly"),
        ("Minimal pericardial effusion is observed.", "Pericardial effusion"),
        ("Calcified atheroma plaques are observed in the LAD.", "Coronary artery wall calcification"),
        ("Sliding type hiatal hernia is observed.", "Hiatal hernia"),
        ("Lymph nodes with a short axis reaching 11 mm are observed in the mediastinum.", "Lymphadenopathy"),
        ("Paraseptal emphysematous changes are observed in both lung apices.", "Emphysema"),
        ("Subsegmental atelectasis is observed in the left lower lobe.", "Atelectasis"),
        ("A 4 mm subpleural nodule is observed in the right lung middle lobe.", "Lung nodule"),
        ("Ground glass areas are observed in both lungs.", "Lung opacity"),
        ("Dependent density increases are observed in the lower lobes of both lungs.", "Lung opacity"),
        ("Pleuroparenchymal sequelae changes are observed in both lung apices.", "Pulmonary fibrotic sequela"),
        ("Pleural effusion measuring 3 cm in the thickest part is observed on the right.", "Pleural effusion"),
        ("Mosaic perfusion pattern is present in both lungs.", "Mosaic attenuation pattern"),
        ("Peribronchial thickness increases are observed in both lungs.", "Peribronchial thickening"),
        ("Patchy areas of consolidation involving the middle lobe are observed.", "Consolidation"),
        ("Cylindrical bronchiectasis is observed in the right lower lobe.", "Bronchiectasis"),
        ("There are thickenings in the interlobular septa.", "Interlobular septal thickening"),
        ("The heart is larger than normal.", "Cardiomegaly"),
        ("Linear density increases are observed in the middle lobe.", "Lung opacity"),
        # "consistent" is not a stent
        ("Density increases consistent with pneumonia are observed in the left lower lobe.", "Lung opacity"),
        # a ground-glass opacity beside it does not undo the thickening
        ("Peribronchial wall thickenings with ground-glass areas are observed in both lungs.",
         "Peribronchial thickening"),
    ],
)
def test_each_label_from_a_sentence(sentence, label):
    labels = label_report(NORMAL + " " + sentence)
    assert labels[label] == 1
    assert sum(labels.values()) <= 2  # the sentence does not light up unrelated labels


@pytest.mark.parametrize(
    "sentence, label",
    [
        ("Calcific atheroma plaques are observed in the coronary arteries.", "Arterial wall calcification"),
        ("A hypodense nodule is observed in the right lobe of the thyroid gland.", "Lung nodule"),
        ("Contrast material was given intravenously.", "Medical material"),
        ("An effusion is observed around the left kidney.", "Pleural effusion"),
        ("Nodular consolidation areas are observed in the right lower lobe.", "Lung nodule"),
        ("Liver parenchyma density is diffusely decreased.", "Lung opacity"),
        ("Vertebral corpus heights, alignments and densities are normal.", "Lung opacity"),
        ("Lymph nodes with fatty hila are observed in both axillae.", "Lymphadenopathy"),
        ("Sequelae changes are observed in the right 4th rib.", "Pulmonary fibrotic sequela"),
        ("The heart is not larger than normal.", "Cardiomegaly"),
        ("A linear density increase is observed in the T7 vertebra.", "Lung opacity"),
        ("A stent is observed in the left anterior descending artery; density increases in the liver.", "Lung opacity"),
        ("Ground glass areas along the peribronchial area and interlobular septal thickenings are observed.",
         "Peribronchial thickening"),
        ("Peribronchial ground glass densities are observed in the lower lobes.", "Peribronchial thickening"),
    ],
)
def test_mentions_that_do_not_count(sentence, label):
    assert label_report(NORMAL + " " + sentence)[label] == 0


def test_ct_rate_reports_f1(shared_data):
    """A regression guard on the 800 hand-labelled reports (bench/report_labels.py prints the table)."""
    path = shared_data / "ct-rate_ctclip_text_classifier" / "train.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    scores = []
    for label in CT_RATE_LABELS:
        pred = [label_report(r["report_text"])[label] for r in rows]
        tp = sum(p and r[label] == "1" for p, r in zip(pred, rows))
        fp = sum(p and r[label] == "0" for p, r in zip(pred, rows))
        fn = sum((not p) and r[label] == "1" for p, r in zip(pred, rows))
        scores.append(2 * tp / (2 * tp + fp + fn))
    assert sum(scores) / len(scores) >= 0.95
    assert min(scores) >= 0.90
