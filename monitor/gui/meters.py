"""Level meters: peak and RMS in dBFS with peak hold, a clip indicator and the normaliser's gain."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.spectrum import PeakHold
from monitor.gui.theme import COLORS
from monitor.settings import Settings

__all__ = ["MeterState", "LevelMeters"]


class MeterState:
    """What the meters show, updated from batches; no Qt.

    Parameters
    ----------
    hold : float
        Seconds a peak stays held.
    """

    CLIP_SHOW_SECONDS = 2.0  # the clip light stays on this long after the last clipped sample
    FALL_DB_PER_S = 30.0  # bar release: fast attack, this slow fall

    def __init__(self, hold: float) -> None:
        self.peak = -math.inf  # dBFS, what the bars show
        self.rms = -math.inf
        self.hold = PeakHold(hold, decay=self.FALL_DB_PER_S)
        self.held = -math.inf
        self.clipped_total = 0
        self._clip_time: Optional[float] = None
        self._now = 0.0
        self.gain_db: Optional[float] = None

    def update(self, peak_dbfs: float, rms_dbfs: float, now: float, clipped_total: int,
               gain_db: Optional[float]) -> None:
        """Feed the loudest peak and the RMS (dBFS) since the last update, at time ``now`` (s)."""
        fall = self.FALL_DB_PER_S * max(0.0, now - self._now)
        self.peak = max(peak_dbfs, self.peak - fall)
        self.rms = max(rms_dbfs, self.rms - fall)
        self.held = float(self.hold.update(np.array([self.peak]), now)[0])
        if clipped_total > self.clipped_total:
            self._clip_time = now
        self.clipped_total = clipped_total
        self.gain_db = gain_db
        self._now = now

    @property
    def clipping(self) -> bool:
        """True for a while after a clipped sample."""
        return self._clip_time is not None and self._now - self._clip_time < self.CLIP_SHOW_SECONDS


class LevelMeters(QtWidgets.QWidget):
    """Two vertical bars (peak, RMS) on a dBFS scale, painted directly with QPainter."""

    RANGE_DB = (-72.0, 0.0)
    TICKS = (0, -3, -6, -12, -18, -24, -36, -48, -60, -72)

    def __init__(self, settings: Settings, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.state = MeterState(settings.peak_hold)
        self.setMinimumWidth(96)
        self.setMaximumWidth(120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed,
                           QtWidgets.QSizePolicy.Policy.Expanding)
        self.setToolTip("peak and RMS level (dBFS); the line holds the peak; CLIP lights when a "
                        "sample reaches full scale")

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(104, 300)

    def apply_settings(self, settings: Settings) -> None:
        self.state.hold.hold = settings.peak_hold

    def update_levels(self, peak_dbfs: float, rms_dbfs: float, now: float, clipped_total: int,
                      gain_db: Optional[float]) -> None:
        """Feed new levels (dBFS) and repaint."""
        self.state.update(peak_dbfs, rms_dbfs, now, clipped_total, gain_db)
        self.update()

    # -- painting -------------------------------------------------------------------------------
    def _y(self, db: float, top: float, bottom: float) -> float:
        lo, hi = self.RANGE_DB
        f = (min(max(db, lo), hi) - lo) / (hi - lo)
        return bottom - f * (bottom - top)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        s = self.state
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), QtGui.QColor(COLORS["plot"]))
        w, h = self.width(), self.height()
        font = p.font()
        font.setPointSizeF(7.5)
        p.setFont(font)
        top, bottom = 40.0, h - (34.0 if s.gain_db is not None else 20.0)
        bar_w = 18.0
        x_pk, x_rms = 34.0, 34.0 + bar_w + 6.0
        dim = QtGui.QColor(COLORS["dim"])
        # scale
        p.setPen(dim)
        for t in self.TICKS:
            y = self._y(t, top, bottom)
            p.drawLine(QtCore.QPointF(28, y), QtCore.QPointF(31, y))
            p.drawText(QtCore.QRectF(0, y - 7, 26, 14),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       str(t))
        grad = QtGui.QLinearGradient(0, bottom, 0, top)
        grad.setColorAt(0.0, QtGui.QColor("#1f7a45"))
        grad.setColorAt(0.70, QtGui.QColor(COLORS["ok"]))
        grad.setColorAt(0.85, QtGui.QColor("#e8c330"))
        grad.setColorAt(1.0, QtGui.QColor(COLORS["danger"]))
        for x, value in ((x_pk, s.peak), (x_rms, s.rms)):
            p.fillRect(QtCore.QRectF(x, top, bar_w, bottom - top), QtGui.QColor("#181b20"))
            y = self._y(value, top, bottom)
            if math.isfinite(value):
                p.fillRect(QtCore.QRectF(x, y, bar_w, bottom - y), QtGui.QBrush(grad))
        if math.isfinite(s.held):
            y = self._y(s.held, top, bottom)
            p.setPen(QtGui.QPen(QtGui.QColor(COLORS["accent"]), 2))
            p.drawLine(QtCore.QPointF(x_pk, y), QtCore.QPointF(x_pk + bar_w, y))
        # labels under the bars, numbers and the clip light on top
        p.setPen(dim)
        for x, name in ((x_pk, "PK"), (x_rms, "RMS")):
            p.drawText(QtCore.QRectF(x - 4, bottom + 2, bar_w + 8, 14),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, name)
        p.setPen(QtGui.QColor(COLORS["text"]))
        for x, value in ((x_pk, s.held), (x_rms, s.rms)):
            text = f"{value:.0f}" if math.isfinite(value) and value > -100 else "-∞"
            p.drawText(QtCore.QRectF(x - 6, top - 16, bar_w + 12, 14),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, text)
        clip = QtCore.QRectF(x_pk, 4, x_rms + bar_w - x_pk, 16)
        p.fillRect(clip, QtGui.QColor(COLORS["danger"] if s.clipping else "#2a1a1a"))
        p.setPen(QtGui.QColor("#ffffff" if s.clipping else "#6a4a4a"))
        p.drawText(clip, QtCore.Qt.AlignmentFlag.AlignCenter, "CLIP")
        if s.gain_db is not None:
            p.setPen(QtGui.QColor(COLORS["accent"]))
            p.drawText(QtCore.QRectF(0, h - 16, w, 14), QtCore.Qt.AlignmentFlag.AlignHCenter,
                       f"gain {s.gain_db:+.1f} dB")
        p.end()
