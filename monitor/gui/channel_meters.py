"""Meters for every channel the input delivers (1 to 32 and more), numbered from 1, each with
peak, RMS, a held peak and a clip light; under them the level difference, delay and polarity of
the compared channel against the reference channel (``monitor.channel_monitor``)."""

from __future__ import annotations

import math

from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.meters import MeterState
from monitor.gui.theme import COLORS

__all__ = ["ChannelBars", "ChannelMeters", "format_compare"]


def format_compare(compare: dict | None) -> str:
    """One line for ``channel_report()['compare']``."""
    if not compare:
        return "one channel: nothing to compare"
    a, b = compare["channels"]
    if compare.get("lag_samples") is None:
        return f"ch {b} vs ch {a}: silent"
    diff = compare.get("level_difference_db")
    level = "—" if diff is None else f"{diff:+.2f} dB"
    polarity = "in phase" if compare["polarity"] > 0 else "INVERTED"
    return (f"ch {b} vs ch {a}: level {level}, delay {compare['delay_ms']:+.3f} ms "
            f"({compare['lag_samples']:+.1f} samples), {polarity}, confidence {compare['confidence']:.2f}"
            + (" (periodic: ambiguous)" if compare.get("ambiguity", 0) > 0.9 else ""))


class ChannelBars(QtWidgets.QWidget):
    """Narrow bars, one per channel, painted with QPainter."""

    RANGE_DB = (-72.0, 0.0)

    def __init__(self, hold: float, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.hold = hold
        self.states: list[MeterState] = []
        self.setMinimumHeight(140)

    def update_levels(self, peak, rms, clipped, now: float) -> None:
        if len(self.states) != len(peak):
            self.states = [MeterState(self.hold) for _ in peak]
        for i, s in enumerate(self.states):
            s.update(float(peak[i]), float(rms[i]), now, int(clipped[i]) if i < len(clipped) else 0, None)
        self.update()

    def _y(self, db: float, top: float, bottom: float) -> float:
        lo, hi = self.RANGE_DB
        f = (min(max(db, lo), hi) - lo) / (hi - lo)
        return bottom - f * (bottom - top)

    def paintEvent(self, event) -> None:
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(COLORS["plot"]))
        n = len(self.states)
        if not n:
            p.end()
            return
        w, h = self.width(), self.height()
        font = p.font()
        font.setPointSizeF(7.0)
        p.setFont(font)
        top, bottom = 22.0, h - 16.0
        slot = max(6.0, (w - 4.0) / n)
        bar = max(3.0, slot - 3.0)
        for i, s in enumerate(self.states):
            x = 2.0 + i * slot
            p.fillRect(QtCore.QRectF(x, top, bar, bottom - top), QtGui.QColor("#181b20"))
            if math.isfinite(s.rms):
                y = self._y(s.rms, top, bottom)
                p.fillRect(QtCore.QRectF(x, y, bar, bottom - y), QtGui.QColor(COLORS["ok"]))
            if math.isfinite(s.peak):
                y = self._y(s.peak, top, bottom)
                p.fillRect(QtCore.QRectF(x, y, bar, 2), QtGui.QColor("#e8c330"))
            if math.isfinite(s.held):
                y = self._y(s.held, top, bottom)
                p.fillRect(QtCore.QRectF(x, y, bar, 2), QtGui.QColor(COLORS["accent"]))
            p.fillRect(QtCore.QRectF(x, 4, bar, 12),
                       QtGui.QColor(COLORS["danger"] if s.clipping else "#2a1a1a"))
            p.setPen(QtGui.QColor(COLORS["dim"]))
            p.drawText(QtCore.QRectF(x - 4, bottom + 1, bar + 8, 14),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, str(i + 1))
        p.end()


class ChannelMeters(QtWidgets.QWidget):
    """The bars, a line of per-channel RMS figures and the channel comparison."""

    def __init__(self, hold: float = 2.0, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars = ChannelBars(hold)
        self.bars.setToolTip("every channel, numbered from 1: RMS bar, peak (yellow), held peak "
                             "(orange) over 0.1 s readings, dBFS (-72 to 0); the light on top is "
                             "the channel's clip light (runs of samples at a rail)")
        self.figures = QtWidgets.QLabel("")
        self.figures.setWordWrap(True)
        self.compare = QtWidgets.QLabel("")
        self.compare.setWordWrap(True)
        self.compare.setToolTip("cross-correlation of the last 0.5 s of the two channels (lags up "
                                "to ±10 ms, sub-sample by a parabola); confidence = |normalised "
                                "correlation| at the lag; level difference = RMS ratio in dB")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.bars, 1)
        layout.addWidget(self.figures)
        layout.addWidget(self.compare)

    def show_report(self, report: dict, peak, rms, clipped, now: float, weighting: str = "Z") -> None:
        """Draw the per-channel ``peak``/``rms`` (dBFS arrays; RMS weighted by ``weighting``),
        ``clipped`` (samples per channel) and the comparison of ``report`` (``channel_report()``)."""
        self.bars.update_levels(peak, rms, clipped, now)
        unit = "dBFS RMS" if weighting == "Z" else f"dB({weighting})FS RMS"
        self.figures.setText("  ".join(f"{i + 1}: {v:.1f}" if v > -150 else f"{i + 1}: -∞"
                                       for i, v in enumerate(rms)) + f" {unit}")
        self.compare.setText(format_compare(report.get("compare")))
