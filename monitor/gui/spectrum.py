"""The current spectrum: dB vs frequency of the newest frame, with a decaying peak hold."""

from __future__ import annotations

import bisect
import math
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtWidgets

from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.axis_ticks import LABEL_SPACING_PX, frequency_rows_ticks, frequency_tick_labels
from monitor.gui.on_screen import drawn_on_screen
from monitor.gui.cursor import WidgetCursorReadout
from monitor.gui.plot_canvas import PlotCanvas, Trace, linear_ticks
from monitor.settings import Settings

__all__ = ["PeakHold", "SpectrumView", "note_name", "peak_of", "RANGES", "auto_range"]

NOTE_NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")
#: The spectrum's own level ranges (dBFS): "auto" follows the signal; the others are fixed.
#: Independent of the waterfall's dB floor/ceiling (a −20 dB ceiling there cut its peaks off).
RANGES: dict[str, Optional[tuple[float, float]]] = {
    "auto": None, "0 … −60 dB": (-60.0, 0.0), "0 … −80 dB": (-80.0, 0.0),
    "0 … −100 dB": (-100.0, 0.0), "0 … −120 dB": (-120.0, 0.0),
    "+20 … −140 dB": (-140.0, 20.0),
}
PEAK_TITLE_SECONDS = 0.25  # the peak readout in the title changes at most this often


def note_name(hz: float, a4: float = 440.0) -> str:
    """The nearest equal-tempered note and the offset from it: 1000 Hz → 'B5 +21c'.

    Parameters
    ----------
    hz : float
        Frequency, Hz (> 0).
    a4 : float
        Tuning of A4, Hz.
    """
    if not (hz > 0 and math.isfinite(hz)):
        return ""
    midi = 69.0 + 12.0 * math.log2(hz / a4)
    nearest = int(round(midi))
    cents = int(round(100.0 * (midi - nearest)))
    name = f"{NOTE_NAMES[nearest % 12]}{nearest // 12 - 1}"
    return name if cents == 0 else f"{name} {cents:+d}c"


def peak_of(values: np.ndarray, rows: FrequencyRows) -> Optional[tuple[float, float]]:
    """The strongest row of ``values`` (dBFS per row): its frequency (Hz), refined by a
    parabola through it and its neighbours (in dB, Hann leaves under 0.05 bin of error), and
    its level (dBFS). None when every row is silent."""
    if values.size == 0 or not np.isfinite(values).any():
        return None
    v = np.where(np.isfinite(values), values, -1e9)
    i = int(np.argmax(v))
    delta = 0.0
    if 0 < i < v.size - 1 and v[i - 1] > -1e8 and v[i + 1] > -1e8:
        a, b, c = float(v[i - 1]), float(v[i]), float(v[i + 1])
        denom = a - 2 * b + c
        if denom < 0:
            delta = 0.5 * (a - c) / denom
    return float(rows.hz_at(i + 0.5 + delta)), float(v[i])


def auto_range(held: np.ndarray) -> tuple[float, float]:
    """A level range (dBFS) for the spectrum that shows ``held`` (the peak hold): the
    ceiling 6–16 dB over the highest peak on a 10-dB grid, 100 dB deep (the grid keeps it
    from moving with every frame)."""
    # The ufunc itself, every frame: held.max() goes through numpy's Python wrappers.
    top = float(np.maximum.reduce(held)) if held.size else 0.0
    if not math.isfinite(top):  # the spectrum floors its rows: only other callers get here
        finite = held[np.isfinite(held)]
        top = float(finite.max()) if finite.size else 0.0
    ceil = min(20.0, max(-60.0, math.ceil((top + 6.0) / 10.0) * 10.0))
    return ceil - 100.0, ceil


class RowLookup:
    """``rows.row_of(hz)`` for a scalar ``hz`` by a bisection of the row edges (Hz) kept per
    rows: the same row, in Python numbers. ``row_of`` (numpy on one value: ``hz_to_mel``,
    ``clip``, ``floor``) was a third of the spectrum's update; near an edge (within 1e-9 of
    it, where the inverse mapping's rounding decides) it is asked itself."""

    def __init__(self, rows: FrequencyRows) -> None:
        self.rows = rows
        self._edges = [float(e) for e in rows.hz_at(np.arange(rows.n_rows + 1))]

    def row_of(self, hz: float) -> int:
        edges = self._edges
        k = bisect.bisect_right(edges, hz) - 1
        if 0 <= k < len(edges) - 1:
            lo, hi = edges[k], edges[k + 1]
            margin = 1e-9 * max(abs(lo), abs(hi), 1e-300)
            if lo + margin < hz < hi - margin:
                return k
        return self.rows.row_of(hz)


def _format_hz(hz: float) -> str:
    return f"{hz:.0f} Hz" if hz < 1000 else f"{hz / 1000:.3f} kHz"



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
        """Feed the current values at time ``now`` (s); return the held values (the same
        array each call, updated in place into kept masks: no new array per call)."""
        current = np.asarray(current, dtype=np.float32)
        if self.values is None or self.values.shape != current.shape:
            self.values = current.copy()
            self._since = np.full(current.shape, now)
            self._age = np.empty(current.shape)
            self._old = np.empty(current.shape, bool)
            self._higher = np.empty(current.shape, bool)
        else:
            dt = max(0.0, now - self._now)
            values = self.values
            np.subtract(now, self._since, out=self._age)
            np.greater(self._age, self.hold, out=self._old)
            np.subtract(values, np.float32(self.decay * dt), out=values, where=self._old)
            higher = np.greater_equal(current, values, out=self._higher)
            np.copyto(values, current, where=higher)
            np.copyto(self._since, now, where=higher)
        self._now = now
        return self.values


class SpectrumView(PlotCanvas):
    """Plot of the newest frame's rows (same frequency rows as the waterfall) in dBFS, with
    the peak frequency in its title and a cursor readout (frequency, dB, nearest note).

    A :class:`~monitor.gui.plot_canvas.PlotCanvas` (QPainter, no pyqtgraph scene): the view's
    ``curve`` and ``hold_curve`` are its traces, :meth:`view_range` its ranges.

    Signals
    -------
    cursor_moved(str)
        The readout under the mouse; empty when the mouse leaves.
    """

    cursor_moved = QtCore.pyqtSignal(str)
    Y_TICK_SPACING_PX = 24

    def __init__(self, settings: Settings, rows: FrequencyRows,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__("spectrum", _no_ticks, linear_ticks(self.Y_TICK_SPACING_PX), parent)
        self.settings = settings
        self.range_mode = "auto"
        self.level_range: tuple[float, float] = (-100.0, 0.0)
        self.peak: Optional[tuple[float, float]] = None  # (Hz, dBFS) of the newest frame
        self._values: Optional[np.ndarray] = None
        self._buffers: dict[str, np.ndarray] = {}
        self._title_time = -math.inf
        self.rows: Optional[FrequencyRows] = None
        self.peak_hold = PeakHold(settings.peak_hold)
        self.level_units = ""
        self.set_level_units("dBFS")
        # No fill under the curve: filling costs more than the line, every frame.
        self.hold_curve = self.add_trace(Trace("hold"))
        self.curve = self.add_trace(Trace("trace"))
        self._cursor = WidgetCursorReadout(self, self.map_to_view, self.readout,
                                           self.cursor_moved.emit)
        self.set_rows(rows)
        self._apply_range()

    def set_level_units(self, units: str) -> None:
        """The unit of the level axis: 'dBFS', 'dB(A)FS, mic-corrected', …"""
        self.level_units = units
        self.set_label("left", f"level ({units})")

    def set_rows(self, rows: FrequencyRows) -> None:
        """Use new frequency rows (a new scale or new analysis parameters)."""
        if rows is self.rows:
            return
        self.rows = rows
        self._row_lookup = RowLookup(rows)
        self._x = np.arange(rows.n_rows, dtype=np.float64) + 0.5
        spacing = LABEL_SPACING_PX["bottom"]

        def ticks(lo: float, hi: float, size: float):
            ys = frequency_rows_ticks(rows, lo, hi, size, spacing)
            return list(zip(ys, frequency_tick_labels(rows, ys)))

        self.set_x_ticks(ticks)
        self.peak_hold.reset()
        self.curve.setData(np.zeros(0), np.zeros(0))
        self.hold_curve.setData(np.zeros(0), np.zeros(0))
        self.set_x_range(0, rows.n_rows)

    def update_frame(self, values: np.ndarray, now: float,
                     recent_max: Optional[np.ndarray] = None,
                     peak_hz: Optional[float] = None) -> None:
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
        peak_hz : float, optional
            The frame's peak frequency as the analysis found it on its FFT bins (Hz); default:
            found on the rows (coarser where log rows are finer than the bins).
        """
        if values.shape[0] != self._x.shape[0]:
            return
        self._values = values
        floor = min(self.level_range[0], self.settings.db_floor) - 10  # -inf never reaches Qt
        # Into kept arrays (the curves keep them as their y; a paint reads them after this).
        shown = np.maximum(values, floor, out=self._buffer("shown", values))
        if recent_max is not None and recent_max.shape == values.shape:
            held = self.peak_hold.update(
                np.maximum(recent_max, floor, out=self._buffer("recent", recent_max)), now)
        else:
            held = self.peak_hold.update(shown, now)
        if not drawn_on_screen(self):
            return  # the peak hold goes on; nothing is drawn while hidden or minimised
        self.curve.setData(self._x, shown)
        self.hold_curve.setData(self._x, held)
        if peak_hz is not None and math.isfinite(peak_hz) and peak_hz > 0:
            self.peak = (float(peak_hz), float(values[self._row_lookup.row_of(peak_hz)]))
        else:
            self.peak = peak_of(values, self.rows)
        if self.range_mode == "auto":
            self._set_level_range(auto_range(held))
        if now - self._title_time >= PEAK_TITLE_SECONDS:
            self._title_time = now
            self._show_peak()
        self.update_plot()

    def _buffer(self, name: str, like: np.ndarray) -> np.ndarray:
        """A kept array of ``like``'s shape and dtype (``np.maximum(like, float)``'s result)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._buffers[name] = np.empty(like.shape, np.result_type(like, 1.0))
        return buf

    def set_ui_scale(self, scale: float) -> None:
        """Line widths and fonts at UI ``scale``, the colours in force."""
        width = max(1.0, round(float(scale) * 2) / 2)
        self.curve.setPen("trace", width)
        self.hold_curve.setPen("hold", width)
        super().set_ui_scale(scale)

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.peak_hold.hold = settings.peak_hold

    def set_range_mode(self, mode: str) -> None:
        """A key of :data:`RANGES`: 'auto', or a fixed range (dBFS)."""
        if mode not in RANGES:
            return
        self.range_mode = mode
        self._apply_range()

    def readout(self, x: float, y: float) -> Optional[str]:
        """Text for view coordinates: frequency, level of the curve there, nearest note."""
        if self.rows is None or not 0 <= x < self.rows.n_rows:
            return None
        hz = float(self.rows.hz_at(x))
        text = f"f {_format_hz(hz)}   {note_name(hz)}"
        values = self._values
        if values is not None and values.shape[0] == self.rows.n_rows:
            db = float(values[int(x)])
            text += f"   {db:.1f} dB" if math.isfinite(db) else "   floor"
        return f"{text}   (cursor {y:.0f} dB)"

    def _show_peak(self) -> None:
        if self.peak is None or self.peak[1] < self.level_range[0]:
            title = "spectrum"
        else:
            hz, db = self.peak
            title = f"spectrum — peak {_format_hz(hz)} ({note_name(hz)}) {db:.1f} dBFS"
        self.set_title(title)

    def _set_level_range(self, lo_hi: tuple[float, float]) -> None:
        if lo_hi != self.level_range:
            self.level_range = lo_hi
            self.set_y_range(*lo_hi)

    def _apply_range(self) -> None:
        fixed = RANGES.get(self.range_mode)
        if fixed is not None:
            self._set_level_range(fixed)
        else:
            self.set_y_range(*self.level_range)


def _no_ticks(lo: float, hi: float, size: float) -> list:
    return []
