"""The activity strip under the waterfall: when the chosen sound classes were active, on the
waterfall's time axis (a row a class, a bar a YAMNet patch).

A plain QWidget (it was a pyqtgraph PlotWidget, whose paint cost 0.53 ms at 60 Hz: python -m
bench.gui_paint): the cells are one small RGB32 image, made when the scores change (twice a
second); the names are pixmaps made when they change. As the waterfall's canvas does, it
rounds its time position to whole pixels and scrolls: a display tick moves the pixels on the
backing store and repaints only the exposed strip and the names (which stay put over the
moving cells).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets, sip

__all__ = ["ActivityStrip", "PATCH_CENTRE", "PATCH_HOP", "STRIP_COLOURS", "STRIP_ROWS"]

STRIP_ROWS = 5
PATCH_HOP = 0.48  # s between YAMNet patches
PATCH_CENTRE = (0.975 - PATCH_HOP) / 2  # a patch is drawn as the 0.48 s around its centre
# One colour a class in the strip (a watched class is red): orange, cyan, green, violet, yellow.
STRIP_COLOURS = [np.array(QtGui.QColor(c).getRgb()[:3], np.float32)
                 for c in ("#f0a030", "#40c8e0", "#5fd068", "#b088f0", "#e8d84a")]
DANGER = "#e0403a"
DANGER_RGB = np.array(QtGui.QColor(DANGER).getRgb()[:3], np.float32)
GRID = "#2a2e36"
TEXT = "#d5d9e0"


class ActivityStrip(QtWidgets.QWidget):
    """When chosen classes were active, on the waterfall's time axis.

    Time is seconds relative to the displayed stream time (``-span`` … 0), as the waterfall's
    columns are, so the two line up when the strip sits beside the waterfall: under it (time on
    x; its cells start ``left_margin`` px from the left, where the waterfall's axis ends) or,
    with ``orientation='vertical'``, right of it (time on y, newest at the top, ``axis_px`` px
    left free at the bottom as the waterfall's frequency axis is tall). One row (column) per
    class, each in its own colour with its name and a line between rows, so that several active
    labels stay apart; each patch is a cell 0.48 s wide centred on the audio it heard, its
    brightness the patch's own score (full colour at or over the class's threshold; red for a
    watched class). The patch's own score, not the smoothed one: a mean over 3 patches reaches a
    threshold one or two patches late, which drew every onset 0.5–0.8 s after the waterfall
    showed it.

    Attributes
    ----------
    image : ndarray
        (rows, cells, 4) uint8 RGBA, alpha = brightness; row ``_row_of(i)`` is label ``i``.
    span_source : callable or None
        Returns the seconds the time axis spans (the waterfall's own span, so that both map
        time to the same pixels); None: :attr:`history`.
    """

    ROW_PX = 15  # height of one class's row, px (at UI scale 1)

    def __init__(self, history: float = 10.0, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        expanding = QtWidgets.QSizePolicy.Policy.Expanding  # along time; the other side fixed
        self.setSizePolicy(expanding, expanding)
        self.left_margin = 64
        self.axis_px = 0
        self.labels: tuple = ()
        self._names: list = []
        self._lines: list = []
        self.orientation = "horizontal"
        self.scale = 1.0
        self.paints = 0
        self.background = QtGui.QColor("#0b0c0f")
        self.span_source = None
        self._placed_at = 0.0
        self._q: Optional[int] = None  # the time shift (px, rounded) as on screen
        self._q_key = None
        self._layout = None  # (key, scrolling rect, names rect, length) for place()
        self._rect_kept = None  # (key, plot rect, its length along time)
        self._tr_kept = None  # (key, the cells' transform)
        self._overlay = None  # (key, lines' rects, names' pixmap and where) for the paint
        self.scrolls = 0
        self._brush_key = None
        self._brush: tuple = ()
        self._name_pixmaps: dict = {}
        self._qimage: Optional[QtGui.QImage] = None
        self._pixels: Optional[np.ndarray] = None
        self.history = float(history)
        self.grid_start: Optional[float] = None  # stream time of the left edge of column 0
        self.image: np.ndarray = np.zeros((0, 0, 4), np.uint8)
        self._set_rows(())
        self.set_history(history)

    # -- what the window sets -------------------------------------------------------------------
    def set_history(self, seconds: float) -> None:
        self.history = float(seconds)
        self.update()

    def span(self) -> float:
        """Seconds the time axis spans."""
        if self.span_source is not None:
            return float(self.span_source())
        return self.history

    def set_left_margin(self, px: int) -> None:
        self.left_margin = int(px)
        self.update()

    def set_background(self, colour) -> None:
        self.background = QtGui.QColor(colour)
        self._make_image()
        self.update()

    def set_orientation(self, orientation: str, axis_px: int = 0) -> None:
        """'horizontal' (under the waterfall) or 'vertical' (right of it; ``axis_px``: the
        height of the waterfall's bottom axis, so that the time spans line up)."""
        self.orientation = orientation
        self.axis_px = max(0, int(axis_px)) if orientation == "vertical" else 0
        self._name_pixmaps.clear()
        self._set_rows(self.labels)
        self._size()
        self.update()

    def set_scale(self, scale: float) -> None:
        """UI scale (fonts, row size)."""
        self.scale = float(scale)
        self._name_pixmaps.clear()
        self._set_rows(self.labels)
        self._size()
        self.update()

    def _size(self) -> None:
        n = max(1, len(self.labels))
        extent = int(round(n * self.ROW_PX * self.scale)) + 4
        if self.orientation == "vertical":
            self.setMinimumHeight(0)
            self.setMaximumHeight(16777215)
            self.setFixedWidth(extent + 6)
        else:
            self.setMinimumWidth(0)
            self.setMaximumWidth(16777215)
            self.setFixedHeight(extent)

    def _row_of(self, i: int) -> int:
        """Image row of label ``i``: the first label at the top (horizontal) or left."""
        return i if self.orientation == "vertical" else len(self.labels) - 1 - i

    def _set_rows(self, labels: tuple) -> None:
        """One row per label (at most STRIP_ROWS), the first at the top."""
        changed = tuple(labels)[:STRIP_ROWS] != self.labels
        self.labels = tuple(labels)[:STRIP_ROWS]
        n = len(self.labels)
        self._names = [self._short(label, 28) for label in self.labels]
        self._names_t = tuple(self._names)
        self._lines = list(range(1, n))
        if changed:
            self._size()
            self.update()

    @staticmethod
    def _short(name: str, chars: int) -> str:
        name = name.split(",")[0]  # "Vehicle horn, car horn, honking" → "Vehicle horn"
        return name if len(name) <= chars else name[:chars - 1] + "…"

    def set_data(self, labels: tuple, starts: np.ndarray, scores: np.ndarray,
                 thresholds: np.ndarray, watched: np.ndarray) -> None:
        """Rebuild the image: ``scores`` (patches × labels) of patches starting at ``starts``."""
        if tuple(labels)[:STRIP_ROWS] != self.labels:
            self._set_rows(tuple(labels))
        labels = self.labels
        if len(starts) == 0 or len(labels) == 0:
            self.grid_start = None
            self.image = np.zeros((0, 0, 4), np.uint8)
            self._make_image()
            self.update()
            return
        # Patches lie on a 0.48 s grid; a gap (a restarted stream) just leaves empty cells.
        t0 = float(starts[0])
        cols = np.rint((starts - t0) / PATCH_HOP).astype(int)
        width = int(cols[-1]) + 1
        img = np.zeros((len(labels), width, 4), np.uint8)
        # Every row at once (a loop of ten numpy calls a row was 1 of the 2.4 ms a result
        # cost the GUI thread): brightness = score / threshold, full at or over it.
        n = len(labels)
        s = np.nan_to_num(scores[:, :n], nan=0.0)
        th = np.asarray(thresholds[:n])
        alpha = np.where(s >= th, 255, np.clip(s / np.maximum(th, 1e-3), 0, 1) * 110
                         ).astype(np.uint8)
        colours = np.array([DANGER_RGB if watched[r] else STRIP_COLOURS[r % len(STRIP_COLOURS)]
                            for r in range(n)]).astype(np.uint8)
        rows = np.array([self._row_of(r) for r in range(n)])[:, None]
        img[rows, cols[None, :], :3] = colours[:, None, :]
        img[rows, cols[None, :], 3] = alpha.T
        self.image = img
        self.grid_start = t0 + PATCH_CENTRE
        self._make_image()
        self.update()

    def _make_image(self) -> None:
        """The cells over the background as opaque RGB32 pixels, made when the data change."""
        img = self.image
        if img.size == 0:
            self._qimage = self._pixels = None
            return
        bg = np.array(self.background.getRgb()[:3], np.float32)
        a = img[..., 3:4].astype(np.float32) / 255.0
        rgb = (bg + (img[..., :3].astype(np.float32) - bg) * a + 0.5).astype(np.uint32)
        self._pixels = np.ascontiguousarray(
            0xFF000000 | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], dtype=np.uint32)
        h, w = self._pixels.shape
        self._qimage = QtGui.QImage(sip.voidptr(self._pixels.ctypes.data), w, h,
                                    self._pixels.strides[0], QtGui.QImage.Format.Format_RGB32)
        self._image_rect = QtCore.QRectF(0, 0, w, h)  # the image in cell coordinates

    def cell_times(self) -> np.ndarray:
        """Stream time (s) of the left (earliest) edge of each image column."""
        if self.grid_start is None:
            return np.zeros(0)
        return self.grid_start + PATCH_HOP * np.arange(self.image.shape[1])

    def place(self, stream_time: float) -> None:
        """Move the cells so that stream time ``t`` is drawn at ``t - stream_time``: scrolls
        the pixels on screen by whole pixels and repaints the exposed strip and the names
        (drawn over the cells: once patches reach them they change at every scroll; skipping
        them while the cells do not reach them was tried: no gain, see bench/findings.md);
        nothing when the cells have not moved by a pixel."""
        if stream_time == self._placed_at:
            return
        self._placed_at = stream_time
        if self.grid_start is None:
            return
        key = (self.width(), self.height(), self.span(), self.orientation, self.scale,
               self.labels, self.left_margin, self.axis_px)
        if key != self._q_key or self._q is None or not self.isVisible():
            self._q_key = key
            self._q = self._shift()
            self._layout = None
            self.update(self.plot_rect().toAlignedRect())
            return
        old, self._q = self._q, self._shift(key[2])
        d = self._q - old
        if not d:
            return
        moving, names, extent = self._moving_rects()
        if abs(d) >= extent:
            self.update(self.plot_rect().toAlignedRect())
            return
        self.scrolls += 1
        self.scroll(0, -d, moving) if self.orientation == "vertical" else \
            self.scroll(d, 0, moving)
        self.update(names)

    def _moving_rects(self) -> tuple:
        """(the cells' part that scrolls, the names' part that is repainted at each scroll,
        the scrolling part's length along time, px), kept while the layout stays."""
        key = (self._q_key, self._names_key())
        if self._layout is None or self._layout[0] != key:
            r = self.plot_rect()
            names = self._names_rect(r)
            if self.orientation == "vertical":
                moving = QtCore.QRectF(r.x(), r.y(), r.width(), max(0.0, names.top() - r.y()))
                extent = moving.height()
            else:
                moving = QtCore.QRectF(names.right(), r.y(),
                                       max(0.0, r.right() - names.right()), r.height())
                extent = moving.width()
            self._layout = (key, moving.toAlignedRect(), names.toAlignedRect(), extent)
        return self._layout[1:]

    def _names_key(self) -> tuple:
        return (self._names_t, self.scale, self.devicePixelRatioF())

    def _shift(self, span: Optional[float] = None) -> int:
        """The displayed time as a whole number of pixels along the time axis."""
        extent = self._rect()[1]
        return int(round(-self._placed_at * extent / (self.span() if span is None else span)))

    def _names_rect(self, r: QtCore.QRectF) -> QtCore.QRectF:
        """Where the names are drawn (the cells under them are repainted at each scroll)."""
        longest = 0.0
        for name in self._names:
            longest = max(longest, self._name_pixmap(name).deviceIndependentSize().width())
        if self.orientation == "vertical":
            return QtCore.QRectF(r.x(), r.bottom() - longest - 1, r.width(), longest + 1)
        return QtCore.QRectF(r.x(), r.y(), longest + 1, r.height())

    def cell_view_time(self, column: float) -> float:
        """Time on the axis (s, relative to the displayed time) of cell column ``column``'s
        left edge, as last placed."""
        return (self.grid_start or 0.0) + column * PATCH_HOP - self._placed_at

    # -- geometry -------------------------------------------------------------------------------
    def plot_rect(self) -> QtCore.QRectF:
        """Where the cells are drawn (widget px): the time axis spans it."""
        return QtCore.QRectF(self._rect()[0])

    def _rect(self) -> tuple:
        """(plot rect, its length along time px), kept until the size or layout changes:
        asked several times a tick."""
        key = (self.width(), self.height(), self.orientation, self.left_margin, self.axis_px)
        if self._rect_kept is None or self._rect_kept[0] != key:
            w, h, vertical = key[0], key[1], key[2] == "vertical"
            if vertical:
                r = QtCore.QRectF(0, 0, w, max(1, h - self.axis_px))
            else:
                left = min(self.left_margin, max(0, w - 8))
                r = QtCore.QRectF(left, 0, max(1, w - left), h)
            self._rect_kept = (key, r, r.height() if vertical else r.width())
        return self._rect_kept[1:]

    def time_to_widget(self, t: float) -> float:
        """Widget x (horizontal) or y (vertical) of axis time ``t`` (s, -span … 0)."""
        r = self.plot_rect()
        span = self.span()
        if self.orientation == "vertical":
            return r.y() + r.height() * (-t / span)
        return r.x() + r.width() * (1.0 + t / span)

    def _cell_transform(self, r: QtCore.QRectF) -> QtGui.QTransform:
        """Image (cell column, row) → widget px (kept while nothing it depends on moves: the
        tick's paint asks for it once more)."""
        span = self.span()
        shift_px = self._shift(span)
        # The plot rect's own layout key stands for its four numbers (it is made from it;
        # four sip calls fewer per paint), when ``r`` is the kept one.
        kept = self._rect_kept
        where = kept[0] if kept is not None and r is kept[1] else (r.x(), r.y(), r.width(),
                                                                    r.height())
        key = (where, span, shift_px, self.grid_start, len(self.labels), self.orientation)
        if self._tr_kept is not None and self._tr_kept[0] == key:
            return self._tr_kept[1]
        n = max(1, len(self.labels))
        extent = r.height() if self.orientation == "vertical" else r.width()
        shift = shift_px * span / extent  # the displayed time, rounded to whole pixels
        t0 = (self.grid_start or 0.0) + shift  # axis time of column 0's left edge
        if self.orientation == "vertical":
            k = r.height() / span  # px per second, time up
            tr = QtGui.QTransform(0.0, -PATCH_HOP * k, r.width() / n, 0.0, r.x(),
                                  r.y() + r.height() * (-t0 / span))
        else:
            k = r.width() / span
            ky = r.height() / n
            tr = QtGui.QTransform(PATCH_HOP * k, 0.0, 0.0, -ky,
                                  r.x() + r.width() * (1 + t0 / span), r.y() + r.height())
        self._tr_kept = (key, tr, None)
        return tr

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.paints += 1
        p = QtGui.QPainter(self)
        area = event.rect()
        r = self._rect()[0]  # the kept one (read only here): plot_rect() returns a copy
        n = len(self.labels)
        brushes = self._brushes()
        tr = self._cell_transform(r) if self._qimage is not None and n else None
        for gap in self._uncovered(area, r, tr):
            p.fillRect(gap, brushes[0])
        if tr is not None:
            p.save()
            p.setClipRect(r, _INTERSECT)
            p.setTransform(tr)
            p.drawImage(self._image_rect, self._qimage)
            p.restore()
        if n:
            lines, at, names = self._overlay_for(r)
            for line in lines:
                p.fillRect(line, brushes[1])
            p.drawPixmap(at, names)
        p.end()

    def _brushes(self) -> tuple:
        """(background, grid line) brushes, kept: a QColor where Qt takes a brush costs sip
        an overload search (6 against 1.4 µs a fill)."""
        key = self.background.rgba()
        if self._brush_key != key:
            self._brush_key = key
            self._brush = (QtGui.QBrush(self.background), QtGui.QBrush(QtGui.QColor(GRID)))
        return self._brush

    def _uncovered(self, area: QtCore.QRect, r: QtCore.QRectF,
                   tr: Optional[QtGui.QTransform]) -> list:
        """The parts of ``area`` the cells' opaque image will not paint (the background goes
        there): all of it without cells, else the ends of the time axis the patches do not
        reach yet, with a pixel to spare (the image is drawn over it). A tick repaints the
        names and a strip at the newest end: filling all of their bounding rectangle cost
        0.1 of the paint's 0.3 ms."""
        if tr is None:
            return [area]
        h, w = self._pixels.shape
        kept = self._tr_kept
        if kept is not None and kept[1] is tr and kept[2] is not None and kept[2][0] == (w, h):
            ix0, ix1, iy0, iy1 = kept[2][1]  # the image's bounds, per transform and size
        else:
            (x0, y0), (x1, y1) = _span(tr, 0.0, 0.0), _span(tr, float(w), float(h))
            ix0, ix1, iy0, iy1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
            if kept is not None and kept[1] is tr:
                self._tr_kept = (kept[0], tr, ((w, h), (ix0, ix1, iy0, iy1)))
        ax0, ay0 = area.x(), area.y()
        ax1, ay1 = ax0 + area.width(), ay0 + area.height()
        rx0, ry0 = r.x(), r.y()
        rx1, ry1 = rx0 + r.width(), ry0 + r.height()
        if ax0 < rx0 or ay0 < ry0 or ax1 > rx1 or ay1 > ry1:
            return [area]  # beyond the cells' rectangle (margins): all of it, as drawn
        vertical = self.orientation == "vertical"
        lo, hi = (iy0, iy1) if vertical else (ix0, ix1)
        across_lo, across_hi = (ix0, ix1) if vertical else (iy0, iy1)
        if across_lo > (ax0 if vertical else ay0) or across_hi < (ax1 if vertical else ay1):
            return [area]  # the rows do not cover it (rounding): all of it
        gaps = []
        a_lo, a_hi = (ay0, ay1) if vertical else (ax0, ax1)
        if a_lo < lo + 1:
            end = min(a_hi, math.ceil(lo) + 1)
            gaps.append(QtCore.QRect(ax0, a_lo, area.width(), end - a_lo) if vertical
                        else QtCore.QRect(a_lo, ay0, end - a_lo, area.height()))
        if a_hi > hi - 1:
            start = max(a_lo, math.floor(hi) - 1)
            gaps.append(QtCore.QRect(ax0, start, area.width(), a_hi - start) if vertical
                        else QtCore.QRect(start, ay0, a_hi - start, area.height()))
        return gaps

    def _overlay_for(self, r: QtCore.QRectF) -> tuple:
        """The lines between rows as the integer rectangles their 2-px pen fills, and all the
        names in one pixmap, made when the rows, names, size or scale change: at each scroll
        the names' area is repainted, and 2-px lines drawn by the pen (its stroker) and five
        name pixmaps cost 0.15 of the paint's 0.25 ms (python -m bench.gui_paint)."""
        vertical = self.orientation == "vertical"
        kept = self._rect_kept
        where = kept[0] if kept is not None and r is kept[1] else (r.x(), r.y(), r.width(),
                                                                    r.height())
        key = (where, vertical, len(self._lines), self._names_key())
        if self._overlay is not None and self._overlay[0] == key:
            return self._overlay[1:]
        n = len(self.labels)
        step = (r.width() if vertical else r.height()) / n
        lines = []
        for i in self._lines:
            if vertical:
                x = r.x() + i * step
                line = QtCore.QLineF(x, r.top(), x, r.bottom())
            else:
                y = r.y() + i * step
                line = QtCore.QLineF(r.left(), y, r.right(), y)
            lines.append(_pen_rect(line, 2))
        names = self._names_rect(r)
        dpr = self.devicePixelRatioF()
        pix = QtGui.QPixmap(max(1, int(np.ceil(names.width() * dpr))),
                            max(1, int(np.ceil(names.height() * dpr))))
        pix.setDevicePixelRatio(dpr)
        pix.fill(QtCore.Qt.GlobalColor.transparent)
        q = QtGui.QPainter(pix)
        q.translate(-names.topLeft())
        for i, name in enumerate(self._names):
            one = self._name_pixmap(name)
            size = one.deviceIndependentSize()
            if vertical:  # reads upwards from the bottom of its column
                x = r.x() + (i + 0.5) * step - size.height() / 2
                q.drawPixmap(QtCore.QPointF(x, r.bottom() - size.width()), self._rotated(name, one))
            else:
                y = r.y() + (i + 0.5) * step - size.height() / 2
                q.drawPixmap(QtCore.QPointF(r.x(), y), one)
        q.end()
        self._overlay = (key, lines, names.topLeft(), pix)
        return self._overlay[1:]

    def _name_pixmap(self, name: str) -> QtGui.QPixmap:
        key = ("h", name)
        pix = self._name_pixmaps.get(key)
        if pix is None:
            font = QtGui.QFont()
            font.setPointSizeF(8.0 * self.scale)
            font.setBold(True)
            fm = QtGui.QFontMetrics(font)
            dpr = self.devicePixelRatioF()
            w, h = fm.horizontalAdvance(name) + 6, fm.height() + 2
            pix = QtGui.QPixmap(int(w * dpr), int(h * dpr))
            pix.setDevicePixelRatio(dpr)
            pix.fill(QtCore.Qt.GlobalColor.transparent)
            q = QtGui.QPainter(pix)
            q.fillRect(QtCore.QRectF(0, 0, w, h), QtGui.QColor(11, 12, 15, 150))
            q.setFont(font)
            q.setPen(QtGui.QColor(TEXT))
            q.drawText(QtCore.QRectF(3, 0, w - 3, h), QtCore.Qt.AlignmentFlag.AlignVCenter, name)
            q.end()
            self._name_pixmaps[key] = pix
        return pix

    def _rotated(self, name: str, pix: QtGui.QPixmap) -> QtGui.QPixmap:
        key = ("v", name)
        out = self._name_pixmaps.get(key)
        if out is None:
            out = pix.transformed(QtGui.QTransform().rotate(-90))
            out.setDevicePixelRatio(pix.devicePixelRatio())
            self._name_pixmaps[key] = out
        return out


def _pen_rect(line: QtCore.QLineF, width: int) -> QtCore.QRect:
    """The pixels an aliased ``width``-px pen (square caps) fills for the axis-parallel
    ``line``, as one integer rectangle: found by drawing it once, so that filling the rectangle
    gives the very pixels the pen gave."""
    margin = width + 2
    box = QtCore.QRectF(line.p1(), line.p2()).normalized().adjusted(-margin, -margin,
                                                                    margin, margin)
    origin = QtCore.QPoint(int(np.floor(box.left())), int(np.floor(box.top())))
    image = QtGui.QImage(int(np.ceil(box.width())) + 2, int(np.ceil(box.height())) + 2,
                         QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    q = QtGui.QPainter(image)
    q.translate(-QtCore.QPointF(origin))
    q.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255), width))
    q.drawLine(line)
    q.end()
    alpha = _alpha(image)
    rows, cols = np.nonzero(alpha)
    if not rows.size:
        return QtCore.QRect()
    return QtCore.QRect(origin.x() + int(cols.min()), origin.y() + int(rows.min()),
                        int(cols.max() - cols.min()) + 1, int(rows.max() - rows.min()) + 1)


def _alpha(image: QtGui.QImage) -> np.ndarray:
    """The alpha channel of an ARGB32 image, (height, width) uint8."""
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint32).reshape(image.height(), image.bytesPerLine() // 4)
    return (pixels[:, :image.width()] >> 24).astype(np.uint8)


_INTERSECT = QtCore.Qt.ClipOperation.IntersectClip  # looked up once (sip's enum attributes)


def _span(tr: QtGui.QTransform, x: float, y: float) -> tuple[float, float]:
    """``tr`` applied to the point (x, y), as Python numbers (x', y')."""
    return (tr.m11() * x + tr.m21() * y + tr.dx(), tr.m12() * x + tr.m22() * y + tr.dy())
