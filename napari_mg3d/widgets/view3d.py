"""3D view dock widget (pyvista in Qt): surfaces of a segmentation's labels in their layer colours,
and an isosurface of the selected attention heatmap; screenshot and mesh export."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QPushButton,
                            QVBoxLayout, QWidget)

from .heatmap import ATTENTION, KIND
from .tasks import TaskBar, run_task

NONE = "(none)"
HEAT_COLOR = "#ffb300"


class View3DWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        from pyvistaqt import QtInteractor

        self.viewer = napari_viewer
        self.labels_box = QComboBox()
        self.heat_box = QComboBox()
        self.level = QDoubleSpinBox()
        self.level.setRange(0.05, 0.95)
        self.level.setSingleStep(0.05)
        self.level.setValue(0.5)
        self.level.setToolTip("isosurface level, as a fraction of the heatmap's range")
        self.update_button = QPushButton("Show in 3D")
        self.update_button.clicked.connect(self.build)
        self.shot_button = QPushButton("Screenshot...")
        self.shot_button.clicked.connect(lambda: self.screenshot())
        self.export_button = QPushButton("Export meshes...")
        self.export_button.clicked.connect(lambda: self.export())
        self.plotter = QtInteractor(self)
        self.plotter.set_background("#262930")
        self.taskbar = TaskBar()
        self.meshes: dict = {}
        form = QFormLayout()
        form.addRow("Labels", self.labels_box)
        form.addRow("Heatmap", self.heat_box)
        form.addRow("Level", self.level)
        buttons = QGridLayout()
        buttons.addWidget(self.update_button, 0, 0, 1, 2)
        buttons.addWidget(self.shot_button, 1, 0)
        buttons.addWidget(self.export_button, 1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.taskbar)
        layout.addWidget(self.plotter.interactor, stretch=1)
        self.setMinimumHeight(360)
        for event in (napari_viewer.layers.events.inserted, napari_viewer.layers.events.removed):
            event.connect(self._refresh_layers)
        self._refresh_layers()

    def _refresh_layers(self, event=None):
        for box, names in ((self.labels_box, [la.name for la in self.viewer.layers if la._type_string == "labels"]),
                           (self.heat_box, [la.name for la in self.viewer.layers
                                            if (la.metadata or {}).get(KIND) == ATTENTION])):
            current = box.currentText()
            box.clear()
            box.addItems([NONE, *names])
            box.setCurrentText(current if current in names else (names[-1] if names else NONE))

    def build(self):
        from ..plugin.layers import layer_volume

        labels = self.viewer.layers[self.labels_box.currentText()] if self.labels_box.currentText() != NONE else None
        heat = self.viewer.layers[self.heat_box.currentText()] if self.heat_box.currentText() != NONE else None
        if labels is None and heat is None:
            from napari.utils.notifications import show_info

            show_info("Nothing to show: segment a volume or map a sentence first.")
            return None
        level = self.level.value()
        label_volume = layer_volume(labels) if labels is not None else None
        heat_volume = layer_volume(heat) if heat is not None else None
        names = (labels.metadata or {}).get("label_names", {}) if labels is not None else {}
        names = {int(k): v for k, v in names.items()}

        def work():
            from .meshes import isosurface, label_surfaces

            surfaces, iso = {}, None
            if label_volume is not None:
                yield "label surfaces"
                surfaces = label_surfaces(label_volume.array, label_volume.geometry)
            if heat_volume is not None:
                yield "heatmap isosurface"
                iso = isosurface(heat_volume.array, heat_volume.geometry, level)
            return surfaces, iso

        def show(result):
            surfaces, iso = result
            self.meshes = {names.get(k, f"label {k}"): mesh for k, mesh in surfaces.items()}
            if iso is not None:
                self.meshes[heat.name] = iso
            self.plotter.clear()
            for k, mesh in surfaces.items():  # in the labels layer's own colours
                self.plotter.add_mesh(mesh, color=tuple(labels.get_color(k)[:3]), opacity=0.35, smooth_shading=True)
            if iso is not None and iso.n_points:
                self.plotter.add_mesh(iso, color=HEAT_COLOR, opacity=0.9, smooth_shading=True)
            # from the patient's front (LPS: -y), a little from the left and above, head up (+z)
            self.plotter.view_vector((0.35, -1.0, 0.3), viewup=(0.0, 0.0, 1.0))
            self.plotter.reset_camera()
            self.plotter.camera.zoom(1.8)
            self.plotter.render()

        return run_task(work, "3D surfaces", show, owner=self.taskbar)

    def screenshot(self, path: str | None = None, size: tuple[int, int] | None = None):
        """A PNG of the 3D view, at the view's size or ``size`` (width, height) pixels."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Screenshot", "mg3d-3d.png", "PNG (*.png)")
            if not path:
                return None
        self.plotter.render()
        self.plotter.screenshot(str(path), window_size=list(size) if size else None)
        return Path(path)

    def export(self, path: str | None = None):
        """All surfaces in one file (.vtp, .ply, .stl, .obj), each labelled by a ``part`` array."""
        from napari.utils.notifications import show_info

        if not self.meshes:
            show_info("Nothing to export: press Show in 3D first.")
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export meshes", "mg3d-surfaces.vtp",
                                                  "Meshes (*.vtp *.ply *.stl *.obj)")
            if not path:
                return None
        import numpy as np
        import pyvista as pv

        parts = []
        for i, mesh in enumerate(m for m in self.meshes.values() if m.n_points):
            mesh = mesh.extract_surface().triangulate() if not isinstance(mesh, pv.PolyData) else mesh.triangulate()
            mesh.cell_data["part"] = np.full(mesh.n_cells, i, dtype=np.int32)
            parts.append(mesh)
        merged = pv.merge(parts) if len(parts) > 1 else parts[0]
        merged.save(str(path))
        return Path(path)

    def closeEvent(self, event):
        self.plotter.close()
        super().closeEvent(event)
