import numpy as np
import pytest

from napari_mg3d.data.synthetic import CT_RATE_LABEL, FINDINGS, LOBES, ORGANS, STYLES, make_case, write_report
from napari_mg3d.data.synthetic_anatomy import LOBE_ORGAN
from napari_mg3d.data.synthetic_lung_findings import nodule_size
from napari_mg3d.data.synthetic_report import ABBR
from napari_mg3d.knowledge import CT_RATE_LABELS, label_report, split_sentences

SMALL = (8, 16, 16)
# TotalSegmentator (v2) class names of the chest
TOTALSEG = {"lung_upper_lobe_left", "lung_lower_lobe_left", "lung_upper_lobe_right", "lung_middle_lobe_right",
            "lung_lower_lobe_right", "heart", "aorta", "esophagus", "trachea", "vertebrae", "ribs", "sternum",
            "liver", "stomach"}


def _organ(case, name):
    return case.organs == {v: k for k, v in ORGANS.items()}[name]


def test_deterministic_by_seed():
    a, b = make_case(5, shape=(20, 40, 40)), make_case(5, shape=(20, 40, 40))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.organs, b.organs)
    assert a.report == b.report and a.details == b.details and a.labels == b.labels
    c = make_case(6, shape=(20, 40, 40))
    assert c.report != a.report and not np.array_equal(c.image, a.image)


def test_labels_cover_the_ct_rate_labels_and_selection_is_explicit():
    assert set(CT_RATE_LABEL.values()) <= set(CT_RATE_LABELS) and len(set(CT_RATE_LABEL.values())) >= 14
    assert len(FINDINGS) == len(CT_RATE_LABEL)
    case = make_case(3, findings=("nodule", "pleural_effusion"), shape=SMALL)
    assert set(case.findings) == {"nodule", "pleural_effusion"} and set(case.labels) == set(CT_RATE_LABEL.values())
    assert sum(case.labels.values()) == 2
    with pytest.raises(ValueError):
        make_case(0, findings=("tumour",), shape=SMALL)
    with pytest.raises(ValueError):
        make_case(0, shape=SMALL, style="telegram")


def test_each_finding_is_drawn_about_a_third_of_the_time():
    counts = np.zeros(len(FINDINGS))
    for seed in range(150):
        case = make_case(seed, shape=(4, 8, 8))
        counts += [f in case.findings for f in FINDINGS]
        assert all(case.labels[CT_RATE_LABEL[f]] == int(f in case.findings) for f in FINDINGS)
    rates = counts / 150
    assert rates.min() > 0.15 and rates.max() < 0.45, dict(zip(FINDINGS, rates))


@pytest.mark.parametrize("seed", [1, 4])
def test_anatomy_is_plausible_and_varies(seed):
    case = make_case(seed, findings=(), shape=(32, 64, 64), noise_hu=0.0)
    names = set(ORGANS.values())
    assert names <= TOTALSEG and {LOBE_ORGAN[lobe] for lobe in LOBES} <= names
    mean_hu = {name: float(case.image[_organ(case, name)].mean()) for name in names if _organ(case, name).any()}
    assert all(mean_hu[LOBE_ORGAN[lobe]] < -700 for lobe in LOBES), mean_hu
    assert 20 < mean_hu["liver"] < 90 and mean_hu["vertebrae"] > 150 and mean_hu["ribs"] > 400, mean_hu
    assert mean_hu["heart"] > 10 and mean_hu["trachea"] < -100  # the trachea holds its air column
    # the patient's right lung lies at x < 0 in LPS (the low half of the x axis), the upper lobes above the lower
    where = {n: np.argwhere(_organ(case, n)).mean(0) for n in names if _organ(case, n).any()}
    assert where["lung_upper_lobe_right"][2] < 32 < where["lung_upper_lobe_left"][2]
    assert where["lung_upper_lobe_right"][0] > where["lung_lower_lobe_right"][0]
    assert where["lung_upper_lobe_left"][0] > where["lung_lower_lobe_left"][0]
    other = make_case(seed + 100, findings=(), shape=(32, 64, 64), noise_hu=0.0)
    volumes = [[(c.organs == k).sum() for k in ORGANS] for c in (case, other)]
    assert volumes[0] != volumes[1]  # no fixed template


def _body(image):
    """Every voxel between the first and last body voxel (> -300 HU) of its row along x."""
    dense = image > -300
    left, right = np.maximum.accumulate(dense, 2), np.maximum.accumulate(dense[..., ::-1], 2)[..., ::-1]
    return left & right


def _ring(mask, n=2):
    grown = mask.copy()
    for _ in range(n):
        for axis in (1, 2):
            grown |= np.roll(grown, 1, axis) | np.roll(grown, -1, axis)
    return grown & ~mask


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_finding_has_a_visible_mask_where_the_details_say(seed):
    case = make_case(seed, findings=FINDINGS, shape=(48, 96, 96), noise_hu=0.0)
    assert set(case.findings) == set(FINDINGS) == set(case.details)
    body = _body(case.image)
    lobe_of = {lobe: _organ(case, LOBE_ORGAN[lobe]) for lobe in LOBES}
    side_of = {s: np.any([lobe_of[lb] for lb in LOBES if LOBES[lb][0] == s], 0) for s in ("right", "left")}
    for finding, mask in case.findings.items():
        d = case.details[finding]
        assert mask.any() and (mask & body).sum() >= 0.98 * mask.sum(), finding
        if "lobe" in d:
            assert (mask & lobe_of[d["lobe"]]).sum() >= 0.8 * mask.sum(), (finding, d)
        if "lobes" in d:
            assert (mask & np.any([lobe_of[lb] for lb in d["lobes"]], 0)).sum() >= 0.8 * mask.sum(), (finding, d)
        if "side" in d:
            sides = ("right", "left") if d["side"] == "both" else (d["side"],)
            assert all((mask & side_of[s]).any() for s in sides) and (mask & side_of[sides[0]]).any()
            assert (mask & np.any([side_of[s] for s in sides], 0)).sum() >= 0.8 * mask.sum()
    for finding, organ in (("cardiomegaly", "heart"), ("pericardial_effusion", "heart"),
                           ("coronary_calcification", "heart"), ("arterial_calcification", "aorta"),
                           ("hiatal_hernia", "stomach")):
        mask = case.findings[finding]
        assert (mask & _organ(case, organ)).sum() >= 0.9 * mask.sum(), finding
    lungs = np.any(list(lobe_of.values()), 0)
    assert not (case.findings["lymphadenopathy"] & lungs).any()
    assert case.image[case.findings["medical_material"]].mean() > 2000
    assert case.image[case.findings["coronary_calcification"]].mean() > 300


@pytest.mark.parametrize("finding", FINDINGS)
def test_each_finding_looks_different_from_what_surrounds_it(finding):
    """Alone in a case, without noise: the mean HU inside the mask differs from a 2-voxel ring
    around it by more than 30 HU, in every seed tried (the ring within the lungs for a finding in
    the lungs, a whole consolidated lobe against the lobes beside it; else within the body)."""
    for seed in (0, 1, 2):
        case = make_case(seed, findings=(finding,), shape=(48, 96, 96), noise_hu=0.0)
        mask = case.findings[finding]
        lungs = (case.organs >= 1) & (case.organs <= 5)
        ring = _ring(mask) & (lungs if (mask & lungs).sum() > mask.sum() / 2 else _body(case.image))
        inside, around = case.image[mask].mean(), case.image[ring].mean()
        assert abs(inside - around) > 30, (finding, seed, inside, around)
        if finding == "lung_opacity":
            assert -700 < inside < -400  # ground glass, not solid


def test_nodule_sizes_span_a_few_millimetres_to_three_centimetres():
    rng = np.random.default_rng(0)
    sizes = np.array([nodule_size(rng) for _ in range(1000)])
    assert sizes.min() == 4 and sizes.max() >= 25 and sizes.max() <= 30
    assert 0.35 < ((sizes >= 6) & (sizes <= 10)).mean() < 0.65
    drawn = [make_case(s, findings=("nodule",), shape=SMALL).details["nodule"]["size_mm"] for s in range(40)]
    assert min(drawn) < 6 and max(drawn) > 10


def _pool(n=40):
    """Details of every finding from ``n`` cases (each case draws all findings)."""
    return [make_case(s, findings=FINDINGS, shape=SMALL).details for s in range(n)]


def _check_report(report, positives, details):
    """(whole-report agreement per label, sentence problems)."""
    read = label_report(report)
    problems = []
    stated = {f: False for f in positives}
    for sentence in split_sentences(report):
        found = {label for label, v in label_report(sentence.text).items() if v}
        extra = found - {CT_RATE_LABEL[f] for f in positives}
        if extra:
            problems.append((sentence.text, extra))
        for f in positives:
            if CT_RATE_LABEL[f] in found and sentence.section == "findings":
                stated[f] = True
                lobe = details[f].get("lobe")
                if lobe and lobe not in sentence.text and ABBR[lobe] not in sentence.text:
                    problems.append((sentence.text, f"no lobe {lobe}"))
    problems += [(f, "never stated") for f, ok in stated.items() if not ok]
    return {label: read[label] == int(any(CT_RATE_LABEL[f] == label for f in positives))
            for label in CT_RATE_LABEL.values()}, problems


@pytest.mark.parametrize("style", STYLES)
def test_reports_read_as_the_cases_labels_in_every_style(style):
    pool = _pool()
    rng = np.random.default_rng(len(style))
    agree = {label: 0 for label in CT_RATE_LABEL.values()}
    problems = []
    for i in range(300):
        base = pool[i % len(pool)]
        chosen = [f for f in FINDINGS if rng.random() < 0.3]
        details = {f: base[f] for f in chosen}
        report = write_report(details, rng, style=style)
        ok, bad = _check_report(report, chosen, details)
        for label, v in ok.items():
            agree[label] += v
        problems += bad
    assert min(agree.values()) >= 0.98 * 300, agree
    assert len(problems) <= 3, problems[:10]


def test_make_case_reports_agree_with_its_labels_and_styles_differ():
    for seed in range(12):
        for style in STYLES:
            case = make_case(seed, shape=SMALL, style=style)
            assert {k: v for k, v in label_report(case.report).items() if k in case.labels} == case.labels
            assert all(s.text for s in split_sentences(case.report))
    reports = {s: make_case(7, shape=SMALL, style=s).report for s in STYLES}
    assert reports["ct_rate"].startswith("Findings: ") and "\nImpression: " in reports["ct_rate"]
    assert "IMPRESSION:\n1. " in reports["us"] and "LUNGS AND AIRWAYS: " in reports["structured"]
    case = make_case(2, findings=("nodule",), shape=SMALL, style="ct_rate")
    nodule = case.details["nodule"]
    assert f"{nodule['size_mm']:.0f} mm" in case.report and nodule["lobe"] in case.report
    styles = {make_case(s, shape=SMALL).report.split(":")[0] for s in range(20)}
    assert len(styles) >= 2  # drawn at random when not given
