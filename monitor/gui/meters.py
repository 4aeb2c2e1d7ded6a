"""Level meters: peak and RMS in dBFS with peak hold, a clip indicator and the normaliser's gain."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.curves import drawn_on_screen
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


def _number(value: float) -> str:
    """A level as the meter prints it: whole dB, '-∞' below -100 dB."""
    return f"{value:.0f}" if math.isfinite(value) and value > -100 else "-∞"


_TIP = ("peak and RMS level (dBFS); the line holds the peak; CLIP lights when a sample reaches "
        "full scale")


class LevelMeters(QtWidgets.QWidget):
    """Two vertical bars (peak, RMS) on a dBFS scale, painted directly with QPainter."""

    RANGE_DB = (-72.0, 0.0)
    TICKS = (0, -3, -6, -12, -18, -24, -36, -48, -60, -72)

    def __init__(self, settings: Settings, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.state = MeterState(settings.peak_hold)
        self.weighting = "Z"  # of the RMS bar: its label reads A or C when weighted
        self.setMinimumWidth(96)
        self.setMaximumWidth(120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed,
                           QtWidgets.QSizePolicy.Policy.Expanding)
        self.setToolTip(_TIP)
        self._shown: Optional[tuple] = None  # the look last painted (see _look)
        # paintEvent covers every pixel (the background pixmap first): the window and the
        # central widget behind need not repaint with each level update.
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.apply_settings(settings)  # the weighting given on the command line

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(104, 300)

    def apply_settings(self, settings: Settings) -> None:
        self.state.hold.hold = settings.peak_hold
        if settings.weighting != self.weighting:
            self.weighting = settings.weighting
            self.setToolTip(_TIP if self.weighting == "Z" else _TIP.replace(
                "RMS level (dBFS)", f"RMS level ({self.weighting}-weighted, dB({self.weighting})FS)"))
            self.update()

    def update_levels(self, peak_dbfs: float, rms_dbfs: float, now: float, clipped_total: int,
                      gain_db: Optional[float]) -> None:
        """Feed new levels (dBFS); repaint if what is shown changed (and is on screen)."""
        self.state.update(peak_dbfs, rms_dbfs, now, clipped_total, gain_db)
        look = self._look()
        if look != self._shown and drawn_on_screen(self):
            self.update()

    def _look(self) -> tuple:
        """What a paint would show, in pixels and text: equal looks need no repaint (a steady
        or silent input repaints nothing)."""
        s = self.state
        top, bottom = self._span(s)
        return (round(self._y(s.peak, top, bottom)) if math.isfinite(s.peak) else None,
                round(self._y(s.rms, top, bottom)) if math.isfinite(s.rms) else None,
                round(self._y(s.held, top, bottom)) if math.isfinite(s.held) else None,
                _number(s.held), _number(s.rms), s.clipping,
                None if s.gain_db is None else f"{s.gain_db:+.1f}", self.width(), self.height())

    def _span(self, s: MeterState) -> tuple:
        return 40.0, self.height() - (34.0 if s.gain_db is not None else 20.0)

    # -- painting -------------------------------------------------------------------------------
    def _y(self, db: float, top: float, bottom: float) -> float:
        lo, hi = self.RANGE_DB
        f = (min(max(db, lo), hi) - lo) / (hi - lo)
        return bottom - f * (bottom - top)

    BAR_W = 18.0
    X_PK = 34.0
    X_RMS = 34.0 + 18.0 + 6.0

    def _background(self, top: float, bottom: float) -> QtGui.QPixmap:
        """The parts that change only with the size: plot colour, scale, empty bars, labels.
        Painted once per size: the tick labels were most of each repaint's cost (10 texts)."""
        key = (self.width(), self.height(), top, bottom, self.devicePixelRatioF(), self.weighting)
        if getattr(self, "_bg_key", None) == key:
            return self._bg
        ratio = self.devicePixelRatioF()
        pix = QtGui.QPixmap(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)))
        pix.setDevicePixelRatio(ratio)
        pix.fill(QtGui.QColor(COLORS["plot"]))
        p = QtGui.QPainter(pix)
        p.setFont(self._font(p))
        bar_w, x_pk, x_rms = self.BAR_W, self.X_PK, self.X_RMS
        dim = QtGui.QColor(COLORS["dim"])
        p.setPen(dim)
        for t in self.TICKS:
            y = self._y(t, top, bottom)
            p.drawLine(QtCore.QPointF(28, y), QtCore.QPointF(31, y))
            p.drawText(QtCore.QRectF(0, y - 7, 26, 14),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
                       str(t))
        for x in (x_pk, x_rms):
            p.fillRect(QtCore.QRectF(x, top, bar_w, bottom - top), QtGui.QColor("#181b20"))
        for x, name in ((x_pk, "PK"), (x_rms, "RMS" if self.weighting == "Z" else self.weighting)):
            p.drawText(QtCore.QRectF(x - 4, bottom + 2, bar_w + 8, 14),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, name)
        p.end()
        self._bg, self._bg_key = pix, key
        return pix

    @staticmethod
    def _font(p: QtGui.QPainter) -> QtGui.QFont:
        font = p.font()
        font.setPointSizeF(7.5)
        return font

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        s = self.state
        self._shown = self._look()
        top, bottom = self._span(s)
        w, h = self.width(), self.height()
        bar_w, x_pk, x_rms = self.BAR_W, self.X_PK, self.X_RMS
        p = QtGui.QPainter(self)
        p.drawPixmap(0, 0, self._background(top, bottom))
        p.setFont(self._font(p))
        grad = QtGui.QLinearGradient(0, bottom, 0, top)
        grad.setColorAt(0.0, QtGui.QColor("#1f7a45"))
        grad.setColorAt(0.70, QtGui.QColor(COLORS["ok"]))
        grad.setColorAt(0.85, QtGui.QColor("#e8c330"))
        grad.setColorAt(1.0, QtGui.QColor(COLORS["danger"]))
        for x, value in ((x_pk, s.peak), (x_rms, s.rms)):
            y = self._y(value, top, bottom)
            if math.isfinite(value):
                p.fillRect(QtCore.QRectF(x, y, bar_w, bottom - y), QtGui.QBrush(grad))
        if math.isfinite(s.held):
            y = self._y(s.held, top, bottom)
            p.setPen(QtGui.QPen(QtGui.QColor(COLORS["accent"]), 2))
            p.drawLine(QtCore.QPointF(x_pk, y), QtCore.QPointF(x_pk + bar_w, y))
        # the numbers and the clip light on top
        p.setPen(QtGui.QColor(COLORS["text"]))
        for x, value in ((x_pk, s.held), (x_rms, s.rms)):
            p.drawText(QtCore.QRectF(x - 6, top - 16, bar_w + 12, 14),
                       QtCore.Qt.AlignmentFlag.AlignHCenter, _number(value))
        clip = QtCore.QRectF(x_pk, 4, x_rms + bar_w - x_pk, 16)
        p.fillRect(clip, QtGui.QColor(COLORS["danger"] if s.clipping else "#2a1a1a"))
        p.setPen(QtGui.QColor("#ffffff" if s.clipping else "#6a4a4a"))
        p.drawText(clip, QtCore.Qt.AlignmentFlag.AlignCenter, "CLIP")
        if s.gain_db is not None:
            p.setPen(QtGui.QColor(COLORS["accent"]))
            p.drawText(QtCore.QRectF(0, h - 16, w, 14), QtCore.Qt.AlignmentFlag.AlignHCenter,
                       f"gain {s.gain_db:+.1f} dB")
        p.end()
