"""Small parts several widgets share: a combo box of the viewer's volumes that follows its layers,
and a path field with a Browse button."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLineEdit, QPushButton

from .heatmap import is_derived


def is_volume(layer) -> bool:
    """An image layer of a case: not a heatmap we made, not a similar case opened beside."""
    return layer._type_string == "image" and not is_derived(layer) and not (layer.metadata or {}).get("similar_to")


class VolumeChooser(QComboBox):
    """The viewer's volumes, kept current as layers come and go; the choice is kept when it stays."""

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.viewer = viewer
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refresh)
        self.refresh()

    def refresh(self, event=None):
        current = self.currentText()
        names = [la.name for la in self.viewer.layers if is_volume(la)]
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentText(current)
        self.blockSignals(False)

    def layer(self):
        return self.viewer.layers[self.currentText()] if self.currentText() in self.viewer.layers else None


def path_row(edit: QLineEdit, parent, title: str, filter: str | None = None, folder: bool = False,
             label: str = "Browse...") -> QHBoxLayout:
    """``edit`` with a button that picks a file (``filter``) or a folder into it."""
    button = QPushButton(label)
    if len(label) <= 3:
        button.setMaximumWidth(32)

    def browse():
        if folder:
            path = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            path, _ = QFileDialog.getOpenFileName(parent, title, edit.text(), filter or "")
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, stretch=1)
    row.addWidget(button)
    return row
