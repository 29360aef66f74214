"""A small line plot (QPainter): training loss by step and validation points, no plotting library."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

COLORS = ("#4fc3f7", "#ff8a65", "#aed581", "#ffd54f", "#ba68c8")


class LinePlot(QWidget):
    """Series of (x, y) points, each on its own y range (normalised), with a legend of last values."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.setMinimumHeight(140)

    def set_series(self, series: dict[str, list[tuple[float, float]]]) -> None:
        self.series = {k: [p for p in v if math.isfinite(p[1])] for k, v in series.items() if v}
        self.update()

    def paintEvent(self, event):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#262930"))
        w, h, m = self.width(), self.height(), 8
        legend_h = 16 * max(1, len(self.series))
        top, bottom = m + legend_h, h - m
        xs = [x for pts in self.series.values() for x, _ in pts]
        if not xs or bottom - top < 10:
            p.setPen(QColor("#aaaaaa"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no metrics yet")
            return
        x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        for i, (name, pts) in enumerate(self.series.items()):
            color = QColor(COLORS[i % len(COLORS)])
            ys = [y for _, y in pts]
            y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1e-9
            poly = QPolygonF([QPointF(m + (x - x0) / (x1 - x0) * (w - 2 * m),
                                      bottom - (y - y0) / (y1 - y0) * (bottom - top)) for x, y in pts])
            p.setPen(QPen(color, 1.5))
            if len(pts) > 1:
                p.drawPolyline(poly)
            for point in poly if len(pts) < 30 else []:
                p.drawEllipse(point, 2.5, 2.5)
            p.drawText(m, m + 12 + 16 * i, f"{name}: {ys[-1]:.4g}  (range {y0:.3g} to {y1:.3g})")
        p.end()
