"""The viewer stays responsive while a real encode (zero-shot findings and attention maps) and a real
training run are under way: between two beats of a 10 ms QTimer heartbeat the event loop's own thread
never computes more than 100 ms, and never waits more than 500 ms in all.

The two are measured apart because the wall-clock gap also holds time the thread was not running at
all: on CI's two cores the other test worker and the training process take turns with it (CI once
saw a 318 ms gap; here, beside two busy processes, the heaviest turn, showing a sentence's map,
computed 44 ms in 100 ms of wall time, and 33 ms at most with nothing beside it). The CPU time between
two beats is what the viewer's own code spends in one turn of the loop; the wall-clock bound catches
a thread that waits on something (a lock, the GIL held by a worker, a file) instead of computing."""

import time

from qtpy.QtCore import QTimer

MAX_CPU_S = 0.1
MAX_WALL_S = 0.5


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
    timer.timeout.connect(lambda: ticks.append((time.monotonic(), time.thread_time())))  # the main thread's
    timer.start()
    qtbot.wait(100)
    training.start()  # three clicks, each in its own turn of the loop, as a user makes them
    qtbot.wait(50)
    findings.run()
    qtbot.wait(50)
    case.phrase.setText("pleural effusion")
    case.phrase_button.click()
    qtbot.waitUntil(lambda: not findings.taskbar.busy() and not case.taskbar.busy() and not training.running(),
                    timeout=240_000)
    timer.stop()
    wall = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
    cpu = [b[1] - a[1] for a, b in zip(ticks, ticks[1:])]
    assert findings.table.rowCount() == 18 and "attention: pleural effusion" in viewer.layers
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert len(ticks) > 100
    assert max(cpu) < MAX_CPU_S, f"one turn of the event loop computed {max(cpu) * 1000:.0f} ms"
    assert max(wall) < MAX_WALL_S, f"the event loop stalled {max(wall) * 1000:.0f} ms"
