"""Case dock widget: the selected volume's geometry, CT window presets, its report by sentence, and
where each sentence (or a typed phrase) points: an attention heatmap layer over the volume, and
beside it the finding it names outlined (a labels layer, ``inference.outline``) with its volume in
ml and its place."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                            QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from ..io.windows import WINDOW_PRESETS, contrast_limits
from ..knowledge.report import parse_report
from .choosers import VolumeChooser
from .familiar_line import show_unfamiliar, unfamiliar_label
from .heatmap import (ATTENTION, heatmap_layer, is_derived, outline_layer, prepare_heatmap_layer, show_heat,
                      show_outline)
from .session import session_for
from .tasks import TaskBar, run_task

SENTENCE_ROLE = Qt.ItemDataRole.UserRole
CUSTOM_WINDOW = "(custom)"
GROUPINGS = ("section", "anatomy")
# how a sentence reads: a finding present, only uncertain ones, or only denied ones
STATUS_COLORS = {"present": "#ff8a65", "uncertain": "#ffd54f", "absent": "#8c8c8c"}


class CaseWidget(QWidget):
    """Follows the viewer's image layers; lists the report of the chosen one sentence by sentence."""

    sentence_selected = Signal(int, str)  # sentence index, text

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        # every image layer but our heatmaps; a new choice prefers a volume with a report
        self.layer_box = VolumeChooser(napari_viewer,
                                       accept=lambda la: la._type_string == "image" and not is_derived(la),
                                       prefer=lambda la: bool(la.metadata.get("report")))
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.window_box = QComboBox()
        self.window_box.addItems([CUSTOM_WINDOW, *WINDOW_PRESETS])
        self.group_box = QComboBox()
        self.group_box.addItems(GROUPINGS)
        self.sentence_list = QListWidget()
        self.sentence_list.setWordWrap(True)
        self.sentence_list.setMinimumHeight(140)  # the whole widget fits half a 1000-pixel dock column
        self.sentences = []
        self.parsed = None
        self.session = session_for(napari_viewer)
        self.phrase = QLineEdit()
        self.phrase.setPlaceholderText("type a phrase, e.g. pleural effusion")
        self.phrase_button = QPushButton("Map")
        self.refine = QCheckBox("refine with gradients (Grad-CAM)")
        self.keep = QCheckBox("a layer per sentence")
        self.keep.setToolTip("keep each sentence's heatmap as its own layer; otherwise one heatmap layer "
                             "follows the sentence you click")
        self.outline_info = QLabel()  # the shown sentence's outline: ml and place
        self.outline_info.setWordWrap(True)
        self.outline_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)  # never over the list
        # room for two lines whatever the dock's height: a wrapped label squeezed below its text overlaps the list
        self.outline_info.setMinimumHeight(2 * self.outline_info.fontMetrics().lineSpacing() + 4)
        self.warning = unfamiliar_label()  # the volume outside the model's training data, or hidden
        self.taskbar = TaskBar()

        form = QFormLayout()
        form.addRow("Volume", self.layer_box)
        form.addRow("Window", self.window_box)
        form.addRow("Group by", self.group_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.info)
        layout.addWidget(self.warning)
        layout.addWidget(QLabel("Report (click a sentence to see where it points)"))
        layout.addWidget(self.sentence_list, stretch=1)
        layout.addWidget(self.outline_info)
        row = QHBoxLayout()
        row.addWidget(self.phrase, stretch=1)
        row.addWidget(self.phrase_button)
        layout.addLayout(row)
        options = QHBoxLayout()
        options.addWidget(self.refine)
        options.addWidget(self.keep)
        layout.addLayout(options)
        layout.addWidget(self.taskbar)

        self.layer_box.currentTextChanged.connect(self._show_layer)
        self.layer_box.chosen.connect(self._show_layer)
        self.window_box.currentTextChanged.connect(self.apply_window)
        self.group_box.currentTextChanged.connect(lambda _: self._fill_sentences())
        self.sentence_list.currentItemChanged.connect(self._on_sentence)
        self.sentence_selected.connect(lambda index, text: self.show_attention(text))
        self.phrase_button.clicked.connect(lambda: self.show_attention(self.phrase.text(), typed=True))
        self.phrase.returnPressed.connect(self.phrase_button.click)
        napari_viewer.layers.selection.events.active.connect(self._follow_active)
        self.session.model_changed.connect(lambda _: (self._prepare_heatmap(), self.check_case()))
        self.session.case_checked.connect(lambda layer, line: show_unfamiliar(self.warning, layer, line,
                                                                              self.current_layer()))
        self._show_layer(self.layer_box.currentText())

    # -- layers -----------------------------------------------------------------------------
    def current_layer(self):
        return self.layer_box.layer()

    def _follow_active(self, event=None):
        active = self.viewer.layers.selection.active
        if active is not None and self.layer_box.accept(active):
            self.layer_box.setCurrentText(active.name)

    def _show_layer(self, name: str):
        layer = self.current_layer()
        self.sentence_list.clear()
        self.sentences = []
        if layer is None:
            self.info.setText("Open a volume (File > Open) or a sample (File > Open Sample).")
            self.info.setToolTip("")
            return
        meta = layer.metadata
        spacing = meta.get("spacing")
        geometry = f"{' x '.join(map(str, layer.data.shape[::-1]))} voxels"
        if spacing:
            geometry += f", {' x '.join(f'{s:.3g}' for s in spacing)} mm"
        # the file's name, its folder in the tooltip: a long cache path wrapped over three lines
        # took the room of the report's sentences
        source = str(meta.get("source", "") or "")
        self.info.setText(f"{meta.get('modality', 'unknown')} · {geometry}" + (f"\n{Path(source).name}" if source else ""))
        self.info.setToolTip(source)
        self.window_box.setEnabled(meta.get("modality") == "CT")
        limits = tuple(float(v) for v in layer.contrast_limits)
        current = next((n for n in WINDOW_PRESETS if contrast_limits(n) == limits), CUSTOM_WINDOW)
        self.window_box.blockSignals(True)
        self.window_box.setCurrentText(current)
        self.window_box.blockSignals(False)
        self.set_report(meta.get("report") or "")
        self._prepare_heatmap()
        self.check_case()

    def check_case(self):
        """With a model, the volume is encoded now in the background (kept for its maps, findings and
        similar cases) and checked against the model's training data: one line when outside it."""
        layer, loaded = self.current_layer(), self.session.loaded
        show_unfamiliar(self.warning, layer, self.session.unfamiliar(loaded, layer) if layer and loaded else None, layer)
        if layer is None or loaded is None or self.session.has_case_features(loaded, layer):
            return None

        def work():
            yield "encoding the volume"
            self.session.case_features(loaded, layer)

        return run_task(work, f"Encoding {layer.name}", lambda _: None, owner=self.taskbar)

    def _prepare_heatmap(self):
        """With a model and a case with a report, its heatmap layer is made now (after the
        current event), not when the first map arrives while other work runs."""
        from qtpy.QtCore import QTimer

        def prepare():
            layer = self.current_layer()
            if layer is not None and self.session.loaded is not None and self.sentences:
                prepare_heatmap_layer(self.viewer, layer)

        QTimer.singleShot(0, prepare)

    # -- report -----------------------------------------------------------------------------
    def set_report(self, report: str):
        self.parsed = parse_report(report)
        self.sentences = list(self.parsed.sentences)
        self._fill_sentences()

    def _fill_sentences(self):
        self.sentence_list.clear()
        if not self.sentences:
            item = QListWidgetItem("No report for this volume (put one beside it: same name, .txt/.md/.json).")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.sentence_list.addItem(item)
            return
        if self.group_box.currentText() == "anatomy":
            groups = self.parsed.by_anatomy()
        else:
            groups = {}
            for s in self.sentences:
                groups.setdefault(s.section or "report", []).append(s)
        for title, sentences in groups.items():
            header = QListWidgetItem(title.upper())
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.sentence_list.addItem(header)
            for sentence in sentences:
                self.sentence_list.addItem(self._item(sentence))

    @staticmethod
    def _item(sentence) -> QListWidgetItem:
        item = QListWidgetItem(sentence.text)
        item.setData(SENTENCE_ROLE, sentence.index)
        if sentence.status in STATUS_COLORS:
            item.setForeground(QBrush(QColor(STATUS_COLORS[sentence.status])))
        pairs = dict.fromkeys((f.name, f.status) for f in sentence.findings)
        findings = ", ".join(f"{name} ({status})" for name, status in pairs)
        tip = [f"anatomy: {', '.join(sentence.anatomy) or '-'}"]
        if findings:
            tip.append(f"findings: {findings}")
        item.setToolTip("\n".join(tip))
        return item

    def _on_sentence(self, item, previous=None):
        if item is None or item.data(SENTENCE_ROLE) is None:
            return
        index = int(item.data(SENTENCE_ROLE))
        self.sentence_selected.emit(index, self.sentences[index].text)

    def apply_window(self, preset: str):
        layer = self.current_layer()
        if layer is None or preset not in WINDOW_PRESETS:
            return
        layer.contrast_limits = contrast_limits(preset)

    # -- attention --------------------------------------------------------------------------
    def show_attention(self, text: str, typed: bool = False):
        """Add (or update) the heatmap of a report sentence or a typed phrase: its layer at once,
        its map from the background; all of a report's sentences are mapped together and kept for
        later clicks."""
        from napari.utils.notifications import show_info

        layer, loaded, text = self.current_layer(), self.session.loaded, text.strip()
        if not text or layer is None:
            return None
        if loaded is None:
            show_info("Load a model first (Plugins > MG-3D > Model) to see where sentences point.")
            return None
        refine = self.refine.isChecked()
        key = (layer.name, id(loaded.model), refine, text if typed else None)
        cached = self.session.attention_cache.get(key)
        target = heatmap_layer(self.viewer, layer, text, ATTENTION, keep=self.keep.isChecked())
        shape_target = outline_layer(self.viewer, layer, text, keep=self.keep.isChecked())
        if cached is not None:
            self._show_map(layer, target, shape_target, cached, text, refine)
            return None

        def work():
            from ..inference.analysis import attention_maps
            from ..inference.outline import MAP_RULE, outlines
            from ..plugin.layers import layer_report, layer_volume

            volume = layer_volume(layer)
            if not self.session.has_case_features(loaded, layer):
                yield "encoding the volume"
            features = self.session.case_features(loaded, layer)  # once per case, kept
            yield "mapping the report"
            report = "" if typed else layer_report(layer)
            maps = attention_maps(loaded, volume, report, [text] if typed else [], refine, features)
            yield "outlining each sentence's finding"
            return [(m, heat, shape) for (m, heat), shape in zip(maps, outlines(
                maps, volume, None if refine else getattr(loaded, "outline_levels", None),
                getattr(loaded, "outline_rule", MAP_RULE)))]

        def done(maps):
            self.session.attention_cache[key] = maps
            if target.name in self.viewer.layers:  # not closed meanwhile
                self._show_map(layer, target, shape_target, maps, text, refine)

        return run_task(work, f"Attention: {text[:40]}", done, owner=self.taskbar)

    def _show_map(self, layer, target, shape_target, maps, text: str, refined: bool = False):
        """``maps``: [(AttentionMap, heat, Outline)] of the case, the one of ``text`` shown;
        ``refined``: Grad-CAM maps."""
        match = next(((m, heat, shape) for m, heat, shape in maps if m.text == text), None)
        if match is None:  # the sentence fell outside the text encoder's window
            from napari.utils.notifications import show_warning

            show_warning(f"no map for {text[:60]!r}: it lies beyond the text encoder's token window")
            self.outline_info.setText("")
            return
        amap, heat, shape = match
        show_heat(self.viewer, target, layer, heat, text, {"attention_source": amap.source})
        if shape_target.name in self.viewer.layers:
            show_outline(shape_target, layer, shape, text)
        self.outline_info.setText(outline_line(self.session.loaded, shape, text, refined))


def outline_line(loaded, shape, text: str, refined: bool = False) -> str:
    """The Case widget's line for a sentence's outline: its ml only where the model earned it
    (``inference.outline_quality``, measured on the model's own maps, not Grad-CAM's); otherwise
    where it points and why there is no volume."""
    from ..inference.outline import EMPTY_FLAT
    from ..inference.outline_quality import shown_volume

    if not shape.mask.any():
        return f"Outlined: nothing ({shape.empty_because or EMPTY_FLAT})"
    ml, why = shown_volume(getattr(loaded, "outline_quality", None), text, shape.ml, refined)
    return f"Outlined: {ml:.1f} ml · {shape.place}" if ml is not None else f"Outlined: {shape.place} · {why}"
