"""The one line a widget shows when its volume lies outside the loaded model's training data
(``inference.familiarity``), hidden otherwise."""

from __future__ import annotations

from qtpy.QtWidgets import QLabel


def unfamiliar_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #e8a33d;")  # amber: a caution, not an error
    label.setVisible(False)
    return label


def show_unfamiliar(label: QLabel, layer, line: str | None, current) -> None:
    """Show ``line`` (or hide the label) when ``layer`` is the widget's ``current`` volume."""
    if layer is not current:
        return
    label.setText(f"⚠ {line}" if line else "")
    label.setVisible(bool(line))
