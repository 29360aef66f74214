"""Similar cases dock widget: search a case library by this volume, by its report or by typed
text; ranked hits with thumbnails and scores; open a hit beside the current case, its report shown
with the sentences that share a finding with the query."""

from __future__ import annotations

import html

from qtpy.QtCore import QSize, Qt
from qtpy.QtGui import QIcon, QImage, QPixmap
from qtpy.QtWidgets import (QComboBox, QFormLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox,
                            QTextBrowser, QVBoxLayout, QWidget)

from .choosers import VolumeChooser, path_row
from .session import session_for
from .settings import load_settings
from .tasks import TaskBar, run_task

MODES = ("this volume", "this report", "typed text")
HIT_ROLE = Qt.ItemDataRole.UserRole
GAP_MM = 20.0  # between the current case and a hit opened beside it


class SimilarWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.library = QLineEdit(self.session.library or load_settings().get("library") or "")
        self.library.setPlaceholderText("a case library folder (mg3d library add)")
        self.layer_box = VolumeChooser(napari_viewer)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.text = QLineEdit()
        self.text.setPlaceholderText("e.g. right pleural effusion")
        self.k = QSpinBox()
        self.k.setRange(1, 100)
        self.k.setValue(10)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.text.returnPressed.connect(self.search)
        self.hits_list = QListWidget()
        self.hits_list.setIconSize(QSize(72, 72))
        self.hits_list.currentItemChanged.connect(self._show_hit)
        self.open_button = QPushButton("Open beside")
        self.open_button.clicked.connect(self.open_hit)
        self.report = QTextBrowser()
        self.taskbar = TaskBar()
        self.hits: list = []
        self.query_findings: set[str] = set()

        form = QFormLayout()
        form.addRow("Library", path_row(self.library, self, "Case library", folder=True))
        form.addRow("Case", self.layer_box)
        form.addRow("Search by", self.mode)
        form.addRow("Text", self.text)
        form.addRow("Top", self.k)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.search_button)
        layout.addWidget(self.taskbar)
        layout.addWidget(self.hits_list, stretch=2)
        layout.addWidget(self.open_button)
        layout.addWidget(self.report, stretch=1)
        self.session.model_changed.connect(self._offer)
        self._offer(self.session.loaded)

    def _offer(self, loaded):
        """Searching by report or typed text needs a trained report-volume space: those modes are
        greyed out, with the reason as their tooltip, for a checkpoint without one."""
        reason = None if loaded is None else loaded.capabilities.refusal("text search")
        model = self.mode.model()
        for row, name in enumerate(MODES):
            item = model.item(row)
            if name != "this volume":
                item.setEnabled(reason is None)
                item.setToolTip(reason or "")
        if reason and self.mode.currentText() != "this volume":
            self.mode.setCurrentText("this volume")
        self.text.setEnabled(reason is None)
        self.text.setToolTip(reason or "")

    def search(self):
        from napari.utils.notifications import show_info

        from ..knowledge.report import parse_report
        from ..plugin.layers import layer_report

        loaded, folder, mode = self.session.loaded, self.library.text().strip(), self.mode.currentText()
        layer = self.layer_box.layer()
        if loaded is None:
            show_info("Load a model first (Plugins > MG-3D > Model).")
            return None
        if not folder:
            show_info("Choose a case library folder (make one with: mg3d library add).")
            return None
        if mode != "typed text" and layer is None:
            show_info("Open a volume first, or search by typed text.")
            return None
        text = self.text.text() if mode == "typed text" else layer_report(layer) if mode == "this report" else None
        if text is not None and not text.strip():
            show_info("Nothing to search with: the text is empty." if mode == "typed text"
                      else "This volume has no report; search by the volume or by typed text.")
            return None
        source = text if text is not None else layer_report(layer)
        self.query_findings = {f.name for s in parse_report(source).sentences for f in s.findings
                               if f.status == "present"}
        if folder != self.session.library:
            self.session.set_library(folder)
        k = self.k.value()

        def work():
            from ..inference.library_commands import open_for_model, search_with
            from ..io.thumbnail import middle_slice
            from ..plugin.layers import layer_volume

            volume = layer_volume(layer) if text is None else None
            lib = open_for_model(folder, loaded)
            try:
                features = None
                if volume is not None:
                    if not self.session.has_case_features(loaded, layer):
                        yield "encoding the volume"
                    features = self.session.case_features(loaded, layer)  # once per case, kept
                yield "searching"
                hits = search_with(lib, loaded, text=text, volume=volume, k=k, features=features)
            finally:
                lib.close()
            thumbs = []
            for i, hit in enumerate(hits):
                yield f"thumbnails {i + 1} / {len(hits)}"
                try:
                    thumbs.append(middle_slice(hit.volume))
                except Exception:  # a moved or unreadable file: the hit stays, without a picture
                    thumbs.append(None)
            return hits, thumbs

        return run_task(work, f"Similar cases ({mode})", self._show_hits, owner=self.taskbar)

    def _show_hits(self, result):
        hits, thumbs = result
        self.hits = hits
        self.hits_list.clear()
        self.report.clear()
        if not hits:
            self.hits_list.addItem("The library is empty.")
            return
        for rank, (hit, thumb) in enumerate(zip(hits, thumbs), start=1):
            item = QListWidgetItem(f"{rank}. {hit.case_id}\nscore {hit.score:.3f}\n{_found(hit) or 'no findings'}")
            item.setToolTip(hit.report[:600])
            item.setData(HIT_ROLE, rank - 1)
            if thumb is not None:
                image = QImage(thumb.tobytes(), thumb.shape[1], thumb.shape[0], thumb.shape[1],
                               QImage.Format.Format_Grayscale8)
                item.setIcon(QIcon(QPixmap.fromImage(image.copy())))
            self.hits_list.addItem(item)
        self.hits_list.setCurrentRow(0)

    def selected_hit(self):
        item = self.hits_list.currentItem()
        if item is None or item.data(HIT_ROLE) is None:
            return None
        return self.hits[int(item.data(HIT_ROLE))]

    def matching_sentences(self, hit) -> list[int]:
        """Indices of the hit's sentences that state a finding the query states present."""
        from ..knowledge.report import parse_report

        return [s.index for s in parse_report(hit.report).sentences
                if any(f.name in self.query_findings and f.status == "present" for f in s.findings)]

    def _show_hit(self, item=None, previous=None):
        from ..knowledge.report import parse_report

        hit = self.selected_hit()
        if hit is None:
            return
        match = set(self.matching_sentences(hit))
        parts = []
        for s in parse_report(hit.report).sentences:
            text = html.escape(s.text)
            parts.append(f"<b style='color:#ff8a65'>{text}</b>" if s.index in match else text)
        self.report.setHtml(f"<p><b>{html.escape(hit.case_id)}</b> · score {hit.score:.3f} · labels: "
                            f"{html.escape(_found(hit) or 'none')}</p><p>{' '.join(parts)}</p>")

    def open_hit(self):
        """The hit's layers, shifted in x to lie beside the current case."""
        hit = self.selected_hit()
        if hit is None:
            return None
        current = self.layer_box.layer()

        def work():
            from ..plugin.reader import read_volume_layers

            yield f"reading {hit.case_id}"
            return read_volume_layers(hit.volume)

        def add(layers):
            from napari.layers import Layer

            added = []
            for data, kwargs, kind in layers:
                kwargs = {**kwargs, "name": f"similar {hit.case_id}: {kwargs.get('name', '')}"}
                kwargs["metadata"] = {**kwargs.get("metadata", {}), "similar_to": current.name if current else ""}
                added.append(self.viewer.add_layer(Layer.create(data, kwargs, kind)))
            if current is not None and added:
                shift = current.extent.world[1][2] - added[0].extent.world[0][2] + GAP_MM
                for la in added:
                    la.translate = (*la.translate[:2], la.translate[2] + shift)
            self.viewer.reset_view()

        return run_task(work, f"Opening {hit.case_id}", add, owner=self.taskbar)


def _found(hit) -> str:
    """The hit's positive labels, comma-separated."""
    return ", ".join(k for k, v in (hit.labels or {}).items() if v)
