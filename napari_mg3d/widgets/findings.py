"""Findings dock widget: the zero-shot probability of each label for the current volume, sortable,
with the report's own statement beside each label the report speaks of."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                            QVBoxLayout, QWidget)

from .case import STATUS_COLORS
from .choosers import VolumeChooser
from .familiar_line import show_unfamiliar, unfamiliar_label
from .session import session_for
from .tasks import TaskBar, run_task

COLUMNS = ("Label", "Probability", "The report says")


class FindingsWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.layer_box = VolumeChooser(napari_viewer)
        self.run_button = QPushButton("Find")
        self.run_button.clicked.connect(self.run)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        # label and probability as wide as they need; the report's words take the rest, wrapped
        for column, mode in ((0, header.ResizeMode.ResizeToContents), (1, header.ResizeMode.ResizeToContents),
                             (2, header.ResizeMode.Stretch)):
            header.setSectionResizeMode(column, mode)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.warning = unfamiliar_label()  # the volume outside the model's training data, or hidden
        self.taskbar = TaskBar()
        row = QHBoxLayout()
        row.addWidget(self.layer_box, stretch=1)
        row.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.taskbar)
        layout.addWidget(self.table, stretch=1)
        layout.addWidget(self.warning)
        layout.addWidget(self.note)
        self.results: dict[str, float] = {}
        self.not_learnt: list[str] = []
        self.session.model_changed.connect(self._offer)
        self.session.case_checked.connect(lambda layer, line: show_unfamiliar(self.warning, layer, line,
                                                                              self._current()))
        self._offer(self.session.loaded)

    def _offer(self, loaded):
        """Find is offered only by a checkpoint with a trained report-volume space; else one line why."""
        reason = None if loaded is None else loaded.capabilities.refusal("findings")
        self.run_button.setEnabled(reason is None)
        self.run_button.setToolTip(reason or "")
        if reason:
            self.table.setRowCount(0)
        self.note.setText(reason or "")

    def run(self):
        from napari.utils.notifications import show_info

        loaded, name = self.session.loaded, self.layer_box.currentText()
        if loaded is None:
            show_info("Load a model first (Plugins > MG-3D > Model).")
            return None
        if name not in self.viewer.layers:
            show_info("Open a volume first.")
            return None
        layer = self.viewer.layers[name]

        def work():
            from ..inference.analysis import findings
            from ..plugin.layers import layer_volume

            volume = layer_volume(layer)
            if not self.session.has_case_features(loaded, layer):
                yield "encoding the volume"
            features = self.session.case_features(loaded, layer)  # once per case, kept
            yield "reading the findings"
            return findings(loaded, volume, features=features)

        def done(found):
            self.show(*found, layer=layer)
            show_unfamiliar(self.warning, layer, self.session.unfamiliar(loaded, layer), layer)

        return run_task(work, f"Findings of {name}", done, owner=self.taskbar)

    def _current(self):
        name = self.layer_box.currentText()
        return self.viewer.layers[name] if name in self.viewer.layers else None

    def show(self, probabilities: dict[str, float], not_learnt=(), layer=None):
        """A row per label the model learnt, with its probability; the labels it did not learn apart,
        with no number (``inference.analysis.findings``)."""
        from ..knowledge.report import parse_report
        from ..plugin.layers import layer_report

        self.results = probabilities
        self.not_learnt = list(not_learnt)
        parsed = parse_report(layer_report(layer) if layer is not None else "")
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(probabilities))
        for row, (label, p) in enumerate(probabilities.items()):
            said = parsed.statements(label)
            status = {f.status for s in said for f in s.findings if f.name == label}
            self.table.setItem(row, 0, QTableWidgetItem(label))
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.DisplayRole, round(p, 3))  # numeric: sorts as a number
            self.table.setItem(row, 1, item)
            text = " ".join(s.text for s in said)
            stated = QTableWidgetItem(f"[{'/'.join(sorted(status))}] {text}" if said else "")
            stated.setToolTip(text)
            if len(status) == 1 and next(iter(status)) in STATUS_COLORS:
                stated.setForeground(QBrush(QColor(STATUS_COLORS[next(iter(status))])))
            self.table.setItem(row, 2, stated)
        self.table.setSortingEnabled(True)
        self.table.sortItems(1, Qt.SortOrder.DescendingOrder)
        self.table.resizeRowsToContents()
        apart = (f"Not learnt by this model (its training reports never told them apart), so no probability: "
                 f"{', '.join(self.not_learnt)}.\n" if self.not_learnt else "")
        line = self.session.loaded.calibration_line() if self.session.loaded is not None else ""
        calibrated = f" {line[:1].upper()}{line[1:]}." if line else ""
        self.note.setText(apart + "Probabilities from the checkpoint's prompt pairs (with a grounding head, also "
                          f"where in the volume they are found); statuses from the report text.{calibrated}")
