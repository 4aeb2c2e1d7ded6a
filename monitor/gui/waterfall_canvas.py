"""The waterfall's drawing surface: a plain QWidget that blits the visible slice of the RGB32
ring and its axes, with no QGraphicsScene.

Why not a pyqtgraph PlotWidget: its paint had a fixed cost of ~0.65 ms over the image's own
0.2 ms (view, scene, item bookkeeping; measured with ``python -m bench.gui_paint``), and its
scene posted the repaint a turn of the event loop after the display tick, so a tick made
several backing-store flushes. Here the tick's :meth:`WaterfallCanvas.set_placement` calls
``update`` of the picture's rectangle at once; the axes, background and titles are one pixmap,
painted again only when the size, the rows, the time range, the theme or the UI scale change.

Coordinates: the *view* is (time s, row) on (x, y), or (row, time) when ``vertical``, y up;
the *image* is (column, row) of the picture, column 0 the oldest, row 0 the lowest frequency.

Scrolling: the picture's position along the time axis is rounded to whole pixels, from the
position of the history's absolute column 0, so a column lands on the same pixels whenever it
is painted. Then a display tick (:meth:`WaterfallCanvas.show`) moves the pixels already on the
backing store by ``QWidget.scroll`` and paints only the strip it exposes and the columns that
just arrived, instead of the whole picture (0.05 against 0.4 ms a tick for 880 × 450 px).
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets, sip

from monitor.gui.axis_ticks import frequency_ticks, time_ticks
from monitor.gui.theme import COLORS

__all__ = ["WaterfallCanvas"]

TICK_PX = 5  # tick length, px at UI scale 1


class WaterfallCanvas(QtWidgets.QWidget):
    """The picture, its frequency and time axes, the change marks and the detector marks.

    Parameters
    ----------
    readout : callable, optional
        ``readout(x, y)`` → text for view coordinates under the mouse (or None).
    emit : callable, optional
        Called with the readout text as the mouse moves, ``""`` when it leaves.
    """

    def __init__(self, readout: Optional[Callable] = None, emit: Optional[Callable] = None,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setMinimumSize(120, 80)
        # As a PlotWidget: it takes the room its neighbours leave (the overview strip beside
        # it in the vertical layout would otherwise squeeze it).
        expanding = QtWidgets.QSizePolicy.Policy.Expanding
        self.setSizePolicy(expanding, expanding)
        self._readout, self._emit = readout, emit
        self.axis_width = 64
        self.scale = 1.0
        self.vertical = False
        self.rows = None  # FrequencyRows of the frequency axis
        self.freq_title = "frequency (Hz)"
        self.time_title = "time (s)"
        self.time_range = (-10.0, 0.0)
        self.n_rows = 1
        self.tick_font = QtGui.QFont()
        self.title_font = QtGui.QFont()
        self._qimage: Optional[QtGui.QImage] = None
        self._ring: Optional[np.ndarray] = None
        self._frozen: Optional[QtGui.QImage] = None
        self._frozen_pixels: Optional[np.ndarray] = None
        self.columns = 0  # picture width, columns
        self.offset = 0  # first ring column shown
        self.x0 = -10.0  # view time (s) of column 0's left edge
        self.dt = 1.0  # seconds per column
        self.first = 0  # absolute index (since the history began) of column 0
        self.change_marks: list[tuple[int, str, int]] = []  # (absolute column, note, lane)
        self.scrolls = 0  # ticks that moved the pixels instead of repainting the picture
        self._q: Optional[int] = None  # rounded px of absolute column 0, as on screen
        self._q_key = None  # what the rounding is valid for (geometry)
        self.detector_marks = None  # monitor.gui.detector_marks.DetectorMarks
        self.paints = 0
        self._static: Optional[QtGui.QPixmap] = None
        self._static_key = None
        self._bottom_px = 0
        self._rect_key = None
        self._rect = QtCore.QRectF()
        self._tr_key = None  # what the kept image transform is valid for
        self._tr = QtGui.QTransform()
        self._tr_q = 0
        self._aligned_rect = QtCore.QRect()
        self.set_ui_scale(1.0)

    # -- the picture ----------------------------------------------------------------------------
    def set_ring(self, ring: np.ndarray, width: int) -> None:
        """Show ``ring`` ((rows, 2 × width) uint32 0xffRRGGBB), kept referenced here."""
        self._ring = ring
        rows = ring.shape[0]
        self._qimage = QtGui.QImage(sip.voidptr(ring.ctypes.data), ring.shape[1], rows,
                                    ring.strides[0], QtGui.QImage.Format.Format_RGB32)
        self.columns, self.n_rows = int(width), int(rows)
        self._frozen = self._frozen_pixels = None
        self.update_picture()

    def set_offset(self, offset: int, first: Optional[int] = None) -> None:
        """Show ring columns from ``offset``; ``first``: the absolute index of the first."""
        self.offset = int(offset)
        if first is not None:
            self.first = int(first)
        self.update_picture()

    def show(self, offset: int, first: int, x0: float, dt: float) -> None:
        """The display tick: ring columns from ``offset`` (absolute index ``first``), column
        0's left edge at view time ``x0`` (s), ``dt`` s per column. Scrolls the pixels on
        screen and paints only what is new when it can, else repaints the picture; does
        nothing when the picture has not moved by a pixel and no column came."""
        old_first = self.first
        self.offset, self.first = int(offset), int(first)
        self.x0, self.dt = float(x0), float(dt)
        tr = self.image_transform()  # also rounds the origin (self._tr_q)
        key = self._tr_key[0]
        old_q, self._q = self._q, self._tr_q
        if self._frozen is not None or old_q is None or key != self._q_key or not self.isVisible():
            self._q_key = key
            self.update_picture()
            return
        d = self._q - old_q
        arrived = self.first - old_first
        if not d and not arrived:
            return
        rect = self._aligned_rect
        if abs(d) >= (rect.height() if self.vertical else rect.width()) or abs(arrived) \
                >= self.columns:
            self.update_picture()
            return
        if d:
            self.scrolls += 1
            self.scroll(0, d, rect) if self.vertical else self.scroll(d, 0, rect)
        if arrived:  # the columns that arrived since the last tick
            new = QtCore.QRectF(self.columns - arrived, 0, arrived, self.n_rows)
            self.update(tr.mapRect(new).toAlignedRect().adjusted(-1, -1, 1, 1)
                        .intersected(rect))

    def _geometry_key(self) -> tuple:
        return (self.width(), self.height(), self.time_range, self.n_rows, self.columns,
                self.vertical, self.dt, self.axis_width, self.scale)

    def _origin(self) -> float:
        """Widget px (x, or y when vertical) of absolute column 0's edge, unrounded."""
        (x0, x1), (y0, y1) = self.view_range()
        r = self.plot_rect()
        if self.vertical:
            ky = r.height() / (y1 - y0)
            return r.y() + r.height() + (y0 - self.x0) * ky + self.first * self.dt * ky
        kx = r.width() / (x1 - x0)
        return r.x() + (self.x0 - x0) * kx - self.first * self.dt * kx

    def freeze(self, pixels: Optional[np.ndarray]) -> None:
        """Show ``pixels`` ((rows, width) uint32) instead of the live ring; None: live again."""
        if pixels is None:
            self._frozen = self._frozen_pixels = None
        else:
            self._frozen_pixels = np.ascontiguousarray(pixels, dtype=np.uint32)
            h, w = self._frozen_pixels.shape
            self._frozen = QtGui.QImage(sip.voidptr(self._frozen_pixels.ctypes.data), w, h,
                                        self._frozen_pixels.strides[0],
                                        QtGui.QImage.Format.Format_RGB32)
        self.update_picture()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def set_placement(self, x0: float, dt: float) -> None:
        """Column 0's left edge at view time ``x0`` (s), ``dt`` s per column."""
        if (x0, dt) != (self.x0, self.dt):
            self.x0, self.dt = float(x0), float(dt)
            self.update_picture()

    def update_picture(self) -> None:
        """Repaint the picture's rectangle (not the axes)."""
        self.update(self.plot_rect().toAlignedRect())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._q = None  # the next tick repaints all
        super().resizeEvent(event)

    # -- axes and look --------------------------------------------------------------------------
    def set_axes(self, rows, freq_title: str, time_title: str, time_range: tuple,
                 vertical: bool) -> None:
        """Frequency rows and titles, the time axis's range (s) and the orientation."""
        self.rows, self.freq_title, self.time_title = rows, freq_title, time_title
        self.n_rows = rows.n_rows
        self.time_range = (float(time_range[0]), float(time_range[1]))
        self.vertical = bool(vertical)
        self.update()

    def set_time_range(self, lo: float, hi: float) -> None:
        if (float(lo), float(hi)) != self.time_range:
            self.time_range = (float(lo), float(hi))
            self.update()

    def set_axis_width(self, px: int) -> None:
        if int(px) != self.axis_width:
            self.axis_width = int(px)
            self.update()

    def set_ui_scale(self, scale: float) -> None:
        """Fonts at UI ``scale``; colours from the theme in force (monitor.gui.theme.COLORS)."""
        self.scale = float(scale)
        self.tick_font = QtGui.QFont()
        self.tick_font.setPointSizeF(8.0 * self.scale)
        self.title_font = QtGui.QFont()
        self.title_font.setPointSizeF(9.0 * self.scale)
        tick = QtGui.QFontMetrics(self.tick_font).height()
        title = QtGui.QFontMetrics(self.title_font).height()
        self._bottom_px = int(round(TICK_PX * self.scale)) + tick + title + 6
        self._static_key = None
        self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(640, 360)

    def background_color(self) -> QtGui.QColor:
        return QtGui.QColor(COLORS["plot"])

    def viewport(self) -> QtWidgets.QWidget:
        """The widget that paints (this one; a PlotWidget's viewport is another)."""
        return self

    def bottom_height(self) -> int:
        """Height (px) of the bottom axis: tick labels and the title."""
        return self._bottom_px

    def plot_rect(self) -> QtCore.QRectF:
        """The picture's rectangle in widget pixels."""
        w, h = self.width(), self.height()
        key = (w, h, self.axis_width, self._bottom_px)
        if key != self._rect_key:  # asked several times a tick: kept
            self._rect_key = key
            aw = min(self.axis_width, max(0, w - 8))
            bh = min(self._bottom_px, max(0, h - 8))
            self._rect = QtCore.QRectF(aw, 0, max(1, w - aw), max(1, h - bh))
        return QtCore.QRectF(self._rect)

    def view_range(self) -> tuple:
        """((x lo, x hi), (y lo, y hi)) in view coordinates."""
        if self.vertical:
            return (0.0, float(self.n_rows)), self.time_range
        return self.time_range, (0.0, float(self.n_rows))

    def view_to_widget(self, x: float, y: float) -> QtCore.QPointF:
        (x0, x1), (y0, y1) = self.view_range()
        r = self.plot_rect()
        return QtCore.QPointF(r.x() + (x - x0) / (x1 - x0) * r.width(),
                              r.y() + r.height() - (y - y0) / (y1 - y0) * r.height())

    def widget_to_view(self, px: float, py: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.view_range()
        r = self.plot_rect()
        return (x0 + (px - r.x()) / r.width() * (x1 - x0),
                y0 + (r.y() + r.height() - py) / r.height() * (y1 - y0))

    def image_to_view(self, column: float, row: float) -> tuple[float, float]:
        """View coordinates of image point (``column``, ``row``)."""
        t = self.x0 + column * self.dt
        return (row, t) if self.vertical else (t, row)

    def image_to_widget(self, column: float, row: float) -> QtCore.QPointF:
        return self.view_to_widget(*self.image_to_view(column, row))

    def image_transform(self) -> QtGui.QTransform:
        """Image (column, row) → widget pixels, the time axis's position rounded as drawn."""
        key = (self._geometry_key(), self._bottom_px, self.x0, self.first)
        if key == self._tr_key:  # asked by the tick and by the paint: kept
            return QtGui.QTransform(self._tr)
        (x0, x1), (y0, y1) = self.view_range()
        r = self.plot_rect()
        kx = r.width() / (x1 - x0)
        ky = r.height() / (y1 - y0)
        bottom = r.y() + r.height()
        q = round(self._origin())
        if self.vertical:  # rows along x, columns up the y axis
            tr = QtGui.QTransform(0.0, -self.dt * ky, kx, 0.0, r.x() - x0 * kx,
                                  q - self.first * self.dt * ky)
        else:
            tr = QtGui.QTransform(self.dt * kx, 0.0, 0.0, -ky, q + self.first * self.dt * kx,
                                  bottom + y0 * ky)
        self._tr_key, self._tr, self._tr_q = key, tr, int(q)
        self._aligned_rect = r.toAlignedRect()
        return QtGui.QTransform(tr)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        p = QtGui.QPainter(self)
        r = self.plot_rect()
        if not r.contains(QtCore.QRectF(event.rect())):
            p.drawPixmap(0, 0, self._static_pixmap())
        p.setClipRect(r, QtCore.Qt.ClipOperation.IntersectClip)
        tr = self.image_transform()
        shown = tr.mapRect(QtCore.QRectF(0, 0, self.columns, self.n_rows))
        if not shown.contains(r):  # the picture does not cover its rectangle: background
            bg = self.background_color()
            for gap in (QtCore.QRectF(r.left(), r.top(), shown.left() - r.left(), r.height()),
                        QtCore.QRectF(shown.right(), r.top(), r.right() - shown.right(),
                                      r.height()),
                        QtCore.QRectF(r.left(), r.top(), r.width(), shown.top() - r.top()),
                        QtCore.QRectF(r.left(), shown.bottom(), r.width(),
                                      r.bottom() - shown.bottom())):
                if gap.width() > 0 and gap.height() > 0:
                    p.fillRect(gap, bg)
        image = self._frozen if self._frozen is not None else self._qimage
        if image is not None and self.columns:
            # Only the columns the repainted area shows (a scroll exposes a few pixels): the
            # same transform, so the same pixels as a whole paint.
            inverse, _ = tr.inverted()
            src = inverse.mapRect(QtCore.QRectF(event.rect()))
            c0 = max(0, int(src.left()) - 1)
            c1 = min(self.columns, int(src.right()) + 2)
            p.setTransform(tr)
            if c1 > c0:
                start = c0 if self._frozen is not None else self.offset + c0
                p.drawImage(QtCore.QRectF(c0, 0, c1 - c0, self.n_rows), image,
                            QtCore.QRectF(start, 0, c1 - c0, self.n_rows))
            marks = self.detector_marks
            if marks is not None and marks.isVisible() and self._marks_touch(tr, event.rect()):
                p.save()
                p.translate(marks.pos().x(), 0.0)
                marks.paint(p)
                p.restore()
            if self.change_marks:
                self._paint_change_marks(p, tr)
        p.end()

    def _marks_touch(self, tr: QtGui.QTransform, area: QtCore.QRect) -> bool:
        """Whether the detector marks' lines (3-px pens) reach into ``area``: a tick repaints
        only the newest columns, and the marks' lines cost 0.07 ms a paint (the pen's stroker)."""
        bounds = self.detector_marks.boundingRect()
        if bounds.isEmpty() and not (bounds.width() or bounds.height()):
            return True  # no bounds known: paint them
        x = self.detector_marks.pos().x()
        return tr.mapRect(bounds.translated(x, 0.0)).adjusted(-3, -3, 3, 3) \
            .intersects(QtCore.QRectF(area))

    def _paint_change_marks(self, p: QtGui.QPainter, tr: QtGui.QTransform) -> None:
        """A dashed line with a note where the settings changed inside the picture."""
        pen = QtGui.QPen(QtGui.QColor("#e8e8e8"), 1, QtCore.Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        p.setPen(pen)
        for column, _, _ in self.change_marks:
            x = float(column - self.first)
            p.drawLine(QtCore.QLineF(x, 0.0, x, float(self.n_rows)))
        p.resetTransform()
        font = QtGui.QFont()
        font.setPointSizeF(8.0 * self.scale)
        p.setFont(font)
        for column, note, lane in self.change_marks:
            at = tr.map(QtCore.QPointF(float(column - self.first),
                                       self.n_rows * (0.97 - 0.07 * (lane % 3))))
            p.drawText(at + QtCore.QPointF(2, 12 * self.scale), note)

    def _static_pixmap(self) -> QtGui.QPixmap:
        key = (self.width(), self.height(), self.devicePixelRatioF(), id(self.rows),
               self.n_rows, self.time_range, self.vertical, self.axis_width, self.scale,
               self.freq_title, self.time_title, COLORS["plot"], COLORS["dim"])
        if key != self._static_key or self._static is None:
            self._static_key = key
            self._static = self._paint_static()
        return self._static

    def _paint_static(self) -> QtGui.QPixmap:
        """Background, axes, ticks, labels and titles: drawn once per geometry and look."""
        dpr = self.devicePixelRatioF()
        pix = QtGui.QPixmap(max(1, int(self.width() * dpr)), max(1, int(self.height() * dpr)))
        pix.setDevicePixelRatio(dpr)
        pix.fill(self.background_color())
        p = QtGui.QPainter(pix)
        dim = QtGui.QColor(COLORS["dim"])
        p.setPen(dim)
        r = self.plot_rect()
        tick = TICK_PX * self.scale
        fm = QtGui.QFontMetrics(self.tick_font)
        left_is_freq = not self.vertical
        # Left axis.
        p.drawLine(QtCore.QLineF(r.x() - 0.5, r.y(), r.x() - 0.5, r.y() + r.height()))
        size = r.height()
        ticks = (frequency_ticks(self.rows, size, 24) if left_is_freq and self.rows is not None
                 else time_ticks(*self.time_range, size, 24) if not left_is_freq else [])
        p.setFont(self.tick_font)
        for value, text in ticks:
            y = self.view_to_widget(0.0, value).y() if left_is_freq else \
                self.view_to_widget(0.0, value).y()
            p.drawLine(QtCore.QLineF(r.x() - tick, y, r.x(), y))
            h = fm.height()
            y_text = min(max(y - h / 2, 0.0), self.height() - h)
            p.drawText(QtCore.QRectF(0, y_text, r.x() - tick - 2, h),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       text)
        p.save()
        p.setFont(self.title_font)
        p.translate(0, r.y() + r.height() / 2)
        p.rotate(-90)
        p.drawText(QtCore.QRectF(-r.height() / 2, 0, r.height(),
                                 QtGui.QFontMetrics(self.title_font).height()),
                   QtCore.Qt.AlignmentFlag.AlignCenter,
                   self.freq_title if left_is_freq else self.time_title)
        p.restore()
        # Bottom axis.
        bottom = r.y() + r.height()
        p.drawLine(QtCore.QLineF(r.x(), bottom + 0.5, r.x() + r.width(), bottom + 0.5))
        size = r.width()
        ticks = (time_ticks(*self.time_range, size, 48) if left_is_freq
                 else frequency_ticks(self.rows, size, 48) if self.rows is not None else [])
        for value, text in ticks:
            x = self.view_to_widget(value, 0.0).x()
            p.drawLine(QtCore.QLineF(x, bottom, x, bottom + tick))
            w = fm.horizontalAdvance(text) + 2
            x_text = min(max(x - w / 2, 0.0), self.width() - w)
            p.drawText(QtCore.QRectF(x_text, bottom + tick + 1, w, fm.height()),
                       QtCore.Qt.AlignmentFlag.AlignCenter, text)
        p.setFont(self.title_font)
        p.drawText(QtCore.QRectF(r.x(), bottom + tick + 1 + fm.height(), r.width(),
                                 QtGui.QFontMetrics(self.title_font).height() + 4),
                   QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop,
                   self.time_title if left_is_freq else self.freq_title)
        p.end()
        return pix

    # -- the mouse ------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._emit is None:
            return
        pos = event.position()
        if not self.plot_rect().contains(pos):
            self._emit("")
            return
        x, y = self.widget_to_view(pos.x(), pos.y())
        self._emit((self._readout(x, y) if self._readout is not None else None) or "")

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._emit is not None:
            self._emit("")
        super().leaveEvent(event)
