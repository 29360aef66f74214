from qtpy.QtCore import Qt

from napari_mg3d.widgets.findings import FindingsWidget


def test_findings_table_lists_every_label_sorted_with_the_report_statement(loaded_session, qtbot, wait_task,
                                                                            synthetic_case):
    viewer, _ = loaded_session
    widget = FindingsWidget(viewer)
    qtbot.addWidget(widget)
    assert widget.layer_box.currentText() == viewer.layers[0].name
    widget.run()
    wait_task(widget)
    table = widget.table
    assert table.rowCount() == 18 and set(widget.results) == {table.item(r, 0).text() for r in range(18)}
    probs = [table.item(r, 1).data(Qt.ItemDataRole.DisplayRole) for r in range(18)]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    rows = {table.item(r, 0).text(): r for r in range(18)}
    nodule = table.item(rows["Lung nodule"], 2).text()
    assert nodule.startswith("[present]") and synthetic_case.details["nodule"]["lobe"] in nodule
    assert table.item(rows["Consolidation"], 2).text().startswith("[absent]")
    assert table.item(rows["Hiatal hernia"], 2).text() == ""  # the report does not speak of it
    table.sortItems(0, Qt.SortOrder.AscendingOrder)  # sortable by label too
    assert table.item(0, 0).text() == "Arterial wall calcification"


def test_findings_need_a_model(make_napari_viewer, case_file, qtbot, monkeypatch):
    import napari.utils.notifications as notifications

    said = []
    monkeypatch.setattr(notifications, "show_info", said.append)
    viewer = make_napari_viewer()
    viewer.open(case_file, plugin="napari-mg3d")
    widget = FindingsWidget(viewer)
    qtbot.addWidget(widget)
    assert widget.run() is None and "Load a model" in said[0] and widget.table.rowCount() == 0


def test_cancel_stops_the_task_before_it_shows_anything(loaded_session, qtbot, wait_task, monkeypatch):
    from napari_mg3d.widgets import tasks

    said = []
    monkeypatch.setattr(tasks, "show_info", said.append)
    viewer, _ = loaded_session
    widget = FindingsWidget(viewer)
    qtbot.addWidget(widget)
    widget.run()
    assert widget.taskbar.cancel.isEnabled()
    widget.taskbar.cancel.click()
    wait_task(widget)
    qtbot.waitUntil(lambda: bool(said), timeout=10_000)
    assert "cancelled" in said[0] and widget.table.rowCount() == 0 and widget.results == {}
    assert not widget.taskbar.cancel.isEnabled()


def test_labels_the_model_never_learnt_are_listed_apart_with_no_number(loaded_session, qtbot, wait_task, tmp_path):
    """A checkpoint whose training reports stated six labels (and not the other twelve, or always):
    six rows with a probability, the other twelve named apart with none."""
    from napari_mg3d.knowledge.prompts import default_prompts
    from napari_mg3d.model.capabilities import learnt_labels
    from napari_mg3d.model.checkpoint import read_checkpoint, save_checkpoint
    from napari_mg3d.model.factory import create_model

    viewer, model_widget = loaded_session
    labels = [p.label for p in default_prompts()]
    # the first six stated by 20 of 40 training reports; the others by none of them, or by all
    counts = {label: {"positive": n, "negative": 40 - n}
              for i, label in enumerate(labels) for n in [20 if i < 6 else 40 * (i % 2)]}
    source = model_widget.path.text()
    _, meta = read_checkpoint(source)
    path = save_checkpoint(create_model("mg3d-tiny", checkpoint=source, device="cpu"), tmp_path / "learnt.safetensors",
                           profile=meta["profile"], prompts=meta["prompts"], extra={
                               "findings_learnt": counts,
                               # the global reading alone, softened on 24 validation cases
                               "findings_calibration": {label: [1.0, 0.0, 0.0, 0.0] for label in labels[:6]},
                               "findings_temperature": {"cases": 24, "temperature": 2.0}})
    assert set(learnt_labels({"findings_learnt": counts})) == set(labels[:6])
    model_widget.path.setText(str(path))
    model_widget.load()
    wait_task(model_widget)
    widget = FindingsWidget(viewer)
    qtbot.addWidget(widget)
    widget.run()
    wait_task(widget)
    shown = {widget.table.item(r, 0).text() for r in range(widget.table.rowCount())}
    assert shown == set(labels[:6]) == set(widget.results)
    assert widget.not_learnt == labels[6:]
    assert "Not learnt by this model" in widget.note.text() and all(label in widget.note.text() for label in labels[6:])
    # how the probabilities were calibrated, in the Model widget and under the table
    said = "findings calibrated on its training cases (6 labels), softened by temperature 2.00 fitted on 24 validation cases"
    assert said in model_widget.info.text() and said[1:] in widget.note.text()
    assert "Findings calibrated" in widget.note.text() and "calibrated" not in model_widget.info.text().replace(said, "")
