"""What the overview strip paints: the session's LTSA picture, the RMS level line, the event
and alert marks, the scroll-back cursor and its two axes, in one plain QWidget painted with
QPainter (as :mod:`monitor.gui.waterfall_canvas` and :mod:`monitor.gui.activity_strip`).

:class:`monitor.gui.overview.OverviewStrip` decides what is shown (bins, levels, marks) and
sets it here; this module only draws it and turns a click or drag into a stream time.
It was a pyqtgraph PlotWidget, the last one on the way to the window's first picture
(importing pyqtgraph cost ~0.17 s of the start and its memory; bench/findings.md,
"pyqtgraph off the first picture").
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets, sip

from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.axis_ticks import LABEL_SPACING_PX, clock_ticks, frequency_ticks
from monitor.gui.polygon_memory import create_qpolygonf, ndarray_from_qpolygonf
from monitor.gui.theme import COLORS

__all__ = ["OverviewCanvas", "LEVEL_COLOUR", "AXIS_PX", "TICK_PX"]

LEVEL_COLOUR = "#e8e8e8"  # the RMS level line
AXIS_PX = 64  # width of the frequency axis (the waterfall's, so that the time axes line up)
TICK_PX = 4  # length of a tick mark at UI scale 1


class OverviewCanvas(QtWidgets.QWidget):
    """What the strip draws: the LTSA picture, the level line, the event and alert marks, the
    scroll-back cursor and the two axes (frequency on the left, session time below).

    Coordinates: x is stream time (s) over :attr:`x_range`, y a display row ``0 … n_rows``
    (the lowest frequency at the bottom). ``pick(t)`` is called with the time under a left
    click or drag. Until it has a picture it shows :attr:`empty_text` alone: an axis of no
    time yet, with marks on it, would read as a session that is not there.
    """

    def __init__(self, pick: Callable[[float], None],
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        expanding = QtWidgets.QSizePolicy.Policy.Expanding
        self.setSizePolicy(expanding, expanding)
        self.setMinimumHeight(24)
        self._pick = pick
        self.rows: Optional[FrequencyRows] = None
        self.n_rows = 1
        self.x_range = (0.0, 1.0)
        self.paints = 0
        self.pixels: Optional[np.ndarray] = None  # (rows, n) uint32 RGB32, row 0 lowest
        self._qimage: Optional[QtGui.QImage] = None
        self._image_rect = QtCore.QRectF()  # in data coordinates
        self._level: Optional[QtGui.QPolygonF] = None  # in data coordinates
        self._marks: list = []  # ([(t, y0, y1), ...], colour key, width px)
        self.cursor: Optional[float] = None
        self._ticks_key = None
        self._ticks: list = []
        self.empty_text = ""
        self.set_ui_scale(1.0)

    # -- what the strip sets --------------------------------------------------------------------
    def set_rows(self, rows: FrequencyRows) -> None:
        self.rows, self.n_rows = rows, max(1, rows.n_rows)
        self.set_image(None, QtCore.QRectF())

    def set_empty_text(self, text: str) -> None:
        """What the canvas says while it has no picture (``""``: the empty axes)."""
        if text != self.empty_text:
            self.empty_text = text
            self.update()

    @property
    def is_empty(self) -> bool:
        """True while there is no picture: only :attr:`empty_text` is shown, clicks pick nothing."""
        return self._qimage is None

    def set_x_range(self, lo: float, hi: float) -> None:
        if (float(lo), float(hi)) != self.x_range:
            self.x_range = (float(lo), float(hi))
            self.update()

    def set_image(self, pixels: Optional[np.ndarray], rect: QtCore.QRectF) -> None:
        """Draw ``pixels`` ((h, n) uint32 RGB32, row 0 the lowest; may be the first columns of a
        wider buffer, not copied) stretched over ``rect`` (data coordinates); None: no picture."""
        if pixels is None:
            self.pixels = self._qimage = None
            self._image_rect = QtCore.QRectF()
        else:
            if pixels.dtype != np.uint32 or pixels.strides[1] != 4 or pixels.strides[0] % 4:
                pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
            self.pixels = pixels
            h, w = pixels.shape
            self._qimage = QtGui.QImage(sip.voidptr(pixels.ctypes.data), w, h, pixels.strides[0],
                                        QtGui.QImage.Format.Format_RGB32)
            self._image_rect = QtCore.QRectF(rect)
        self.update()

    def set_level(self, t: Optional[np.ndarray], y: Optional[np.ndarray]) -> None:
        """The level line through (``t`` s, ``y`` rows); None: none."""
        if t is None or not len(t):
            self._level = None
        else:
            poly = create_qpolygonf(len(t))
            memory = ndarray_from_qpolygonf(poly)
            memory[:, 0] = t
            memory[:, 1] = y
            self._level = poly
        self.update()

    def set_marks(self, marks: list) -> None:
        """``[(times, y0 (rows), colour key of COLORS, pen width px), ...]``: a vertical line
        from ``y0`` to the top at each time."""
        self._marks = [(np.asarray(t, np.float64), float(y0), key, float(width))
                       for t, y0, key, width in marks]
        self.update()

    def set_cursor(self, t: Optional[float]) -> None:
        if t != self.cursor:
            self.cursor = t
            self.update()

    def set_ui_scale(self, scale: float) -> None:
        """Tick labels at 8 pt × ``scale`` (as the other plots')."""
        self.scale = float(scale)
        self.tick_font = QtGui.QFont()
        self.tick_font.setPointSizeF(8.0 * self.scale)
        self._font_px = QtGui.QFontMetrics(self.tick_font).height()
        self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(600, 60)

    # -- geometry -------------------------------------------------------------------------------
    def plot_rect(self) -> QtCore.QRectF:
        """Where the picture is drawn (widget px)."""
        w, h = self.width(), self.height()
        bottom = int(round(TICK_PX * self.scale)) + self._font_px + 1
        left = min(AXIS_PX, max(0, w - 8))
        top = min(2, h)
        return QtCore.QRectF(left, top, max(1, w - left - 2), max(1, h - top - bottom))

    def data_transform(self) -> QtGui.QTransform:
        """Data (s, rows) → widget px."""
        r = self.plot_rect()
        x0, x1 = self.x_range
        kx = r.width() / max(x1 - x0, 1e-12)
        ky = r.height() / self.n_rows
        return QtGui.QTransform(kx, 0.0, 0.0, -ky, r.x() - x0 * kx, r.y() + r.height())

    def time_at(self, px: float) -> float:
        """Stream time (s) at widget x ``px``."""
        r = self.plot_rect()
        x0, x1 = self.x_range
        return x0 + (px - r.x()) / r.width() * (x1 - x0)

    def x_of(self, t: float) -> float:
        """Widget x of stream time ``t`` (s)."""
        r = self.plot_rect()
        x0, x1 = self.x_range
        return r.x() + (t - x0) / max(x1 - x0, 1e-12) * r.width()

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        p = QtGui.QPainter(self)
        p.fillRect(event.rect(), QtGui.QColor(COLORS["plot"]))
        r = self.plot_rect()
        if self.is_empty and self.empty_text:
            p.setPen(QtGui.QColor(COLORS["dim"]))
            p.setFont(self.tick_font)
            p.drawText(r, QtCore.Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        tr = self.data_transform()
        p.save()
        p.setClipRect(r, QtCore.Qt.ClipOperation.IntersectClip)
        if self._qimage is not None:
            h, w = self.pixels.shape
            ir = self._image_rect  # the image's (w, h) pixels stretched over it (data coords)
            p.setTransform(QtGui.QTransform(ir.width() / w, 0.0, 0.0, ir.height() / h,
                                            ir.x(), ir.y()) * tr)
            p.drawImage(QtCore.QRectF(0, 0, w, h), self._qimage)
            p.resetTransform()
        if self._level is not None:
            p.setPen(self._pen(LEVEL_COLOUR, 1.0))
            p.drawPolyline(tr.map(self._level))
        x0, x1 = self.x_range
        kx = r.width() / max(x1 - x0, 1e-12)
        for times, y0, key, width in self._marks:
            xs = r.x() + (times[(times >= x0) & (times <= x1)] - x0) * kx
            if len(xs):
                p.setPen(self._pen(COLORS[key], width))
                low = r.bottom() - y0 / self.n_rows * r.height()
                p.drawLines([QtCore.QLineF(x, low, x, r.top()) for x in xs.tolist()])
        if self.cursor is not None:
            p.setPen(self._pen(COLORS["trace"], 1.0))
            x = self.x_of(self.cursor)
            p.drawLine(QtCore.QLineF(x, r.top(), x, r.bottom()))
        p.restore()
        self._paint_axes(p, r)
        p.end()

    @staticmethod
    def _pen(colour: str, width: float) -> QtGui.QPen:
        pen = QtGui.QPen(QtGui.QColor(colour), width)
        pen.setCosmetic(True)
        return pen

    def _frequency_ticks(self, height: float) -> list:
        """The left axis's ticks, kept while the rows and the height stay (placing them took
        1.5 ms of a 2 ms paint)."""
        key = (self.rows, height)
        if key != self._ticks_key:
            self._ticks_key = key
            self._ticks = frequency_ticks(self.rows, height, LABEL_SPACING_PX["left"])
        return self._ticks

    def _paint_axes(self, p: QtGui.QPainter, r: QtCore.QRectF) -> None:
        dim = QtGui.QColor(COLORS["dim"])
        p.setPen(dim)
        p.setFont(self.tick_font)
        fm = QtGui.QFontMetrics(self.tick_font)
        tick = TICK_PX * self.scale
        fh = fm.height()
        p.drawLine(QtCore.QLineF(r.x() - 0.5, r.top(), r.x() - 0.5, r.bottom()))
        if self.rows is not None:
            for value, text in self._frequency_ticks(r.height()):
                y = r.bottom() - value / self.n_rows * r.height()
                p.drawLine(QtCore.QLineF(r.x() - tick, y, r.x(), y))
                y_text = min(max(y - fh / 2, 0.0), self.height() - fh)
                p.drawText(QtCore.QRectF(0, y_text, r.x() - tick - 2, fh),
                           QtCore.Qt.AlignmentFlag.AlignRight
                           | QtCore.Qt.AlignmentFlag.AlignVCenter, text)
        bottom = r.bottom()
        p.drawLine(QtCore.QLineF(r.left(), bottom + 0.5, r.right(), bottom + 0.5))
        x0, x1 = self.x_range
        kx = r.width() / max(x1 - x0, 1e-12)
        for value, text in clock_ticks(x0, x1, r.width(), LABEL_SPACING_PX["bottom"]):
            x = r.x() + (value - x0) * kx
            p.drawLine(QtCore.QLineF(x, bottom, x, bottom + tick))
            w = fm.horizontalAdvance(text) + 2
            x_text = min(max(x - w / 2, r.left() - w / 2), self.width() - w)
            p.drawText(QtCore.QRectF(x_text, bottom + tick, w, fh),
                       QtCore.Qt.AlignmentFlag.AlignCenter, text)

    # -- the mouse ------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if (event.button() == QtCore.Qt.MouseButton.LeftButton and not self.is_empty
                and self.plot_rect().contains(event.position())):
            event.accept()
            self._pick(self.time_at(event.position().x()))
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.buttons() & QtCore.Qt.MouseButton.LeftButton and not self.is_empty:  # a drag
            event.accept()
            self._pick(self.time_at(event.position().x()))
        else:
            super().mouseMoveEvent(event)

