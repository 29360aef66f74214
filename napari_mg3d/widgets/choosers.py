"""Small parts several widgets share: a combo box of the viewer's volumes that follows its layers,
and a path field with a Browse button."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLineEdit, QPushButton

from .heatmap import is_derived


def is_volume(layer) -> bool:
    """An image layer of a case: not a heatmap we made, not a similar case opened beside."""
    return layer._type_string == "image" and not is_derived(layer) and not (layer.metadata or {}).get("similar_to")


class VolumeChooser(QComboBox):
    """The viewer's volumes (layers ``accept`` takes; case volumes by default), kept current as
    layers come and go: the choice stays while its layer does, else falls to the first layer
    ``prefer`` likes, else to the first. ``chosen`` tells when layers coming or going changed it."""

    chosen = Signal(str)

    def __init__(self, viewer, parent=None, accept=is_volume, prefer=None):
        super().__init__(parent)
        self.viewer, self.accept, self.prefer = viewer, accept, prefer
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refresh)
        self.refresh()

    def refresh(self, event=None):
        current = self.currentText()
        names = [la.name for la in self.viewer.layers if self.accept(la)]
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentText(current)
        elif names and self.prefer is not None:
            liked = [n for n in names if self.prefer(self.viewer.layers[n])]
            self.setCurrentText((liked or names)[0])
        self.blockSignals(False)
        if self.currentText() != current:
            self.chosen.emit(self.currentText())

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
