"""The viewer stays responsive: a QTimer heartbeat never waits more than 200 ms while a real encode
(zero-shot findings and attention maps) and a real training run are under way."""

import time

from qtpy.QtCore import QTimer

MAX_GAP_S = 0.2


def test_event_loop_never_stalls_during_encode_and_training(loaded_session, widget_data, qtbot, tmp_path):
    from napari_mg3d.widgets.case import CaseWidget
    from napari_mg3d.widgets.findings import FindingsWidget
    from napari_mg3d.widgets.training import TrainingWidget

    viewer, _ = loaded_session
    findings, case, training = FindingsWidget(viewer), CaseWidget(viewer), TrainingWidget(viewer)
    for w in (findings, case, training):
        qtbot.addWidget(w)
    training.manifest.setText(str(widget_data[1]))
    training.out.setText(str(tmp_path / "run"))
    training.steps.setValue(6)
    training.batch.setValue(2)
    training.extra.setText("log_every=1 checkpoint_every=3 num_workers=0")

    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    qtbot.wait(100)
    training.start()
    findings.run()
    case.phrase.setText("pleural effusion")
    case.phrase_button.click()
    qtbot.waitUntil(lambda: not findings.taskbar.busy() and not case.taskbar.busy() and not training.running(),
                    timeout=240_000)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert findings.table.rowCount() == 18 and "attention: pleural effusion" in viewer.layers
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert len(ticks) > 100
    assert max(gaps) < MAX_GAP_S, f"the event loop stalled {max(gaps) * 1000:.0f} ms"
