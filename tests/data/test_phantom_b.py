"""Family B phantoms: interface, determinism, masks where the details say, appearance, reports the
labeller reads back, nodule sizes, organ names and generation time."""

import time

import numpy as np
import pytest

from napari_mg3d.data.phantom_b import CT_RATE_LABEL, FINDINGS, ORGANS, make_case, plan_case
from napari_mg3d.knowledge.labels import CT_RATE_LABELS, label_report
from napari_mg3d.knowledge.sentences import split_sentences

LOBE_ID = {"right upper lobe": 3, "right middle lobe": 4, "right lower lobe": 5, "left upper lobe": 1,
           "left lower lobe": 2}
LUNG = (1, 2, 3, 4, 5)
# TotalSegmentator class names (v1/v2 "total" task) this family may use
TOTALSEG = {
    "lung_upper_lobe_left", "lung_lower_lobe_left", "lung_upper_lobe_right", "lung_middle_lobe_right",
    "lung_lower_lobe_right", "trachea", "esophagus", "heart", "aorta", "pulmonary_artery", "superior_vena_cava",
    "vertebrae", "ribs", "sternum", "liver", "stomach", "spleen", "thyroid_gland", "inferior_vena_cava",
    "costal_cartilages", "kidney_left", "kidney_right",
}
SEEDS_ALL = (0, 1, 2, 3)  # every finding drawn
SEEDS_RANDOM = (10, 11, 12, 13, 14, 15)


@pytest.fixture(scope="module")
def cases():
    out = [make_case(s, findings=FINDINGS) for s in SEEDS_ALL]
    return out + [make_case(s) for s in SEEDS_RANDOM]


def _dilate(mask, n=1):
    out = mask.copy()
    for _ in range(n):
        d = out.copy()
        d[1:] |= out[:-1]
        d[:-1] |= out[1:]
        d[:, 1:] |= out[:, :-1]
        d[:, :-1] |= out[:, 1:]
        d[:, :, 1:] |= out[:, :, :-1]
        d[:, :, :-1] |= out[:, :, 1:]
        out = d
    return out


def _x_mm(case, mask):
    sx = case.geometry.spacing[0]
    return case.geometry.origin[0] + np.nonzero(mask)[2] * sx


def _inside_body(image):
    """Voxels with body tissue on both sides along x and along y (the body's hull, slice by slice)."""
    tissue = image > -400
    out = np.ones_like(tissue)
    for axis in (1, 2):
        fwd = np.maximum.accumulate(tissue, axis=axis)
        bwd = np.flip(np.maximum.accumulate(np.flip(tissue, axis), axis=axis), axis)
        out &= fwd & bwd
    return out


def test_interface_and_determinism():
    a, b, c = make_case(7), make_case(7), make_case(8)
    assert a.case_id == "phantomb-00007"
    assert a.image.dtype == np.int16 and a.image.shape == (64, 128, 128)
    assert a.organs.dtype == np.uint8 and a.organs.shape == a.image.shape
    assert np.array_equal(a.image, b.image) and np.array_equal(a.organs, b.organs)
    assert a.report == b.report and a.details == b.details and a.labels == b.labels
    assert a.findings.keys() == b.findings.keys()
    assert all(np.array_equal(a.findings[f], b.findings[f]) for f in a.findings)
    assert not np.array_equal(a.image, c.image)
    g = a.geometry
    assert g.spacing == (2.75, 2.75, 5.0) and g.direction == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    centre = g.index_to_world([(n - 1) / 2 for n in a.image.shape[::-1]])
    assert np.allclose(centre, 0)
    assert set(a.labels) == set(CT_RATE_LABEL.values()) and set(a.labels) <= set(CT_RATE_LABELS)
    assert {f for f in FINDINGS if a.labels[CT_RATE_LABEL[f]]} == set(a.findings) == set(a.details)
    assert make_case(7, findings=()).findings == {}
    with pytest.raises(ValueError):
        make_case(7, findings=("lung_nodule", "unicorn"))
    assert len(FINDINGS) >= 11 and set(CT_RATE_LABEL) == set(FINDINGS)


def test_organ_names_are_totalsegmentator_style(cases):
    assert set(ORGANS.values()) <= TOTALSEG
    for case in cases:
        assert set(np.unique(case.organs)) <= {0, *ORGANS}
        for lobe in LUNG:  # every lobe drawn, on its side
            x = _x_mm(case, case.organs == lobe)
            assert x.size and ((x < 0).mean() > 0.97 if "right" in ORGANS[lobe] else (x > 0).mean() > 0.97)


def test_masks_nonempty_in_body_and_where_the_details_say(cases):
    for case in cases:
        body = _inside_body(case.image)
        for name, mask in case.findings.items():
            d = case.details[name]
            assert mask.any(), (case.case_id, name)
            assert body[mask].mean() > 0.98, (case.case_id, name)
            x = _x_mm(case, mask)
            if d["side"] in ("right", "left"):
                sign = -1 if d["side"] == "right" else 1
                share = 0.6 if name == "medical_material" else 0.9  # a device's lead crosses to the heart
                assert (sign * x > 0).mean() > share, (case.case_id, name)
            if d["side"] == "bilateral":
                assert (x < 0).any() and (x > 0).any(), (case.case_id, name)
            organs = case.organs[mask]
            if name == "lung_nodule":
                assert np.isin(organs, [LOBE_ID[lobe] for _, lobe in d["nodules"]]).all()
            elif "lobe" in d and d["lobe"] in LOBE_ID:
                assert (organs == LOBE_ID[d["lobe"]]).all(), (case.case_id, name)
            elif name == "emphysema":
                assert np.isin(organs, (1, 3)).all()
            elif name == "septal_thickening":
                assert np.isin(organs, (2, 5)).all()
            elif name in ("pleural_effusion", "pericardial_effusion", "lymphadenopathy"):
                assert (organs == 0).all()
            elif name == "aortic_calcification":
                assert (organs == 9).all()
            elif name in ("coronary_calcification", "cardiomegaly"):
                assert (organs == 8).all()
            elif name == "hiatal_hernia":
                assert (organs == 16).all()
            if name == "pericardial_effusion":
                assert (_dilate(case.organs == 8, 2) & mask).any()
            if name == "lymphadenopathy":
                assert np.abs(x).max() < 90  # mediastinum and hila


def _ring(case, mask, lung_only):
    ring = _dilate(mask, 2) & ~mask
    others = np.zeros_like(mask)
    for m in case.findings.values():
        others |= m
    ring &= ~others
    return ring & np.isin(case.organs, LUNG) if lung_only else ring


def test_findings_look_different_from_their_surroundings(cases):
    for case in cases:
        img = case.image.astype(float)
        for name, mask in case.findings.items():
            inside = img[mask].mean()
            if name in ("consolidation", "atelectasis", "lung_nodule", "pleural_effusion", "ground_glass",
                        "septal_thickening", "emphysema", "bronchiectasis"):
                ring = _ring(case, mask, lung_only=True)
                if ring.sum() < 5:
                    continue
                diff = inside - img[ring].mean()
                want = {"ground_glass": 150, "septal_thickening": 120, "bronchiectasis": 150}.get(name, 300)
                if name == "emphysema":
                    assert diff < -50, (case.case_id, name, diff)
                else:
                    assert diff > want, (case.case_id, name, diff)
            if name == "bronchiectasis":  # air lumen inside a soft-tissue wall
                assert (img[mask] < -900).any() and (img[mask] > -200).mean() > 0.2, case.case_id
            if name == "lymphadenopathy":
                assert 20 < inside < 70, (case.case_id, inside)
                around = _ring(case, mask, False) & (case.organs == 0)  # mediastinal fat, lung, fluid
                assert around.sum() < 5 or inside - img[around].mean() > 60, (case.case_id, img[around].mean())
            if name == "pericardial_effusion":
                assert img[case.organs == 8].mean() - inside > 20 and inside < 20, (case.case_id, inside)
            if name in ("aortic_calcification", "coronary_calcification"):
                assert inside > 300, (case.case_id, name, inside)
            if name == "medical_material":
                assert img[mask].max() > 1500 and inside > 500, (case.case_id, inside)
            if name == "hiatal_hernia":
                assert (img[mask] > 0).mean() > 0.5 and (img[mask] < -900).any(), case.case_id


def _ctr(case):
    heart = case.organs == 8
    chest = np.isin(case.organs, (*LUNG, 8))
    for name in ("pleural_effusion", "pericardial_effusion"):
        if name in case.findings:
            chest |= case.findings[name]
    best = (0, 1)
    for z in range(heart.shape[0]):
        cols = np.flatnonzero(heart[z].any(0))
        if cols.size and cols[-1] - cols[0] + 1 > best[0]:
            span = np.flatnonzero(chest[z].any(0))
            best = (cols[-1] - cols[0] + 1, span[-1] - span[0] + 1)
    return best[0] / best[1]


def test_cardiomegaly_is_a_wider_heart():
    for seed in range(4):
        assert _ctr(make_case(seed, findings=("cardiomegaly",))) > 0.55
        assert _ctr(make_case(seed, findings=())) < 0.5


def test_reports_read_back_by_the_labeller():
    n, exact = 400, 0
    agree = {label: 0 for label in CT_RATE_LABEL.values()}
    for seed in range(n):
        plan = plan_case(seed)
        found = label_report(plan.report)
        exact += all(found[k] == v for k, v in plan.labels.items())
        for k, v in plan.labels.items():
            agree[k] += found[k] == v
        assert not any(found[k] for k in CT_RATE_LABELS if k not in plan.labels), seed
        sentences = split_sentences(plan.report)
        for name in plan.details:  # each present finding stated in a sentence of its own label
            label = CT_RATE_LABEL[name]
            assert any(label_report(s.text)[label] for s in sentences if s.section == "findings"), (seed, name)
            assert any(label_report(s.text)[label] for s in sentences if s.section == "impression"), (seed, name)
        for s in sentences:  # and no sentence states a finding that is not there
            said = {k for k, v in label_report(s.text).items() if v}
            assert said <= {CT_RATE_LABEL[f] for f in plan.details}, (seed, s.text)
    assert exact / n >= 0.98
    assert all(v / n >= 0.98 for v in agree.values()), agree
    # the drawn cases carry the planned report
    for seed in (5, 6):
        case, plan = make_case(seed), plan_case(seed)
        assert case.report == plan.report and case.labels == plan.labels and case.details == plan.details


def test_reports_vary_and_deny_absent_findings():
    reports = [plan_case(s).report for s in range(60)]
    assert len(set(reports)) == 60
    lines = {line for r in reports for line in r.splitlines()}
    assert len(lines) > 150
    empty = plan_case(3, findings=())
    assert not any(label_report(empty.report).values())
    assert "IMPRESSION:" in empty.report and "FINDINGS:" in empty.report


def test_nodule_sizes_span_small_nodules():
    sizes = [s for seed in range(400) for s, _ in plan_case(seed, findings=("lung_nodule",)).details["lung_nodule"]["nodules"]]
    sizes = np.array(sizes)
    assert sizes.min() >= 4 and sizes.max() <= 30
    assert ((sizes >= 6) & (sizes <= 10)).mean() > 0.4
    assert (sizes > 15).any() and (sizes < 6).any()
    for seed in range(6):  # the drawn nodule has about the stated size
        case = make_case(seed, findings=("lung_nodule",))
        d = case.details["lung_nodule"]
        if d["count"] == 1 and d["size_mm"] >= 6:
            voxel = np.prod(case.geometry.spacing)
            diameter = (6 * case.findings["lung_nodule"].sum() * voxel / np.pi) ** (1 / 3)
            assert 0.6 * d["size_mm"] < diameter < 1.5 * d["size_mm"], (seed, d["size_mm"], diameter)


def test_generation_time():
    make_case(0)
    cpu, wall = [], []
    for seed in (21, 22, 23):
        t0, c0 = time.perf_counter(), time.process_time()
        make_case(seed)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"family B case: median wall {np.median(wall):.3f} s, cpu {np.median(cpu):.3f} s")
    assert np.median(cpu) < 0.6  # CPU time: stable on a shared machine; wall time is checked loosely
    assert np.median(wall) < 2.0
