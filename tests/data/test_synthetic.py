import numpy as np

from napari_mg3d.data.synthetic import FINDINGS, ORGANS, make_case
from napari_mg3d.knowledge import split_sentences


def test_deterministic_by_seed():
    a, b = make_case(5, shape=(20, 40, 40)), make_case(5, shape=(20, 40, 40))
    np.testing.assert_array_equal(a.image, b.image)
    assert a.report == b.report and a.details == b.details
    assert make_case(6, shape=(20, 40, 40)).report != a.report or not np.array_equal(
        make_case(6, shape=(20, 40, 40)).image, a.image
    )


def test_anatomy_in_plausible_hu():
    case = make_case(1, findings=(), shape=(32, 64, 64), noise_hu=0.0)
    mean_hu = {name: float(case.image[case.organs == k].mean()) for k, name in ORGANS.items()}
    assert mean_hu["lung_right"] < -800 and mean_hu["lung_left"] < -800
    assert 20 < mean_hu["heart"] < 80
    assert mean_hu["spine"] > 300 and mean_hu["ribs"] > 500
    # the patient's right lung lies at x < 0 in LPS: the low half of the x axis
    right_x = np.argwhere(case.organs == 1)[:, 2].mean()
    assert right_x < 32


def test_findings_have_masks_labels_and_report_sentences():
    case = make_case(2, findings=FINDINGS, shape=(40, 80, 80))
    assert set(case.findings) == set(FINDINGS)
    assert all(mask.any() for mask in case.findings.values())
    assert all(v == 1 for v in case.labels.values())
    nodule = case.details["nodule"]
    assert f"{nodule['size_mm']:.0f} mm" in case.report and nodule["lobe"] in case.report
    assert case.image[case.findings["nodule"]].mean() > -100  # solid inside aerated lung

    clear = make_case(2, findings=(), shape=(40, 80, 80))
    assert not clear.findings and all(v == 0 for v in clear.labels.values())
    sentences = [s.text.lower() for s in split_sentences(clear.report)]
    assert any("no pleural effusion" in s or "effusion was not observed" in s for s in sentences)
