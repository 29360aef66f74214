from pathlib import Path

import pytest

from napari_mg3d.io.windows import contrast_limits
from napari_mg3d.widgets.case import SENTENCE_ROLE, CaseWidget


@pytest.fixture
def viewer_with_case(make_napari_viewer, case_file):
    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    return viewer


def _sentence_items(widget):
    items = [widget.sentence_list.item(i) for i in range(widget.sentence_list.count())]
    return [it for it in items if it.data(SENTENCE_ROLE) is not None]


def test_report_is_listed_by_sentence_under_its_sections(viewer_with_case, synthetic_case, qtbot):
    widget = CaseWidget(viewer_with_case)
    qtbot.addWidget(widget)
    from napari_mg3d.knowledge import split_sentences

    texts = [it.text() for it in _sentence_items(widget)]
    assert texts[0] == split_sentences(synthetic_case.report)[0].text.removeprefix("Findings: ")
    assert any(synthetic_case.details["nodule"]["lobe"] in t for t in texts)
    headers = [widget.sentence_list.item(i).text() for i in range(widget.sentence_list.count())
               if widget.sentence_list.item(i).data(SENTENCE_ROLE) is None]
    assert headers == ["FINDINGS", "IMPRESSION"]
    assert "CT" in widget.info.text() and "48 x 48 x 24 voxels" in widget.info.text()
    # the file by name; its whole path in the tooltip
    source = viewer_with_case.layers[0].metadata.get("source")
    assert source
    assert widget.info.text().splitlines()[-1] == Path(source).name and widget.info.toolTip() == str(source)


def test_clicking_a_sentence_emits_it(viewer_with_case, qtbot):
    widget = CaseWidget(viewer_with_case)
    qtbot.addWidget(widget)
    second = _sentence_items(widget)[1]
    with qtbot.waitSignal(widget.sentence_selected) as signal:
        widget.sentence_list.setCurrentItem(second)
    assert signal.args == [1, second.text()]


def test_window_presets_set_contrast(viewer_with_case, qtbot):
    widget = CaseWidget(viewer_with_case)
    qtbot.addWidget(widget)
    assert widget.window_box.currentText() == "soft tissue"  # the reader's default for CT
    widget.window_box.setCurrentText("lung")
    assert tuple(viewer_with_case.layers[0].contrast_limits) == contrast_limits("lung") == (-1350.0, 150.0)


def test_follows_layers_and_tells_when_no_report(make_napari_viewer, qtbot):
    import numpy as np

    viewer = make_napari_viewer()
    widget = CaseWidget(viewer)
    qtbot.addWidget(widget)
    assert "Open a volume" in widget.info.text()
    viewer.add_image(np.zeros((4, 5, 6)), name="plain")
    assert widget.layer_box.currentText() == "plain"
    assert "No report" in widget.sentence_list.item(0).text()
    viewer.layers.clear()
    assert widget.layer_box.count() == 0


def test_sentences_colored_by_status_and_grouped_by_anatomy(viewer_with_case, synthetic_case, qtbot):
    from napari_mg3d.widgets.case import STATUS_COLORS

    widget = CaseWidget(viewer_with_case)
    qtbot.addWidget(widget)
    items = {it.text(): it for it in _sentence_items(widget)}
    nodule = next(t for t in items if "nodule" in t and synthetic_case.details["nodule"]["lobe"] in t)
    assert items[nodule].foreground().color().name() == STATUS_COLORS["present"]
    assert "Lung nodule (present)" in items[nodule].toolTip()
    denied = next(t for t in items if "consolidation" in t.lower())
    assert items[denied].foreground().color().name() == STATUS_COLORS["absent"]
    widget.group_box.setCurrentText("anatomy")
    headers = [widget.sentence_list.item(i).text() for i in range(widget.sentence_list.count())
               if widget.sentence_list.item(i).data(SENTENCE_ROLE) is None]
    assert "LUNG" in headers and "PLEURA" in headers
    assert len(_sentence_items(widget)) == len(widget.sentences)
