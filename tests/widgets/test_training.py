import json

from napari_mg3d.widgets.training import TrainingWidget


def _events(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_start_watch_stop_resume_and_load_a_training_run(make_napari_viewer, widget_data, qtbot, tmp_path,
                                                         wait_task):
    viewer = make_napari_viewer()
    widget = TrainingWidget(viewer)
    qtbot.addWidget(widget)
    out = tmp_path / "run"
    widget.kind.setCurrentText("pretrain")
    widget.manifest.setText(str(widget_data[1]))
    widget.out.setText(str(out))
    widget.steps.setValue(40)
    widget.batch.setValue(2)
    widget.extra.setText("log_every=1 checkpoint_every=2 warmup_steps=2 lr=0.001 num_workers=0")
    widget.start()
    assert widget.running() and not widget.start_button.isEnabled()
    # live: progress, ETA and the loss curve come from the run's metrics file
    qtbot.waitUntil(lambda: widget.progress.value() >= 3, timeout=300_000)
    assert widget.progress.maximum() == 40 and "ETA" in widget.status.text()
    assert len(widget.plot.series["loss"]) >= 3
    widget.stop()
    qtbot.waitUntil(lambda: not widget.running(), timeout=120_000)
    stopped = next(e for e in _events(out) if e.get("event") == "stopped")
    assert 3 <= stopped["step"] < 40
    assert (out / "last.ckpt").is_file() and (out / "model.safetensors").is_file() and not (out / "stop").exists()
    assert widget.status.text().startswith("Finished")
    # resume: the step counter goes on from where it stopped
    widget.steps.setValue(stopped["step"] + 2)
    widget.start(resume=True)
    qtbot.waitUntil(lambda: not widget.running(), timeout=300_000)
    starts = [e for e in _events(out) if e.get("event") == "start"]
    assert len(starts) == 2 and starts[1]["step"] == stopped["step"]
    assert _events(out)[-1] == {**_events(out)[-1], "event": "end", "step": stopped["step"] + 2}
    assert "Resuming" not in widget.status.text() and "exit code" not in widget.status.text()
    assert (out / "log.txt").read_text()  # the process's own output is kept
    # one click: the run's checkpoint becomes the viewer's model
    widget.load_result()
    qtbot.waitUntil(lambda: widget.session.loaded is not None, timeout=60_000)
    assert widget.session.loaded.checkpoint == str(out / "model.safetensors")
    # a folder holding a run shows its history, and a new run there is refused (nothing overwritten)
    other = TrainingWidget(viewer)
    qtbot.addWidget(other)
    other.manifest.setText(str(widget_data[1]))
    other.out.setText(str(out))
    assert len(other.plot.series["loss"]) >= stopped["step"] and "Resume continues it" in other.status.text()
    assert other.start() is None and not other.running()


def test_a_failing_run_is_reported(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    import napari.utils.notifications as notifications

    errors = []
    monkeypatch.setattr(notifications, "show_error", errors.append)
    viewer = make_napari_viewer()
    widget = TrainingWidget(viewer)
    qtbot.addWidget(widget)
    widget.manifest.setText(str(tmp_path / "missing.csv"))
    widget.out.setText(str(tmp_path / "run"))
    widget.start()
    qtbot.waitUntil(lambda: not widget.running(), timeout=120_000)
    assert errors and "exit code 2" in errors[0] and "missing.csv" in errors[0]
    assert "exit code 2" in widget.status.text() and widget.start_button.isEnabled()


def test_a_run_that_answered_stop_is_left_to_export_and_one_that_did_not_is_ended(make_napari_viewer, qtbot,
                                                                                   tmp_path):
    """Past the minute a stop may take, the widget ends a run that never answered it, and leaves one
    whose "stopped" record says it is saving and exporting (slow on many validation cases)."""
    import json
    import sys
    import time

    from qtpy.QtCore import QProcess

    from napari_mg3d.widgets import training as tr

    widget = tr.TrainingWidget(make_napari_viewer())
    qtbot.addWidget(widget)
    for answered in (True, False):
        out = tmp_path / f"run-{answered}"
        out.mkdir()
        widget.out.setText(str(out))
        widget.process = QProcess(widget)
        widget.process.start(sys.executable, ["-c", "import time; time.sleep(60)"])
        assert widget.process.waitForStarted(10_000)
        widget.follower = tr.MetricsFollower(out / "metrics.jsonl")
        widget.stop()
        if answered:
            record = {"event": "stopped", "step": 3, "time": time.time()}
            (out / "metrics.jsonl").write_text(json.dumps(record) + "\n")
        widget._stop_asked -= tr.STOP_ANSWER_S + 1  # a minute and more has passed
        widget.poll()
        qtbot.wait(300)
        assert widget.running() == answered
        widget.process.kill()
        widget.process.waitForFinished(10_000)
