"""Marks of the live detectors' events on the waterfall: a short coloured tick at the top edge
of the picture at each event's stream time (red clipping, orange dropout, magenta
discontinuity, yellow DC offset warning; one lane each, clipping topmost).

:class:`DetectorMarks` is painted by the waterfall's canvas in the picture's column coordinates
(column ``c`` spans ``[c, c + 1)``), so the marks scroll with the picture for free. When the
picture moves by whole columns (new columns) the marks are moved (one ``setPos``); its lines are rebuilt only when marks come or go or the picture's geometry changes
(O(marks kept), at most :data:`monitor.detector_events.KEPT`); a paint is one ``drawLines`` per
colour, and the item is hidden when there is no mark. Marks leave when their time leaves the
history.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
from PyQt6 import QtCore, QtGui

from monitor.detector_events import KEPT, KINDS

__all__ = ["LEGEND", "MARK_COLORS", "DetectorMarks"]

MARK_COLORS = {"clipping": "#ff2020", "dropout": "#ff9900", "discontinuity": "#ff20ff",
               "dc": "#ffff00"}
_NAMES = {"clipping": "clipping", "dropout": "dropout (zeros)",
          "discontinuity": "discontinuity (a lost or repeated buffer, a click)",
          "dc": "DC offset warning (onset)"}
LEGEND = ("Marks at the top edge, at the time of each detector event (counts in the "
          "Measurements panel): " + ", ".join(f"{c} = {_NAMES[k]}" for k, c in
                                            (("clipping", "red"), ("dropout", "orange"),
                                             ("discontinuity", "magenta"), ("dc", "yellow"))))
LANE = 0.035  # of the picture's height: each kind has its own lane, clipping at the top


def lane(kind: str, rows: int) -> tuple[float, float]:
    """The rows (bottom, top) of ``kind``'s ticks on a picture of ``rows`` rows: marks of
    different kinds at one time stay visible side by side."""
    k = KINDS.index(kind)
    return float(rows) * (1.0 - (k + 1) * LANE), float(rows) * (1.0 - k * LANE)


class DetectorMarks:
    """The detector marks, drawn in the picture's column coordinates by the waterfall's canvas
    (:meth:`paint`, after a translation by :meth:`pos`).

    Attributes
    ----------
    offset : float
        Seconds added to an event's stream time to put it on the waterfall's time (the
        waterfall's columns keep counting when a new source's stream time starts again at 0).
    places : int
        Times the marks were placed (for tests and benchmarks).
    discarded : int
        Events not marked because their time lay over 1 s after the live picture's newest
        column: an earlier stream's, taken after a new source's first columns came.
    """

    def __init__(self, on_change: Optional[Callable[[], None]] = None) -> None:
        self.on_change = on_change  # called when what is drawn changed (the canvas repaints)
        self._pos = QtCore.QPointF()
        self._visible = True
        self.offset = 0.0
        self.places = 0
        self.discarded = 0
        self._live_end: Optional[float] = None  # waterfall time of the live picture's right edge
        self._log = None  # the DetectorEvents last taken from
        self._times = np.zeros(0, np.float64)  # waterfall time (s) of each mark, oldest first
        self._kinds = np.zeros(0, np.int8)  # index into KINDS
        self._x = np.zeros(0, np.float64)  # item x of each mark as last placed
        self._lines: list[tuple[QtGui.QPen, list[QtCore.QLineF]]] = []
        self._geometry: Optional[tuple] = None  # (end time, width, column seconds, rows)
        self._origin = 0.0  # waterfall time (s) at local x = 0
        self._stale = True  # the lines must be rebuilt
        self._bounds = QtCore.QRectF()
        self._sequence = 0
        self._pens = []
        for kind in KINDS:
            pen = QtGui.QPen(QtGui.QColor(MARK_COLORS[kind]), 3)
            pen.setCosmetic(True)  # 3 screen pixels wide at any column width
            pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
            self._pens.append(pen)

    # -- where and whether (the canvas reads these) ---------------------------------------------
    def pos(self) -> QtCore.QPointF:
        """Column offset of the lines (x), in the picture's columns."""
        return QtCore.QPointF(self._pos)

    def setPos(self, x: float, y: float) -> None:  # noqa: N802 - as QGraphicsItem's
        # No repaint: the marks move by whole columns exactly as the picture does (its first
        # column's index goes up as this goes down), and the canvas scrolls them with it.
        self._pos = QtCore.QPointF(x, y)

    def isVisible(self) -> bool:  # noqa: N802 - as QGraphicsItem's
        return self._visible

    def setVisible(self, visible: bool) -> None:  # noqa: N802 - as QGraphicsItem's
        if bool(visible) != self._visible:
            self._visible = bool(visible)
            self.update()

    def update(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- data ----------------------------------------------------------------------------------
    def follow(self, history, batch) -> None:
        """Before ``history`` takes ``batch``: how far the waterfall's frames run ahead of the
        batch's (a new source's stream restarts at frame 0 while the columns keep counting)."""
        if not len(batch) or history.first_frame is None:
            return
        p = batch.params
        ahead = history.first_frame + history.frames - batch.first_frame
        self.offset = ahead * p.hop / p.samplerate if ahead > 0 else 0.0

    def take(self, events) -> int:
        """Add the events of ``events`` (a DetectorEvents) not taken before; returns how many."""
        self._log = events
        new, self._sequence = events.after(self._sequence)
        self.add(new)
        return len(new)

    def reload(self) -> None:
        """Mark again every event the log still keeps (a scroll-back picture may show a time
        whose marks had left the live history)."""
        if self._log is None:
            return
        events, self._sequence = self._log.after(0)
        self._times, self._kinds = np.zeros(0, np.float64), np.zeros(0, np.int8)
        self._stale = True
        self.add(events)

    def add(self, events: list[tuple[float, str]]) -> None:
        """Add ``(stream time s, kind)`` events (kinds of ``monitor.detector_events.KINDS``)."""
        if not events:
            return
        times = np.array([t for t, _ in events], np.float64) + self.offset
        kinds = np.array([KINDS.index(k) for _, k in events], np.int8)
        if self._live_end is not None:
            now = times <= self._live_end + 1.0  # a live event is never that far ahead
            if not now.all():
                self.discarded += int(times.size - np.count_nonzero(now))
                times, kinds = times[now], kinds[now]
        self._times = np.concatenate((self._times, times))[-KEPT:]
        self._kinds = np.concatenate((self._kinds, kinds))[-KEPT:]
        self._stale = True
        if self._geometry is not None:
            self.place(*self._geometry, prune=False)

    def clear(self) -> None:
        self._times, self._kinds = np.zeros(0, np.float64), np.zeros(0, np.int8)
        self._x = np.zeros(0)
        self._stale = True
        if self._geometry is not None:
            self.place(*self._geometry, prune=False)

    # -- geometry ------------------------------------------------------------------------------
    def place(self, end_time: Optional[float], width: int, column_seconds: float, rows: int,
              prune: bool = True) -> None:
        """Put the marks on a picture of ``width`` columns of ``column_seconds`` s whose right
        edge is waterfall time ``end_time`` (s; None: no picture yet). ``prune``: forget the
        marks older than the picture (the live history); False for a scroll-back picture,
        which first marks again every event the log (:meth:`take`) still keeps.

        The lines are kept in coordinates of a fixed time origin and the item is moved: a
        scroll costs one ``setPos``; the lines are rebuilt only when marks come or go or the
        picture's geometry changes."""
        self.places += 1
        if end_time is None:
            self._geometry = None
            self.setVisible(False)
            return
        if not prune and self._log is not None and self._times.size < len(self._log):
            self._geometry = None  # no placing from add(): done below
            self.reload()
        geometry = (width, column_seconds, rows)
        if self._geometry is None or self._geometry[1:] != geometry:
            self._origin = end_time
            self._stale = True
        self._geometry = (end_time, *geometry)
        start = end_time - width * column_seconds  # time of the picture's left edge
        if prune:
            self._live_end = end_time
        if not self._times.size and not self._stale:
            # No mark (the usual case): the same state as below without its six numpy calls
            # on empty arrays (DetectorMarks.place ~0.08 ms at each new column in the window).
            self._pos = QtCore.QPointF((self._origin - start) / column_seconds, 0.0)
            self.setVisible(False)
            return
        keep = self._times >= start
        if prune and self._times.size:
            # Marks that left the picture are clipped by the view at once, and forgotten in
            # batches: a rebuild per column would cost 1.4 ms a frame with 1000 marks.
            gone = self._times.size - int(np.count_nonzero(keep))
            if gone > max(32, self._times.size // 4) or (gone and gone == self._times.size):
                self._times, self._kinds, keep = self._times[keep], self._kinds[keep], keep[keep]
                self._stale = True
        if self._stale:
            self._rebuild()
        self.setPos((self._origin - start) / column_seconds, 0.0)
        self.setVisible(bool(np.any(keep & (self._times <= end_time + column_seconds))))

    def _rebuild(self) -> None:
        _, _, dt, rows = self._geometry
        x = (self._times - self._origin) / dt
        self._x = x
        self._bounds = (QtCore.QRectF(float(x.min()) - 1.0, 0.0, float(x.max() - x.min()) + 2.0, float(rows))
                        if x.size else QtCore.QRectF())
        self._lines = []
        for k, pen in enumerate(self._pens):
            xs = x[self._kinds == k]
            bottom, top = lane(KINDS[k], rows)
            if xs.size:
                self._lines.append((pen, [QtCore.QLineF(v, bottom, v, top) for v in xs.tolist()]))
        self._stale = False
        self.update()

    def columns(self) -> list[tuple[int, str]]:
        """The marks on the picture as ``(column, kind)``, oldest first (column 0 = the
        picture's oldest)."""
        if self._geometry is None:
            return []
        width = self._geometry[1]
        x = self._x + self.pos().x()
        return [(int(np.floor(v)), KINDS[k]) for v, k in zip(x.tolist(), self._kinds.tolist())
                if 0.0 <= v <= width]

    # -- painting ------------------------------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - as QGraphicsItem's
        return self._bounds

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        """Draw the lines with ``painter`` mapping the lines' coordinates (call after
        translating by :meth:`pos`)."""
        if not self._lines:
            return
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for pen, lines in self._lines:
            painter.setPen(pen)
            painter.drawLines(lines)
