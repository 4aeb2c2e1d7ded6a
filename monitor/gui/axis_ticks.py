"""Where the ticks of an axis go and what they read: round frequencies on a row coordinate
(linear, log or mel rows) and round times. No drawing here, no pyqtgraph: the canvases
(:mod:`monitor.gui.waterfall_canvas`, :mod:`monitor.gui.plot_canvas`) paint them once into a
pixmap, and :class:`monitor.gui.axes.FrequencyAxis` gives the same ticks to pyqtgraph's axes
(1-2-5 steps, labels kept only where they clear each other).
"""

from __future__ import annotations

import math

import numpy as np

from monitor.dsp.frequency_rows import FrequencyRows

__all__ = ["LABEL_SPACING_PX", "clock_ticks", "format_hz", "frequency_ticks", "frequency_rows_ticks", "frequency_tick_labels",
           "round_ticks", "time_ticks"]

#: Least distance (px) between two frequency labels, by the side of the plot the axis is on.
LABEL_SPACING_PX = {"left": 24, "right": 24, "top": 48, "bottom": 48}


def format_hz(hz: float) -> str:
    """``'125'``, ``'1k'``, ``'2.5k'``, ``'12k'``: compact, like the labels on an analyser."""
    if not math.isfinite(hz):
        return ""
    if abs(hz) >= 1000:
        return f"{hz / 1000:.3g}k"
    if abs(hz) >= 10:
        return f"{hz:.0f}"
    return f"{hz:.2g}"


def _round_sig(x: float, digits: int = 3) -> float:
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, -int(math.floor(math.log10(x))) + digits - 1)


def round_ticks(lo: float, hi: float, count: int) -> np.ndarray:
    """About ``count`` round values (1, 2, 2.5, 5 × 10ⁿ steps) from ``lo`` to ``hi``."""
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(max(raw, 1e-9)))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    return np.arange(start, hi + step * 1e-6, step)


def _log_ticks(f_lo: float, f_hi: float, rows: FrequencyRows, px_per_row: float,
               spacing: float) -> np.ndarray:
    """Round frequencies placed greedily by priority (1×10ⁿ, then 5, 2, 3, …), each kept only
    if its label clears the ones already placed."""
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
        return round_ticks(f_lo, f_hi, 4)
    return np.array(sorted(chosen))


def frequency_rows_ticks(rows: FrequencyRows, lo: float, hi: float, size_px: float,
                         spacing_px: float) -> np.ndarray:
    """Row coordinates of round frequencies on an axis of ``rows`` showing rows ``lo`` to
    ``hi`` over ``size_px`` pixels, labels at least ``spacing_px`` apart (1-2-5 steps on log
    and mel scales)."""
    lo, hi = sorted((lo, hi))
    span = hi - lo
    lo, hi = max(lo, 0.0), min(hi, float(rows.n_rows))
    if hi <= lo or size_px <= 0:
        return np.zeros(0)
    f_lo, f_hi = (float(f) for f in rows.hz_at([lo, hi]))
    if rows.scale == "linear":
        hz = round_ticks(f_lo, f_hi, max(2, int(size_px / (spacing_px * 1.6))))
    else:
        hz = _log_ticks(max(f_lo, 1e-3), f_hi, rows, size_px / max(span, 1e-9), spacing_px)
    ys = np.asarray(rows.y_at(hz), dtype=float)
    return ys[(ys >= lo) & (ys <= hi)]


def frequency_tick_labels(rows: FrequencyRows, values) -> list[str]:
    """'125', '1k', '2.5k' for the row coordinates ``values`` of ``rows``."""
    if not len(values):
        return []
    return [format_hz(_round_sig(float(f))) for f in rows.hz_at(values)]


def frequency_ticks(rows: FrequencyRows, size_px: float, spacing_px: float) -> list:
    """Ticks of a frequency axis over all its rows ``0 … rows.n_rows`` drawn ``size_px``
    long, labels at least ``spacing_px`` apart: ``[(row coordinate, label), ...]``."""
    ys = frequency_rows_ticks(rows, 0.0, float(rows.n_rows), size_px, spacing_px)
    return list(zip((float(y) for y in ys), frequency_tick_labels(rows, ys)))


def time_ticks(lo: float, hi: float, size_px: float, spacing_px: float) -> list:
    """Ticks of a time axis (s) from ``lo`` to ``hi`` drawn ``size_px`` long:
    ``[(seconds, label), ...]``; labels with as many decimals as the step needs."""
    if hi <= lo or size_px <= 0:
        return []
    values = round_ticks(lo, hi, max(2, int(size_px / (spacing_px * 1.6))))
    step = float(values[1] - values[0]) if len(values) > 1 else 1.0
    digits = max(0, -int(math.floor(math.log10(step) + 1e-9))) if step < 1 else 0
    if step < 1 and abs(round(step * 10 ** digits) - step * 10 ** digits) > 1e-6:
        digits += 1  # 0.25 s steps
    out = []
    for v in values:
        text = f"{v:.{digits}f}"
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
        out.append((float(v), text))
    return out


def clock_ticks(lo: float, hi: float, size_px: float, spacing_px: float = 48.0) -> list:
    """Ticks of a session-time axis from ``lo`` to ``hi`` (s) drawn ``size_px`` long:
    ``[(seconds, 'h:mm:ss' or 'm:ss'), ...]``, with as many decimals as the step needs."""
    if not hi > lo or size_px <= 0:
        return []
    values = round_ticks(lo, hi, max(2, int(size_px / (spacing_px * 1.6))))
    values = values[(values >= lo - 1e-9) & (values <= hi + 1e-9)]
    spacing = float(values[1] - values[0]) if len(values) > 1 else max(hi - lo, 1.0)
    digits = 0 if spacing >= 1 else min(3, int(math.ceil(-math.log10(spacing))))
    out = []
    for v in values:
        sign = "-" if v < 0 else ""
        a = abs(float(v))
        h, rem = divmod(int(a), 3600)
        m = rem // 60
        sec = a - 3600 * h - 60 * m
        text = f"{sec:0{3 + digits if digits else 2}.{digits}f}"
        out.append((float(v), f"{sign}{h}:{m:02d}:{text}" if h else f"{sign}{m}:{text}"))
    return out

