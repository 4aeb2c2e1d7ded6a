"""The current spectrum: dB vs frequency of the newest frame, with a decaying peak hold."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from monitor.gui.axes import FrequencyAxis
from monitor.gui.curves import FixedRangeCurve, drawn_on_screen
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.theme import COLORS, cache_static_items, fixed_plot
from monitor.settings import Settings

__all__ = ["PeakHold", "SpectrumView"]


class PeakHold:
    """Per-element maximum that holds for ``hold`` seconds, then falls at ``decay`` dB/s.

    Works on arrays (a spectrum) and on scalars wrapped in 1-element arrays (meters).
    """

    def __init__(self, hold: float, decay: float = 20.0) -> None:
        self.hold = float(hold)
        self.decay = float(decay)
        self.values: Optional[np.ndarray] = None
        self._since: Optional[np.ndarray] = None  # time each held value was set, s
        self._now = 0.0

    def reset(self) -> None:
        self.values = None

    def update(self, current: np.ndarray, now: float) -> np.ndarray:
        """Feed the current values at time ``now`` (s); return the held values."""
        current = np.asarray(current, dtype=np.float32)
        if self.values is None or self.values.shape != current.shape:
            self.values = current.copy()
            self._since = np.full(current.shape, now)
        else:
            dt = max(0.0, now - self._now)
            expired = (now - self._since) > self.hold
            self.values = np.where(expired, self.values - self.decay * dt, self.values)
            higher = current >= self.values
            self.values = np.where(higher, current, self.values).astype(np.float32)
            self._since = np.where(higher, now, self._since)
        self._now = now
        return self.values


class SpectrumView(QtWidgets.QWidget):
    """Plot of the newest frame's rows (same frequency rows as the waterfall) in dBFS."""

    def __init__(self, settings: Settings, rows: FrequencyRows,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.rows: Optional[FrequencyRows] = None
        self.peak_hold = PeakHold(settings.peak_hold)
        self._axis = FrequencyAxis("bottom")
        self.plot = fixed_plot("spectrum", {"bottom": self._axis})
        self.plot.setLabel("left", "level", units="dBFS")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # No fill under the curve: filling the path costs more than drawing it, every frame.
        # Bare curve items: PlotDataItem's extra bookkeeping costs more than the drawing here.
        self.hold_curve = FixedRangeCurve(pen=pg.mkPen(COLORS["hold"], width=1))
        self.curve = FixedRangeCurve(pen=pg.mkPen(COLORS["trace"], width=1))
        self.plot.addItem(self.hold_curve)
        self.plot.addItem(self.curve)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        cache_static_items(self.plot)
        self.set_rows(rows)
        self._apply_range()

    def set_rows(self, rows: FrequencyRows) -> None:
        """Use new frequency rows (a new scale or new analysis parameters)."""
        if rows is self.rows:
            return
        self.rows = rows
        self._x = np.arange(rows.n_rows, dtype=np.float64) + 0.5
        self._axis.set_rows(rows)
        self.peak_hold.reset()
        self.curve.setData(np.zeros(0), np.zeros(0))
        self.hold_curve.setData(np.zeros(0), np.zeros(0))
        self.plot.setXRange(0, rows.n_rows, padding=0)
        self._set_bounds()

    def update_frame(self, values: np.ndarray, now: float,
                     recent_max: Optional[np.ndarray] = None) -> None:
        """Draw ``values`` (dBFS per row) and the peak hold at wall time ``now`` (s).

        Parameters
        ----------
        values : ndarray
            The newest frame's rows, dBFS.
        now : float
            Wall time, s.
        recent_max : ndarray, optional
            Per-row maximum (dBFS) of every frame since the last update, which the peak hold
            takes; default: ``values`` alone.
        """
        if values.shape[0] != self._x.shape[0]:
            return
        floor = self.settings.db_floor - 10  # -inf never reaches Qt
        shown = np.maximum(values, floor)
        if recent_max is not None and recent_max.shape == values.shape:
            held = self.peak_hold.update(np.maximum(recent_max, floor), now)
        else:
            held = self.peak_hold.update(shown, now)
        if not drawn_on_screen(self):
            return  # the peak hold goes on; nothing is drawn while hidden or minimised
        self.curve.setData(self._x, shown, skipFiniteCheck=True)
        self.hold_curve.setData(self._x, held, skipFiniteCheck=True)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.peak_hold.hold = settings.peak_hold
        self._apply_range()

    def _apply_range(self) -> None:
        s = self.settings
        self.plot.setYRange(s.db_floor, s.db_ceil + 6, padding=0)
        self._set_bounds()

    def _set_bounds(self) -> None:
        # Values are floored at db_floor - 10 and are dBFS (≤ 0, peaks a little above): the
        # curves' extent is known without looking at the data.
        if self.rows is None:
            return
        s = self.settings
        for curve in (self.curve, self.hold_curve):
            curve.set_bounds((0.0, float(self.rows.n_rows)), (s.db_floor - 10, max(s.db_ceil, 0.0) + 6))
