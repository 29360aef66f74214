"""Segmentation dock widget: run a fine-tuned segmentation checkpoint on the current volume (a
labels layer with the organ names, on the volume's grid) and export it with the source geometry."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import QFileDialog, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from .choosers import VolumeChooser, path_row
from .session import session_for
from .settings import load_settings, remember
from .tasks import TaskBar, run_task

SEGMENTATION = "segmentation"


class SegmentationWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.path = QLineEdit(load_settings().get("segmenter") or "")
        self.path.setPlaceholderText("a checkpoint from: mg3d finetune seg")
        self.layer_box = VolumeChooser(napari_viewer)
        self.run_button = QPushButton("Segment")
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton("Export labels...")
        self.export_button.clicked.connect(lambda: self.export())
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.taskbar = TaskBar()
        self._segmenter = (None, None, None)  # (path, network, metadata)
        form = QFormLayout()
        form.addRow("Checkpoint", path_row(self.path, self, "Segmentation checkpoint", "Checkpoints (*.safetensors)"))
        form.addRow("Volume", self.layer_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.taskbar)
        layout.addWidget(self.info)
        layout.addWidget(self.export_button)
        layout.addStretch(1)
        self.session.segmenter_offered.connect(self.path.setText)

    def run(self):
        from napari.utils.notifications import show_info

        checkpoint, name = self.path.text().strip(), self.layer_box.currentText()
        if not checkpoint:
            show_info("Choose a segmentation checkpoint (made by: mg3d finetune seg).")
            return None
        if name not in self.viewer.layers:
            show_info("Open a volume first.")
            return None
        layer = self.viewer.layers[name]
        device = self.session.loaded.device if self.session.loaded is not None else "auto"
        remember(segmenter=checkpoint)

        def work():
            from ..inference.segment import load_segmenter, segment_volume
            from ..plugin.layers import layer_volume

            volume = layer_volume(layer)
            if self._segmenter[0] != checkpoint:
                yield "loading the segmentation model"
                net, meta = load_segmenter(checkpoint, str(device))
                self._segmenter = (checkpoint, net, meta)
            _, net, meta = self._segmenter
            yield "segmenting"
            return segment_volume(net, meta, volume), meta["classes"]

        return run_task(work, f"Segmenting {name}", lambda result: self.show(layer, *result), owner=self.taskbar)

    def show(self, image, labels, classes):
        import numpy as np

        from ..plugin.layers import geometry_metadata, placed_over

        names = ["background", *classes]
        name = f"{image.name} segmentation"
        meta = {**geometry_metadata(image), "label_names": dict(enumerate(names)), "mg3d_kind": SEGMENTATION,
                "source": image.name}
        features = {"index": list(range(len(names))), "name": names}
        if name in self.viewer.layers:
            layer = self.viewer.layers[name]
            layer.data, layer.metadata, layer.features = labels, meta, features
        else:
            layer = self.viewer.add_labels(labels, name=name, metadata=meta, features=features, opacity=0.4,
                                           **placed_over(image))
        counts = np.bincount(labels.ravel(), minlength=len(names))
        spacing = np.abs(np.asarray(image.scale, dtype=float))
        ml = counts * float(np.prod(spacing)) / 1000.0
        found = [f"{k}: {names[k]} · {ml[k]:.1f} ml" for k in range(1, len(names)) if counts[k]]
        absent = [names[k] for k in range(1, len(names)) if not counts[k]]
        self.info.setText("<br>".join(found + ([f"<i>not found in this volume: {', '.join(absent)}</i>"] if absent else [])))
        self.viewer.layers.selection.active = image
        return layer

    def export(self, path: str | None = None):
        """The current segmentation as NIfTI (or NRRD/MHA) with the source volume's geometry."""
        from napari.utils.notifications import show_info

        from ..io.writer import write_volume
        from ..plugin.layers import layer_volume

        layers = [la for la in self.viewer.layers if la.metadata.get("mg3d_kind") == SEGMENTATION]
        if not layers:
            show_info("Nothing to export yet: segment a volume first.")
            return None
        layer = layers[-1]
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export labels", f"{layer.name}.nii.gz",
                                                  "Volumes (*.nii.gz *.nii *.nrrd *.mha)")
            if not path:
                return None
        volume = layer_volume(layer)
        written = write_volume(Path(path), volume.array.astype("uint8"), volume.geometry)
        show_info(f"wrote {written}")
        return written
