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

import math
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
        self._bg_brush = None  # (colour, QBrush) of the background
        self._geom = None  # the picture's geometry in Python numbers (_placement)
        self._tr_key = None  # what the kept image transform is valid for
        self._tr = QtGui.QTransform()
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
        nothing when the picture has not moved by a pixel and no column came.

        In Python numbers from the kept geometry (:meth:`_placement`): each Qt object made
        here (a rectangle, a transform) costs more than the arithmetic (sip's argument
        parsing; python -m bench.waterfall_ticks under callgrind)."""
        old_first = self.first
        self.offset, self.first = int(offset), int(first)
        self.x0, self.dt = float(x0), float(dt)
        g = self._placement()
        old_q, self._q = self._q, int(round(self._origin_in(g)))
        if self._frozen is not None or old_q is None or g[0] != self._q_key or \
                not self.isVisible():
            self._q_key = g[0]
            self.update_picture()
            return
        d = self._q - old_q
        arrived = self.first - old_first
        if not d and not arrived:
            return
        left, top, right, bottom = g[-1]  # the picture's pixels, right/bottom exclusive
        if abs(d) >= ((bottom - top) if self.vertical else (right - left)) or \
                abs(arrived) >= self.columns:
            self.update_picture()
            return
        if d:
            self.scrolls += 1
            rect = self._aligned_rect
            self.scroll(0, d, rect) if self.vertical else self.scroll(d, 0, rect)
        if arrived:  # the columns that arrived since the last tick, one pixel around them
            lo, hi = self._columns_along(g, self.columns - arrived, self.columns)
            lo, hi = math.floor(lo) - 1, math.ceil(hi) + 1
            if self.vertical:
                x0_, x1_, y0_, y1_ = left, right, max(top, lo), min(bottom, hi)
            else:
                x0_, x1_, y0_, y1_ = max(left, lo), min(right, hi), top, bottom
            if x1_ > x0_ and y1_ > y0_:
                self.update(x0_, y0_, x1_ - x0_, y1_ - y0_)

    def _placement(self) -> tuple:
        """The geometry of the picture as Python numbers, kept until it changes:
        (key, x range, y range, kx, ky, plot rect x, y, w, h, aligned rect edges)."""
        key = (self._geometry_key(), self._bottom_px)
        if self._geom is None or self._geom[0] != key:
            (x0, x1), (y0, y1) = self.view_range()
            r = self.plot_rect()
            a = r.toAlignedRect()
            self._aligned_rect = a
            self._geom = (key, (x0, x1), (y0, y1), r.width() / (x1 - x0),
                          r.height() / (y1 - y0), r.x(), r.y(), r.width(), r.height(),
                          (a.x(), a.y(), a.x() + a.width(), a.y() + a.height()))
        return self._geom

    def _origin_in(self, g: tuple) -> float:
        """:meth:`_origin` from the kept geometry ``g`` (the same arithmetic)."""
        _, (x0, _x1), (y0, _y1), kx, ky, rx, ry, _rw, rh, _ = g
        if self.vertical:
            return ry + rh + (y0 - self.x0) * ky + self.first * self.dt * ky
        return rx + (self.x0 - x0) * kx - self.first * self.dt * kx

    def _axis_map(self, g: tuple) -> tuple[float, float]:
        """(px per column, px of column 0) along the time axis, as :meth:`image_transform`
        maps them (its time-axis coefficients: negative px per column when vertical)."""
        _, _, _, kx, ky, *_ = g
        q = round(self._origin_in(g))
        if self.vertical:
            return -self.dt * ky, q - self.first * self.dt * ky
        return self.dt * kx, q + self.first * self.dt * kx

    def _columns_along(self, g: tuple, c0: float, c1: float) -> tuple[float, float]:
        """Widget px (low, high) along the time axis of image columns ``c0`` … ``c1``."""
        m, base = self._axis_map(g)
        a, b = m * c0 + base, m * c1 + base
        return (a, b) if a <= b else (b, a)

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
        return QtGui.QTransform(self._transform())

    def _transform(self) -> QtGui.QTransform:
        """:meth:`image_transform`, kept (not a copy) while the geometry, ``x0`` and
        ``first`` stay: asked by the tick and again by the paint."""
        g = self._placement()
        key = (g[0], self.x0, self.first)
        if key == self._tr_key:
            return self._tr
        _, (x0, _x1), (y0, _y1), kx, ky, rx, ry, _rw, rh, _ = g
        q = round(self._origin_in(g))
        if self.vertical:  # rows along x, columns up the y axis
            tr = QtGui.QTransform(0.0, -self.dt * ky, kx, 0.0, rx - x0 * kx,
                                  q - self.first * self.dt * ky)
        else:
            tr = QtGui.QTransform(self.dt * kx, 0.0, 0.0, -ky, q + self.first * self.dt * kx,
                                  ry + rh + y0 * ky)
        self._tr_key, self._tr = key, tr
        return tr

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        area = event.rect()
        g = self._placement()
        left, top, right, bottom = g[-1]
        ax, ay, aw, ah = area.x(), area.y(), area.width(), area.height()
        inside = ax >= left and ay >= top and ax + aw <= right and ay + ah <= bottom
        p = QtGui.QPainter(self)
        if not inside:
            p.drawPixmap(0, 0, self._static_pixmap())
            p.setClipRect(self.plot_rect(), QtCore.Qt.ClipOperation.IntersectClip)
        # (Inside the picture, the paint's own clip, the region asked for, is within it.)
        tr = self._transform()
        self._paint_gaps(p, g, area)  # where the picture does not cover its rectangle
        image = self._frozen if self._frozen is not None else self._qimage
        if image is not None and self.columns:
            # Only the columns the repainted area shows (a scroll exposes a few pixels): the
            # same transform, so the same pixels as a whole paint.
            a0, a1 = (ay, ay + ah) if self.vertical else (ax, ax + aw)
            c0, c1 = self._columns_at(g, a0, a1)
            c0 = max(0, int(c0) - 1)
            c1 = min(self.columns, int(c1) + 2)
            p.setTransform(tr)
            if c1 > c0:
                start = c0 if self._frozen is not None else self.offset + c0
                p.drawImage(QtCore.QRectF(c0, 0, c1 - c0, self.n_rows), image,
                            QtCore.QRectF(start, 0, c1 - c0, self.n_rows))
            marks = self.detector_marks
            if marks is not None and marks.isVisible() and self._marks_touch(g, a0, a1):
                p.save()
                p.translate(marks.pos().x(), 0.0)
                marks.paint(p)
                p.restore()
            if self.change_marks:
                self._paint_change_marks(p, tr)
        p.end()

    def _columns_at(self, g: tuple, a0: float, a1: float) -> tuple[float, float]:
        """Image columns (low, high) drawn between widget px ``a0`` and ``a1`` along the time
        axis (the inverse of :meth:`_columns_along`)."""
        m, base = self._axis_map(g)
        c0, c1 = (a0 - base) / m, (a1 - base) / m
        return (c0, c1) if c0 <= c1 else (c1, c0)

    def _paint_gaps(self, p: QtGui.QPainter, g: tuple, area: QtCore.QRect) -> None:
        """The background where the picture does not reach (a history not yet full, or the
        sub-pixel sliver the rounded time position leaves at an edge), where it meets the
        repainted ``area``: the rectangles as a whole paint fills them, the others skipped
        (a tick repaints a few columns at the newest edge; the four fills with a colour
        cost 34 of the paint's 70 µs)."""
        _, (x0, _x1), (y0, _y1), kx, ky, rx, ry, rw, rh, _ = g
        t_lo, t_hi = self._columns_along(g, 0, self.columns)
        if self.vertical:  # rows along x: kx·row + rx − x0·kx
            base = rx - x0 * kx
            a, b = base, kx * self.n_rows + base
            s_left, s_right, s_top, s_bottom = min(a, b), max(a, b), t_lo, t_hi
        else:  # rows up the y axis: −ky·row + bottom + y0·ky
            base = ry + rh + y0 * ky
            a, b = base, -ky * self.n_rows + base
            s_left, s_right, s_top, s_bottom = t_lo, t_hi, min(a, b), max(a, b)
        r_right, r_bottom = rx + rw, ry + rh
        gaps = ((rx, ry, s_left - rx, rh), (s_right, ry, r_right - s_right, rh),
                (rx, ry, rw, s_top - ry), (rx, s_bottom, rw, r_bottom - s_bottom))
        ax0, ay0 = area.x() - 1, area.y() - 1
        ax1, ay1 = ax0 + area.width() + 2, ay0 + area.height() + 2
        brush = None
        for x, y, w, h in gaps:
            if w > 0 and h > 0 and x < ax1 and x + w > ax0 and y < ay1 and y + h > ay0:
                if brush is None:
                    brush = self._background_brush()
                p.fillRect(QtCore.QRectF(x, y, w, h), brush)

    def _background_brush(self) -> QtGui.QBrush:
        """The background colour in force as a kept brush."""
        key = COLORS["plot"]
        if self._bg_brush is None or self._bg_brush[0] != key:
            self._bg_brush = (key, QtGui.QBrush(self.background_color()))
        return self._bg_brush[1]

    def _marks_touch(self, g: tuple, a0: float, a1: float) -> bool:
        """Whether the detector marks' lines (3-px pens) reach the repainted span ``a0`` …
        ``a1`` (px along the time axis): a tick repaints only the newest columns, and the
        marks' lines cost 0.07 ms a paint (the pen's stroker)."""
        marks = self.detector_marks
        bounds = marks.boundingRect()
        if not (bounds.width() or bounds.height()):
            return True  # no bounds known: paint them
        x = marks.pos().x()
        lo, hi = self._columns_along(g, bounds.left() + x, bounds.right() + x)
        return hi + 3 >= a0 and lo - 3 <= a1

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
