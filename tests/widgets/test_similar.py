import pytest

from napari_mg3d.widgets.similar import SimilarWidget


@pytest.fixture(scope="module")
def library(widget_data):
    from napari_mg3d.inference.library_commands import add_manifest

    folder, manifest, checkpoint, _ = widget_data
    add_manifest(folder / "library", manifest, checkpoint, device="cpu")
    return folder / "library"


def test_search_by_volume_lists_ranked_hits_with_thumbnails_and_opens_one_beside(
        loaded_session, library, qtbot, wait_task):
    viewer, _ = loaded_session
    widget = SimilarWidget(viewer)
    qtbot.addWidget(widget)
    widget.library.setText(str(library))
    widget.k.setValue(4)
    widget.mode.setCurrentText("this volume")
    widget.search()
    wait_task(widget)
    assert len(widget.hits) == 4 and widget.hits_list.count() == 4
    scores = [h.score for h in widget.hits]
    assert scores == sorted(scores, reverse=True)
    for i in range(4):
        item = widget.hits_list.item(i)
        assert not item.icon().isNull() and widget.hits[i].case_id in item.text()
    assert widget.session.library == str(library)
    # the selected hit's report, the sentences stating the query's findings in bold
    hit = widget.selected_hit()
    html = widget.report.toHtml()
    assert hit.case_id in html
    matches = widget.matching_sentences(hit)
    from napari_mg3d.knowledge.report import parse_report

    sentences = parse_report(hit.report).sentences
    assert all(any(f.name in widget.query_findings for f in sentences[i].findings) for i in matches)
    assert widget.query_findings == {"Lung nodule", "Pleural effusion"}
    # open it beside the current case
    before = len(viewer.layers)
    widget.open_hit()
    wait_task(widget)
    added = list(viewer.layers)[before:]
    assert added and all(la.name.startswith(f"similar {hit.case_id}") for la in added)
    assert added[0].extent.world[0][2] > viewer.layers[0].extent.world[1][2]  # to the right, not on top
    assert widget.layer_box.currentText() == viewer.layers[0].name  # a hit is not taken for the query case


def test_search_by_typed_text(loaded_session, library, qtbot, wait_task):
    viewer, _ = loaded_session
    widget = SimilarWidget(viewer)
    qtbot.addWidget(widget)
    widget.library.setText(str(library))
    widget.mode.setCurrentText("typed text")
    widget.text.setText("Pleural effusion on the right.")
    widget.search()
    wait_task(widget)
    assert len(widget.hits) == 6 and widget.query_findings == {"Pleural effusion"}


def test_a_library_of_another_model_is_refused(loaded_session, widget_data, qtbot, wait_task, monkeypatch, tmp_path):
    import torch

    from napari_mg3d.data.profiles import get_profile
    from napari_mg3d.inference.library_commands import add_manifest
    from napari_mg3d.model.checkpoint import save_checkpoint
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.widgets import tasks

    torch.manual_seed(5)
    other = save_checkpoint(create_model("mg3d-tiny", device="cpu"), tmp_path / "other.safetensors",
                            profile=get_profile("synthetic-tiny").to_dict())
    add_manifest(tmp_path / "other-lib", widget_data[1], other, device="cpu")
    errors = []
    monkeypatch.setattr(tasks, "show_error", errors.append)
    viewer, _ = loaded_session
    widget = SimilarWidget(viewer)
    qtbot.addWidget(widget)
    widget.library.setText(str(tmp_path / "other-lib"))
    widget.search()
    wait_task(widget)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert "built with another model" in errors[0] and widget.hits_list.count() == 0


def test_one_case_is_encoded_once_for_its_maps_findings_and_similar_cases(loaded_session, library, qtbot, wait_task,
                                                                          monkeypatch):
    """The Case, Findings and Similar widgets asked at once about the same volume: one encode,
    kept by the session while the case is open; a model loaded or the layer closed drops it. The
    label prompts are embedded as the model loads, never by a case's findings."""
    from napari_mg3d.inference import zeroshot
    from napari_mg3d.widgets.case import CaseWidget
    from napari_mg3d.widgets.findings import FindingsWidget

    from napari_mg3d.widgets.session import session_for

    viewer, model_widget = loaded_session
    encoder = session_for(viewer).loaded.model.vision_encoder
    calls, forward = [], encoder.forward
    monkeypatch.setattr(encoder, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    prompts, embed = [], zeroshot.prompt_embeddings
    monkeypatch.setattr(zeroshot, "prompt_embeddings", lambda *a, **k: prompts.append(1) or embed(*a, **k))
    # the Case widget encodes the case as it opens it (the out-of-distribution check), in the background
    case, found, similar = CaseWidget(viewer), FindingsWidget(viewer), SimilarWidget(viewer)
    for w in (case, found, similar):
        qtbot.addWidget(w)
    session, image = case.session, viewer.layers[0]
    similar.library.setText(str(library))
    similar.mode.setCurrentText("this volume")
    case.phrase.setText("pleural effusion")
    case.phrase_button.click()
    found.run()
    similar.search()
    for w in (case, found, similar):
        wait_task(w)
    assert len(calls) == 1
    assert "attention: pleural effusion" in viewer.layers and found.table.rowCount() == 18 and similar.hits
    assert session.has_case_features(session.loaded, image)
    found.run()
    wait_task(found)
    assert len(calls) == 1 and prompts == []
    model_widget.load()  # the same checkpoint again: another model, the case's features dropped
    wait_task(model_widget)
    assert not session.has_case_features(session.loaded, image) and len(prompts) == 1
    found.run()
    wait_task(found)
    assert len(prompts) == 1
    assert session.has_case_features(session.loaded, image)
    viewer.layers.remove(image)
    assert session._case is None
