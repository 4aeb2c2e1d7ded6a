"""Level meters: peak and RMS in dBFS with peak hold, a clip indicator and the normaliser's gain."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.gui.on_screen import drawn_on_screen
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
        self._requested: Optional[tuple] = None  # the look last asked for, not yet painted
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
        before = self._requested if self._requested is not None else self._shown
        if look != before and drawn_on_screen(self):
            if before is not None and look[-2:] == before[-2:] \
                    and (look[6] is None) == (before[6] is None):
                # Same size and layout: only the rows between the old and new bar tops, and
                # the texts that changed (the requests add up until the paint).
                self.update(self._changed(before, look))
            else:
                self.update()
            self._requested = look

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

    # What changes with the levels is drawn from pixmaps made once: the lit bars (one gradient,
    # cut to height), the numbers (one small pixmap per text), the clip light (on, off) and the
    # gain. Drawing the gradient, three texts and the clip light each paint cost 0.33 ms of
    # the 0.35 (offscreen, standalone; 0.6 ms in the window), most of it text layout.
    def _cached(self, key: tuple, size: QtCore.QSizeF, draw) -> QtGui.QPixmap:
        cache = self.__dict__.setdefault("_pixmaps", {})
        ratio = self.devicePixelRatioF()
        full = key + (ratio, COLORS["plot"], COLORS["text"])
        pix = cache.get(full)
        if pix is None:
            if len(cache) > 256:  # numbers come and go: keep the cache small
                cache.clear()
            pix = QtGui.QPixmap(max(1, math.ceil(size.width() * ratio)),
                                max(1, math.ceil(size.height() * ratio)))
            pix.setDevicePixelRatio(ratio)
            pix.fill(QtGui.QColor(COLORS["plot"]))
            p = QtGui.QPainter(pix)
            draw(p, QtCore.QRectF(0, 0, size.width(), size.height()))
            p.end()
            cache[full] = pix
        return pix

    def _text(self, text: str, color: str, width: float, flags) -> QtGui.QPixmap:
        def draw(p, rect):
            p.setFont(self._font(p))
            p.setPen(QtGui.QColor(color))
            p.drawText(rect, flags, text)
        return self._cached(("text", text, color, width, int(flags.value)),
                            QtCore.QSizeF(width, 14), draw)

    def _bar(self, top: float, bottom: float) -> QtGui.QPixmap:
        """A fully lit bar, ``bottom - top`` high: green, yellow, red to the top."""
        def draw(p, rect):
            grad = QtGui.QLinearGradient(0, rect.height(), 0, 0)
            grad.setColorAt(0.0, QtGui.QColor("#1f7a45"))
            grad.setColorAt(0.70, QtGui.QColor(COLORS["ok"]))
            grad.setColorAt(0.85, QtGui.QColor("#e8c330"))
            grad.setColorAt(1.0, QtGui.QColor(COLORS["danger"]))
            p.fillRect(rect, QtGui.QBrush(grad))
        return self._cached(("bar", bottom - top), QtCore.QSizeF(self.BAR_W, bottom - top), draw)

    def _clip_light(self, on: bool) -> QtGui.QPixmap:
        def draw(p, rect):
            p.fillRect(rect, QtGui.QColor(COLORS["danger"] if on else "#2a1a1a"))
            p.setFont(self._font(p))
            p.setPen(QtGui.QColor("#ffffff" if on else "#6a4a4a"))
            p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, "CLIP")
        return self._cached(("clip", on, COLORS["danger"]),
                            QtCore.QSizeF(self.X_RMS + self.BAR_W - self.X_PK, 16), draw)

    def _changed(self, a: tuple, b: tuple) -> QtGui.QRegion:
        """The pixels that differ between looks ``a`` and ``b`` (see :meth:`_look`)."""
        top, bottom = self._span(self.state)
        region = QtGui.QRegion()

        def rows(x: float, ya, yb, pad: int = 2) -> None:
            nonlocal region
            y0 = min(bottom if ya is None else ya, bottom if yb is None else yb)
            y1 = max(bottom if ya is None else ya, bottom if yb is None else yb)
            if ya != yb:
                region = region.united(QtCore.QRect(int(x), int(y0) - pad, int(self.BAR_W),
                                             int(y1 - y0) + 2 * pad + 1))

        rows(self.X_PK, a[0], b[0])
        rows(self.X_RMS, a[1], b[1])
        if a[2] != b[2]:
            for y in (a[2], b[2]):
                if y is not None:
                    region = region.united(QtCore.QRect(int(self.X_PK), int(y) - 3, int(self.BAR_W), 6))
        if a[3:5] != b[3:5]:
            region = region.united(QtCore.QRect(int(self.X_PK) - 7, int(top) - 17,
                                         int(self.X_RMS + self.BAR_W - self.X_PK) + 14, 16))
        if a[5] != b[5]:
            region = region.united(QtCore.QRect(int(self.X_PK) - 1, 3,
                                         int(self.X_RMS + self.BAR_W - self.X_PK) + 2, 18))
        if a[6] != b[6]:
            region = region.united(QtCore.QRect(0, self.height() - 17, self.width(), 17))
        return region

    def _hold_brush(self) -> QtGui.QBrush:
        """The hold line's brush in the accent colour in force, kept: a colour string made
        into a QColor and a QColor where Qt takes a brush cost 9 µs a paint."""
        key = COLORS["accent"]
        kept = getattr(self, "_hold_kept", None)
        if kept is None or kept[0] != key:
            kept = self._hold_kept = (key, QtGui.QBrush(QtGui.QColor(key)))
        return kept[1]

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        s = self.state
        self._shown = self._look()
        top, bottom = self._span(s)
        w, h = self.width(), self.height()
        bar_w, x_pk, x_rms = self.BAR_W, self.X_PK, self.X_RMS
        self._requested = None
        bg = self._background(top, bottom)
        ratio = bg.devicePixelRatio()
        p = QtGui.QPainter(self)
        # The background under the changed rectangles (Qt clips to the event's region).
        area = event.rect()
        p.drawPixmap(QtCore.QRectF(area), bg, QtCore.QRectF(
            area.x() * ratio, area.y() * ratio, area.width() * ratio, area.height() * ratio))
        bar = self._bar(top, bottom)
        for x, value in ((x_pk, s.peak), (x_rms, s.rms)):
            if math.isfinite(value):
                y = self._y(value, top, bottom)
                p.drawPixmap(QtCore.QRectF(x, y, bar_w, bottom - y), bar,
                             QtCore.QRectF(0, (y - top) * ratio, bar_w * ratio, (bottom - y) * ratio))
        if math.isfinite(s.held):
            y = self._y(s.held, top, bottom)
            p.fillRect(QtCore.QRectF(x_pk, y - 1, bar_w, 2), self._hold_brush())
        # the numbers and the clip light on top
        center = QtCore.Qt.AlignmentFlag.AlignHCenter
        for x, value in ((x_pk, s.held), (x_rms, s.rms)):
            p.drawPixmap(QtCore.QPointF(x - 6, top - 16),
                         self._text(_number(value), COLORS["text"], bar_w + 12, center))
        p.drawPixmap(QtCore.QPointF(x_pk, 4), self._clip_light(s.clipping))
        if s.gain_db is not None:
            p.drawPixmap(QtCore.QPointF(0, h - 16),
                         self._text(f"gain {s.gain_db:+.1f} dB", COLORS["accent"], w, center))
        p.end()
