"""Axis with readable Hz/kHz tick labels on a row coordinate (linear, log or mel rows)."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pyqtgraph as pg

from monitor.dsp.frequency_rows import FrequencyRows

__all__ = ["FrequencyAxis", "format_hz", "frequency_ticks", "frequency_tick_labels"]


def format_hz(hz: float) -> str:
    """``'125'``, ``'1k'``, ``'2.5k'``, ``'12k'``: compact, like the labels on an analyser."""
    if not math.isfinite(hz):
        return ""
    if abs(hz) >= 1000:
        return f"{hz / 1000:.3g}k"
    if abs(hz) >= 10:
        return f"{hz:.0f}"
    return f"{hz:.2g}"


class FrequencyAxis(pg.AxisItem):
    """An AxisItem whose data coordinate is a display row of :class:`FrequencyRows` and whose
    ticks are placed at round frequencies (1-2-5 steps on log and mel scales).

    Without rows it behaves like a plain AxisItem (used for the time axis of a vertical
    waterfall, which swaps the axes).
    """

    MIN_SPACING_PX = {"left": 24, "right": 24, "top": 48, "bottom": 48}

    def __init__(self, orientation: str, rows: Optional[FrequencyRows] = None, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.rows = rows

    def set_rows(self, rows: Optional[FrequencyRows]) -> None:
        """Use ``rows`` (None: plain numbers) and redraw."""
        self.rows = rows
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph API
        if self.rows is None:
            return super().tickValues(minVal, maxVal, size)
        ys = frequency_ticks(self.rows, minVal, maxVal, size,
                             self.MIN_SPACING_PX.get(self.orientation, 30))
        return [(1.0, list(ys))] if len(ys) else []

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if self.rows is None:
            return super().tickStrings(values, scale, spacing)
        return frequency_tick_labels(self.rows, values)


def frequency_ticks(rows: FrequencyRows, minVal: float, maxVal: float, size: float,
                    spacing: float) -> np.ndarray:
    """Row coordinates of round frequencies on an axis of ``rows`` showing ``minVal`` to
    ``maxVal`` (rows) over ``size`` pixels, labels at least ``spacing`` pixels apart (1-2-5
    steps on log and mel scales)."""
    lo, hi = sorted((minVal, maxVal))
    lo, hi = max(lo, 0.0), min(hi, float(rows.n_rows))
    if hi <= lo or size <= 0:
        return np.zeros(0)
    f_lo, f_hi = (float(f) for f in rows.hz_at([lo, hi]))
    px_per_row = size / max(maxVal - minVal, 1e-9)
    if rows.scale == "linear":
        hz = _linear_ticks(f_lo, f_hi, max(2, int(size / (spacing * 1.6))))
    else:
        hz = _log_ticks(max(f_lo, 1e-3), f_hi, rows, px_per_row, spacing)
    ys = rows.y_at(hz)
    return ys[(ys >= lo) & (ys <= hi)]


def frequency_tick_labels(rows: FrequencyRows, values) -> list[str]:
    """'125', '1k', '2.5k' for the row coordinates ``values`` of ``rows``."""
    if not len(values):
        return []
    return [format_hz(_round_sig(f)) for f in rows.hz_at(values)]


def _round_sig(x: float, digits: int = 3) -> float:
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, -int(math.floor(math.log10(x))) + digits - 1)


def _linear_ticks(f_lo: float, f_hi: float, count: int) -> np.ndarray:
    raw = (f_hi - f_lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(max(raw, 1e-9)))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(f_lo / step) * step
    return np.arange(start, f_hi + step * 1e-6, step)


def _log_ticks(f_lo: float, f_hi: float, rows: FrequencyRows, px_per_row: float,
               spacing: float) -> np.ndarray:
    """Round frequencies, placed greedily by priority (1×10ⁿ, then 5, 2, 3, …), each kept only
    if its label clears the ones already placed: dense where the scale is wide (high on a mel
    axis, everywhere on a log axis), sparse where it is crowded."""
    decades = range(int(math.floor(math.log10(f_lo))), int(math.ceil(math.log10(f_hi))) + 1)
    chosen: list[float] = []
    chosen_px: list[float] = []
    for mantissa in (1, 5, 2, 3, 4, 6, 7, 8, 9, 1.5, 2.5):
        for d in decades:
            hz = mantissa * 10.0 ** d
            if not (f_lo <= hz <= f_hi):
                continue
            px = float(rows.y_at(hz)) * px_per_row
            if all(abs(px - q) >= spacing for q in chosen_px):
                chosen.append(hz)
                chosen_px.append(px)
    if len(chosen) < 2:
        return _linear_ticks(f_lo, f_hi, 4)
    return np.array(sorted(chosen))
