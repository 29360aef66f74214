"""Model dock widget: a checkpoint (ours or an official MG-3D file) or a named architecture, the
device, and what the loaded model carries (preprocessing profile, label set)."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .choosers import path_row
from .session import session_for
from .settings import load_settings
from .tasks import TaskBar

DEVICES = ("auto", "cpu", "cuda", "mps")


class ModelWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        from ..model.config import list_models

        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        settings = load_settings()
        self.path = QLineEdit(settings.get("checkpoint") or "")
        self.path.setPlaceholderText("a .safetensors or official .ckpt/.pt file; empty: untrained")
        self.arch = QComboBox()
        self.arch.addItems(list_models())
        self.arch.setToolTip("the architecture of an official checkpoint, or of an untrained model; "
                             "our checkpoints carry their own")
        self.arch.setCurrentText(settings.get("model_name") or "mg3d-tiny")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        if settings.get("device_choice") in DEVICES:
            self.device.setCurrentText(settings["device_choice"])
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(self.load)
        self.info = QLabel("No model loaded.")
        self.info.setWordWrap(True)
        self.taskbar = TaskBar()

        form = QFormLayout()
        form.addRow("Checkpoint", path_row(self.path, self, "MG-3D checkpoint",
                                           "Checkpoints (*.safetensors *.ckpt *.pt *.pth *.bin)"))
        form.addRow("Architecture", self.arch)
        form.addRow("Device", self.device)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.load_button)
        layout.addWidget(self.taskbar)
        layout.addWidget(self.info)
        layout.addStretch(1)

        self.session.model_changed.connect(self._show)
        if self.session.loaded is not None:
            self._show(self.session.loaded)

    def load(self):
        from .settings import remember

        remember(device_choice=self.device.currentText())
        self.info.setText("Loading ...")
        return self.session.load_model(self.path.text().strip() or None, self.arch.currentText(),
                                       self.device.currentText(), owner=self.taskbar,
                                       on_error=lambda message: self.info.setText(f"Not loaded: {message}"))

    def _show(self, loaded):
        if loaded.checkpoint:
            self.path.setText(loaded.checkpoint)
        p = loaded.profile
        labels = [s.label for s in loaded.prompt_sets()]
        source = loaded.checkpoint or "untrained (no checkpoint): outputs mean nothing yet"
        lines = [
            f"<b>{loaded.name}</b> on {loaded.device}",
            f"weights: {source}",
            f"profile: <b>{p.name}</b> · {'CT, HU %g to %g' % p.window if p.intensity == 'ct' else 'MRI, percentiles'}"
            f" · {' x '.join(f'{s:g}' for s in p.spacing)} mm · grid {' x '.join(map(str, p.size))} (x, y, z)",
            f"checkpoint: {loaded.capabilities.summary()}",
        ]
        calibration = loaded.calibration_line()
        if calibration:
            lines.append(calibration)
        text = getattr(getattr(loaded.model, "load_report", None), "text_from", None)
        if text:  # the frozen text encoder the file names rather than carries, checked at load
            origin = f"{text['package']} {text['version']}" if text.get("package") else "its folder or hub name"
            lines.append(f"text encoder: {text['name']} from {origin} (frozen; weights checked, {text['sha256']})")
        # what it cannot do, before the long label list, where a short dock still shows it
        for what in ("findings", "text search"):
            reason = loaded.capabilities.refusal(what)
            if reason:
                lines.append(f"<i>{reason}</i>")
        lines.append(f"labels ({len(labels)}): {', '.join(labels)}")
        self.info.setText("<br>".join(lines))
