"""Training dock widget: start pre-training or fine-tuning as its own process (the ``mg3d`` command),
watch its loss, metrics, progress and ETA from its metrics file, stop it (it saves first), resume
it, open its folder, and load the checkpoint it made with one click."""

from __future__ import annotations

import time
from pathlib import Path

from qtpy.QtCore import QProcess, QTimer, QUrl
from qtpy.QtGui import QDesktopServices
from qtpy.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                            QSpinBox, QVBoxLayout, QWidget)

from ..train.follow import KINDS, MetricsFollower, format_duration, request_stop, training_command
from .choosers import path_row
from .plot import LinePlot
from .session import session_for
from .settings import load_settings, remember

POLL_MS = 500
STOP_ANSWER_S = 60  # a run that has not answered a stop by then is ended
VALIDATION = ("R@5", "dice_mean", "auc_mean")  # the headline of each task's validation record


class TrainingWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        settings = load_settings()
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.manifest = QLineEdit(settings.get("manifest") or "")
        self.manifest.setPlaceholderText("manifest.csv / .jsonl (mg3d synth makes one)")
        self.config = QLineEdit()
        self.config.setPlaceholderText("optional config JSON")
        self.out = QLineEdit(settings.get("train_out") or str(Path.cwd() / "runs" / "widget"))
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("more settings: key=value ... (e.g. checkpoint=... for fine-tuning)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setValue(int(settings.get("train_steps") or 300))
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(int(settings.get("train_batch") or 4))
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.folder_button = QPushButton("Open folder")
        self.load_button = QPushButton("Load checkpoint")
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.status = QLabel("Not running.")
        self.status.setWordWrap(True)
        self.plot = LinePlot()

        form = QFormLayout()
        form.addRow("Task", self.kind)
        form.addRow("Manifest", path_row(self.manifest, self, "Case manifest", "Manifests (*.csv *.jsonl)", label="..."))
        form.addRow("Config", path_row(self.config, self, "Training config", "JSON (*.json)", label="..."))
        form.addRow("Output", path_row(self.out, self, "Run folder", folder=True, label="..."))
        form.addRow("Steps", self.steps)
        form.addRow("Batch", self.batch)
        form.addRow("Settings", self.extra)
        buttons = QGridLayout()
        for i, b in enumerate((self.start_button, self.stop_button, self.resume_button, self.folder_button,
                               self.load_button)):
            buttons.addWidget(b, i // 3, i % 3)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, stretch=1)

        self.start_button.clicked.connect(lambda: self.start())
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button.clicked.connect(self.stop)
        self.folder_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.out.text())))
        self.load_button.clicked.connect(self.load_result)
        self.out.textChanged.connect(lambda _: self._show_history())
        self.process: QProcess | None = None
        self.follower: MetricsFollower | None = None
        self._stop_asked, self._stop_wall = 0.0, 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self._update_buttons()
        self._show_history()

    # -- the run ----------------------------------------------------------------------------
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, resume: bool = False):
        from napari.utils.notifications import show_info

        if self.running():
            show_info("A run is already going; stop it first.")
            return None
        manifest, out = self.manifest.text().strip(), self.out.text().strip()
        if not manifest and not self.config.text().strip():
            show_info("Choose a manifest (or a config that names one).")
            return None
        if not out:
            show_info("Choose an output folder.")
            return None
        if not resume and any((Path(out) / f).exists() for f in ("last.ckpt", "model.safetensors")):
            show_info(f"{out} holds a run already: Resume continues it; choose another folder for a new run.")
            return None
        overrides = [f"max_steps={self.steps.value()}", f"batch_size={self.batch.value()}", *self.extra.text().split()]
        argv = training_command(self.kind.currentText(), out, manifest or None, self.config.text().strip() or None,
                                overrides, resume)
        remember(manifest=manifest, train_out=out, train_steps=self.steps.value(), train_batch=self.batch.value())
        Path(out).mkdir(parents=True, exist_ok=True)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setStandardOutputFile(str(Path(out) / "log.txt"), QProcess.OpenModeFlag.Append)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._process_error)
        self.process = process
        self.follower = MetricsFollower(Path(out) / "metrics.jsonl")
        self.follower.poll()
        self._stop_asked, self._stop_wall = 0.0, 0.0
        process.start(argv[0], argv[1:])
        self.status.setText(("Resuming" if resume else "Starting") + f" {self.kind.currentText()} in {out} ...")
        self.timer.start()
        self._update_buttons()
        return process

    def stop(self):
        """First press: ask the run to stop after this step (it saves its checkpoint and exports the
        model). A second press, or no answer within a minute: end the process. A run that has answered
        (its "stopped" record) is saving and exporting, which may take longer on many validation
        cases or a busy machine: it is left to finish."""
        if not self.running():
            return
        if self._stop_asked and (time.monotonic() - self._stop_asked > 2):
            self.process.kill()
            self.status.setText("Killed; Resume continues from the last checkpoint.")
            return
        request_stop(self.out.text().strip())
        self._stop_asked, self._stop_wall = time.monotonic(), time.time() - 1
        self.status.setText("Stopping after this step (saving the checkpoint) ... press Stop again to kill.")

    def _show_history(self):
        """The metrics of the run in the output folder, if any (a finished or stopped run)."""
        if self.running():
            return
        self.follower = MetricsFollower(Path(self.out.text().strip() or ".") / "metrics.jsonl")
        self.follower.poll()
        self.progress.setMaximum(1)
        self.progress.setValue(0)
        self._show_metrics()
        if self.follower.records:
            step, total, _ = self.follower.progress()
            self.status.setText(f"A run of {step} / {total or '?'} steps is in this folder; Resume continues it.")
        else:
            self.status.setText("Not running.")

    def poll(self):
        if self.follower is None:
            return
        if self.follower.poll() or not self.running():
            self._show_metrics()
        if self._stop_asked and self.running() and time.monotonic() - self._stop_asked > STOP_ANSWER_S \
                and not self._stop_answered():
            self.process.kill()

    def _stop_answered(self) -> bool:
        """Whether the run has written its "stopped" record since the stop was asked."""
        return any(r.get("event") == "stopped" and r.get("time", 0) >= self._stop_wall
                   for r in self.follower.records)

    def _show_metrics(self):
        records = self.follower.records
        step, total, eta = self.follower.progress()
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(min(step, total))
        series = {"loss": [(r["step"], r["loss"]) for r in records if "loss" in r and "step" in r]}
        for name in VALIDATION:
            series[f"val {name}"] = [(r["step"], r[name]) for r in records if r.get("event") == "val" and name in r]
        self.plot.set_series(series)
        if self.running():
            last = next((r for r in reversed(records) if "loss" in r), None)
            text = f"step {step} / {total or '?'}"
            if eta is not None:
                text += f" · ETA {format_duration(eta)}"
            if last is not None:
                text += f" · loss {last['loss']:.4f} · {last.get('samples_per_s', 0):.1f} samples/s"
            self.status.setText(text)

    def _finished(self, code: int, status=None):
        from napari.utils.notifications import show_error, show_info

        self.timer.stop()
        if self.follower is not None:
            self.follower.poll()
            self._show_metrics()
        log = Path(self.out.text().strip()) / "log.txt"
        if code == 0:
            self.status.setText(f"Finished: {self.result_path()}")
            show_info(f"training finished: {self.result_path()}")
        else:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.is_file() else []
            self.status.setText(f"Ended with exit code {code}. Resume continues from the last checkpoint.")
            if not self._stop_asked:
                show_error(f"training ended with exit code {code}: {tail[0] if tail else 'see log.txt'}")
        self._update_buttons()

    def _process_error(self, error):
        from napari.utils.notifications import show_error

        if error == QProcess.ProcessError.FailedToStart:
            show_error("could not start the training process")
            self._update_buttons()

    def _update_buttons(self):
        running = self.running()
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.load_button.setEnabled(not running)

    # -- the result -------------------------------------------------------------------------
    def result_path(self) -> Path:
        return Path(self.out.text().strip()) / "model.safetensors"

    def load_result(self):
        """The run's checkpoint: pre-training and alignment into the Model widget, segmentation into
        the Segmentation widget."""
        from napari.utils.notifications import show_info

        path = self.result_path()
        if not path.is_file():
            show_info(f"no checkpoint yet at {path}")
            return None
        kind = self.kind.currentText()
        if kind in ("pretrain", "finetune align"):  # an MG-3D checkpoint: into the Model widget
            return self.session.load_model(str(path), "mg3d-tiny", "auto")
        if kind == "finetune seg":
            remember(segmenter=str(path))
            self.session.segmenter_offered.emit(str(path))
            show_info(f"segmentation checkpoint ready in the Segmentation widget: {path}")
            return None
        show_info(f"classifier checkpoint: {path}")
        return None

    def closeEvent(self, event):
        if self.running():
            request_stop(self.out.text().strip())  # it saves and exports; Resume goes on later
            self.process.waitForFinished(5000)
        super().closeEvent(event)

