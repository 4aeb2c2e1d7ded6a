"""The activity strip under the waterfall: when the chosen sound classes were active, on the
waterfall's time axis (a row a class, a bar a YAMNet patch)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

__all__ = ["ActivityStrip", "PATCH_CENTRE", "PATCH_HOP", "STRIP_COLOURS", "STRIP_ROWS"]

STRIP_ROWS = 5
PATCH_HOP = 0.48  # s between YAMNet patches
PATCH_CENTRE = (0.975 - PATCH_HOP) / 2  # a patch is drawn as the 0.48 s around its centre
# One colour a class in the strip (a watched class is red): orange, cyan, green, violet, yellow.
STRIP_COLOURS = [np.array(QtGui.QColor(c).getRgb()[:3], np.float32)
                 for c in ("#f0a030", "#40c8e0", "#5fd068", "#b088f0", "#e8d84a")]
DANGER = "#e0403a"
GRID = "#2a2e36"
TEXT = "#d5d9e0"


class ActivityStrip(pg.PlotWidget):
    """When chosen classes were active, on the waterfall's time axis.

    Time is seconds relative to the displayed stream time (``-history`` … 0), as the
    waterfall's columns are, so the two line up when the strip sits beside the waterfall: under
    it (time on x) or, with ``orientation='vertical'``, right of it (time on y, newest at the
    top). One row (column) per class, each in its own colour with its name and a line between
    rows, so that several active labels stay apart; each patch is a cell 0.48 s wide centred on
    the audio it heard, its brightness the patch's own score (full colour at or over the
    class's threshold; red for a watched class). The patch's own score, not the smoothed one:
    a mean over 3 patches reaches a threshold one or two patches late, which drew every onset
    0.5–0.8 s after the waterfall showed it.
    """

    ROW_PX = 15  # height of one class's row, px (at UI scale 1)

    def __init__(self, history: float = 10.0, parent: Optional[QtWidgets.QWidget] = None) -> None:
        self._axis = pg.AxisItem("left")
        super().__init__(parent=parent, axisItems={"left": self._axis})
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(False, False)
        self.getPlotItem().getViewBox().setDefaultPadding(0.0)
        self.getPlotItem().hideAxis("bottom")
        # The axis only keeps the plot's left edge where the waterfall's is; the names are
        # drawn inside the strip, where a narrow axis cannot crop or drop them.
        self._axis.setWidth(64)
        self._axis.setTicks([[], []])
        bottom = self.getPlotItem().getAxis("bottom")
        bottom.setTicks([[], []])
        bottom.setStyle(showValues=False)
        for axis in (self._axis, bottom):  # they never change while the cells scroll
            axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.addItem(self.image_item)
        # place() moves the image at the display rate and the view range is fixed: without
        # this flag every move ran pyqtgraph's Python itemChange and bounds bookkeeping.
        self.image_item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges,
                                False)
        self._names: list = []
        self._lines: list = []
        self.labels: tuple = ()
        self.orientation = "horizontal"
        self.scale = 1.0
        self._placed_at = 0.0
        self.history = float(history)
        self.grid_start: Optional[float] = None  # stream time of the left edge of column 0
        self.image: np.ndarray = np.zeros((0, 0, 4), np.uint8)
        self._set_rows(())
        self.set_history(history)

    def set_history(self, seconds: float) -> None:
        self.history = float(seconds)
        self._set_range()

    def set_orientation(self, orientation: str, axis_px: int = 0) -> None:
        """'horizontal' (under the waterfall) or 'vertical' (right of it; ``axis_px``: the
        height of the waterfall's bottom axis, so that the time spans line up)."""
        self.orientation = orientation
        item = self.getPlotItem()
        if orientation == "vertical":
            item.hideAxis("left")
            item.showAxis("bottom")
            item.getAxis("bottom").setHeight(max(1, int(axis_px)))
        else:
            item.showAxis("left")
            item.hideAxis("bottom")
        self._set_rows(self.labels)
        self._size()
        if self.grid_start is not None:
            self.place(self._placed_at)

    def set_scale(self, scale: float) -> None:
        """UI scale (fonts, row size)."""
        self.scale = float(scale)
        self._set_rows(self.labels)
        self._size()

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

    def _set_range(self) -> None:
        rows = max(1, len(self.labels))
        vb = self.getPlotItem().getViewBox()
        vertical = self.orientation == "vertical"
        if vertical:
            vb.setRange(xRange=(0, rows), yRange=(-self.history, 0.0), padding=0)
        else:
            vb.setRange(xRange=(-self.history, 0.0), yRange=(0, rows), padding=0)
        for i, text in enumerate(self._names):
            text.setPos(i + 0.5, -self.history) if vertical else \
                text.setPos(-self.history, rows - i - 0.5)

    def _row_of(self, i: int) -> int:
        """Image row of label ``i``: the first label at the top (horizontal) or left."""
        return i if self.orientation == "vertical" else len(self.labels) - 1 - i

    def _set_rows(self, labels: tuple) -> None:
        """One row per label (at most STRIP_ROWS), the first at the top.

        The name and line items are made once per orientation and scale (STRIP_ROWS of each)
        and renamed, shown or hidden as the labels change: the top labels change at most
        patches, and rebuilding the items cost 11-30 ms each time.
        """
        changed = tuple(labels)[:STRIP_ROWS] != self.labels
        self.labels = tuple(labels)[:STRIP_ROWS]
        vertical = self.orientation == "vertical"
        look = (vertical, self.scale)
        if look != getattr(self, "_rows_look", None):
            self._rows_look = look
            self._build_rows(vertical)
        n = len(self.labels)
        for i, text in enumerate(self._pool_names):
            if i < n:
                short = self._short(self.labels[i], 28)
                if text.textItem.toPlainText() != short:
                    # The cached pixmap of a longer name is not invalidated where the shorter
                    # one no longer reaches ("Alarm" over "Synthesizer" read "Alarm sizer"):
                    # repaint the old area too.
                    old = text.sceneBoundingRect()
                    none = QtWidgets.QGraphicsItem.CacheMode.NoCache
                    cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
                    for item in (text, text.textItem):
                        item.setCacheMode(none)  # drops the cached pixmaps
                    text.setText(short)
                    for item in (text, text.textItem):
                        item.setCacheMode(cache)
                    if text.scene() is not None:
                        text.scene().update(old)
            text.setVisible(i < n)
        for i, line in enumerate(self._pool_lines):
            line.setVisible(i + 1 < n)
        self._names, self._lines = self._pool_names[:n], self._pool_lines[:max(0, n - 1)]
        if hasattr(self, "history"):
            self._set_range()
        if changed:
            self._size()

    def _build_rows(self, vertical: bool) -> None:
        for item in getattr(self, "_pool_names", []) + getattr(self, "_pool_lines", []):
            self.removeItem(item)
        self._pool_names, self._pool_lines = [], []
        font = QtGui.QFont()
        font.setPointSizeF(8.0 * self.scale)
        font.setBold(True)
        cache = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
        for i in range(STRIP_ROWS):
            text = pg.TextItem("", color=TEXT, anchor=(0.0, 0.5), angle=90 if vertical else 0,
                               fill=pg.mkBrush(11, 12, 15, 150))
            text.setFont(font)
            text.setZValue(10)
            # The names stay put while the cells scroll under them: drawn from a pixmap
            # (0.4 ms of each 0.9-ms repaint of the strip was the names and lines).
            text.textItem.setCacheMode(cache)
            text.setCacheMode(cache)
            self.addItem(text)
            self._pool_names.append(text)
        for i in range(1, STRIP_ROWS):
            line = pg.InfiniteLine(pos=i, angle=90 if vertical else 0,
                                   pen=pg.mkPen(GRID, width=2))
            line.setZValue(5)
            line.setCacheMode(cache)
            self.addItem(line)
            self._pool_lines.append(line)

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
            self.image_item.clear()
            return
        # Patches lie on a 0.48 s grid; a gap (a restarted stream) just leaves empty cells.
        t0 = float(starts[0])
        cols = np.rint((starts - t0) / PATCH_HOP).astype(int)
        width = int(cols[-1]) + 1
        img = np.zeros((len(labels), width, 4), np.uint8)
        danger = np.array(QtGui.QColor(DANGER).getRgb()[:3], np.float32)
        for r in range(len(labels)):
            s = np.nan_to_num(scores[:, r], nan=0.0)
            over = s >= thresholds[r]
            colour = danger if watched[r] else STRIP_COLOURS[r % len(STRIP_COLOURS)]
            row = self._row_of(r)
            img[row, cols, :3] = colour.astype(np.uint8)
            img[row, cols, 3] = np.where(over, 255, np.clip(s / max(thresholds[r], 1e-3), 0, 1) * 110
                                         ).astype(np.uint8)
        self.image = img
        self.grid_start = t0 + PATCH_CENTRE
        self.image_item.setImage(img, autoLevels=False)

    def cell_times(self) -> np.ndarray:
        """Stream time (s) of the left (earliest) edge of each image column."""
        if self.grid_start is None:
            return np.zeros(0)
        return self.grid_start + PATCH_HOP * np.arange(self.image.shape[1])

    def place(self, stream_time: float) -> None:
        """Move the image so that stream time ``t`` is drawn at ``t - stream_time``."""
        self._placed_at = stream_time
        if self.grid_start is None:
            return
        offset = self.grid_start - stream_time
        if self.orientation == "vertical":
            tr = QtGui.QTransform(0.0, PATCH_HOP, 1.0, 0.0, 0.0, offset)
        else:
            tr = QtGui.QTransform(PATCH_HOP, 0.0, 0.0, 1.0, offset, 0.0)
        self.image_item.setTransform(tr)
