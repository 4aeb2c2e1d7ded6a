"""The scrolling waterfall's widget: its image, colour bar and axes.

The columns come from :class:`~monitor.gui.waterfall_history.WaterfallHistory` (no Qt).
:class:`Waterfall` colours only the new columns through the colour map's 256-entry table into a
second doubled ring of RGB32 pixels, and its canvas (:class:`~monitor.gui.waterfall_canvas.
WaterfallCanvas`, a plain QWidget) draws the visible slice of it straight from that memory: no
per-frame copy, no per-frame QImage, no per-pixel conversion (measured here for 940 × 512:
0.17 ms per paint for RGB32 against 1.4 ms for the Indexed8 image pyqtgraph's ImageItem builds
from uint8 data, which Qt converts at every paint). It scrolls smoothly at the display rate by
moving the picture by stream time between column arrivals. It is usable on its own (``push(batch)`` then ``draw(stream_time)``), e.g. by the
benchmarks.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets, sip

from monitor.dsp.features import AnalysisParams, FeatureBatch
from monitor.gui.axis_ticks import round_ticks
from monitor.gui.colormaps import lookup_table
from monitor.gui.detector_marks import LEGEND as MARKS_LEGEND, DetectorMarks
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.theme import COLORS
from monitor.gui.waterfall_canvas import WaterfallCanvas
from monitor.gui.waterfall_history import VALUE_MODES, StreamClock, WaterfallHistory, what_changed
from monitor.settings import Settings

__all__ = ["WaterfallHistory", "StreamClock", "Waterfall", "VALUE_MODES"]

COLOR_BAR_TIPS = {
    "db": "colour = power in dBFS (0 dBFS: a full-scale sine), from the dB floor to the "
          "dB ceiling",
    "power": "colour = linear power in FS² (1 FS² = a full-scale sine's power), from 0 to "
             "the dB ceiling's power",
}


def color_bar_tip(mode: str, calibration=None) -> str:
    """The colour bar's tooltip for value ``mode``, saying which microphone file (name, from
    ``AnalysisParams.calibration``) corrects the powers, if any."""
    tip = COLOR_BAR_TIPS[mode]
    if calibration:
        unit = "dBFS" if mode == "db" else "FS²"
        tip += f"\nvalues in {unit}, mic-corrected: {calibration}"
    return tip


class ColorBar(QtWidgets.QWidget):
    """The colour scale of the waterfall in dB, beside it, aligned with its plot area.

    Repainted only when the colours, the dB range or the size change.
    """

    def __init__(self, waterfall: "Waterfall") -> None:
        super().__init__(waterfall)
        self._waterfall = waterfall
        self._image: Optional[QtGui.QImage] = None
        self.unit = "dBFS"  # what the marks are in, as last drawn
        self.scale = 1.0  # UI scale
        self.marks: list[str] = []
        self.setFixedWidth(52)

    def set_table(self, lut32: np.ndarray) -> None:
        """Use the colour map ``lut32`` (256 uint32 0xffRRGGBB, the waterfall's own table):
        its 1 × 256 image, top = index 255, is made here once, not at every paint."""
        column = np.ascontiguousarray(lut32[::-1], dtype=np.uint32).reshape(256, 1)
        image = QtGui.QImage(sip.voidptr(column.ctypes.data), 1, 256, 4,
                             QtGui.QImage.Format.Format_RGB32)
        self._image = image.copy()  # its own pixels: ``column`` goes away
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        wf = self._waterfall
        rect = wf.canvas.plot_rect().toAlignedRect()
        top = self.mapFrom(wf, wf.canvas.mapTo(wf, rect.topLeft())).y()
        bottom = self.mapFrom(wf, wf.canvas.mapTo(wf, rect.bottomLeft())).y()
        if bottom - top < 20 or self._image is None:
            return
        p = QtGui.QPainter(self)
        height = bottom - top
        k = self.scale
        p.drawImage(QtCore.QRectF(4 * k, top, 12 * k, height), self._image)
        p.setPen(QtGui.QColor(COLORS["dim"]))
        font = p.font()
        font.setPointSizeF(7.5 * k)
        p.setFont(font)
        h = wf.history
        floor, ceil = h.db_floor, h.db_ceil
        if h.value_mode == "power":
            # Linear power: the colour index is proportional to it, from 0 to the ceiling's
            # power (FS² = the power of a full-scale sine, 0 dBFS).
            top = 10.0 ** (ceil / 10.0)
            marks = [(f, _format_power(f * top)) for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
            unit = "FS²"
        else:
            marks = [((v - floor) / (ceil - floor), f"{v:.0f}")
                     for v in round_ticks(floor, ceil, 5)]
            unit = "dBFS"
        if getattr(h.params, "calibration", None):
            unit += " mic"  # the powers are mic-corrected (the tooltip names the file)
        for frac, text in marks:
            y = bottom - frac * height
            p.drawLine(QtCore.QPointF(16 * k, y), QtCore.QPointF(19 * k, y))
            y_text = min(max(y - 7 * k, 0), self.height() - 14 * k)
            p.drawText(QtCore.QRectF(20 * k, y_text, 32 * k, 14 * k),
                       QtCore.Qt.AlignmentFlag.AlignVCenter, text)
        p.drawText(QtCore.QRectF(2, bottom + 6 * k, 50 * k, 14 * k),
                   QtCore.Qt.AlignmentFlag.AlignLeft, unit)
        self.unit = unit
        self.marks = [text for _, text in marks]
        p.end()


def _format_power(value: float) -> str:
    """A linear power for a 30-px label: 0, 0.5, 0.025, 1e-05."""
    if value == 0:
        return "0"
    text = f"{value:.2g}"
    return text.replace("e-0", "e-").replace("e+0", "e")


def rgb32_table(name: str) -> np.ndarray:
    """The colour map as 256 uint32 pixels 0xffRRGGBB (QImage.Format_RGB32)."""
    lut = lookup_table(name).astype(np.uint32)
    return (0xFF000000 | (lut[:, 0] << 16) | (lut[:, 1] << 8) | lut[:, 2]).astype(np.uint32)


class Waterfall(QtWidgets.QWidget):
    """Scrolling waterfall widget: time on x, newest at the right (or newest at the top).

    Parameters
    ----------
    settings : Settings
        Uses scale, db_floor, db_ceil, colormap, history, orientation.
    params : AnalysisParams
        Parameters of the frames to come; a batch with other params resets the history.
    parent : QWidget, optional

    Attributes
    ----------
    history : WaterfallHistory
        The data (uint8 colour indices and dB) of the columns drawn.
    canvas : WaterfallCanvas
        Draws the picture and its axes; its ``image_to_view`` places columns in time (s) and
        rows on the axis. ``plot`` is the same widget (the name the window uses).
    draws : int
        Times new columns were put on screen.

    Signals
    -------
    cursor_moved(str)
        Readout (time, frequency, dB) under the mouse; empty when the mouse leaves.
    picture_note(str)
        The picture drawn could not be kept across a change (and why).
    """

    cursor_moved = QtCore.pyqtSignal(str)
    picture_note = QtCore.pyqtSignal(str)

    def __init__(self, settings: Settings, params: AnalysisParams,
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.value_mode = "db"
        self.paused = False
        self.draws = 0
        self.kept_columns = 0  # columns carried over at the last change of geometry
        self._dirty = False
        self._clock = StreamClock()
        self._x0 = 0.0  # time (s, relative to now) of the left edge of the visible image
        self._display_time: Optional[float] = None
        self._shown_head = 0
        self._frozen_db: Optional[np.ndarray] = None
        self._frozen_codes: Optional[np.ndarray] = None
        self._frozen_head = 0
        self.scrollback_time: Optional[float] = None  # set by show_columns (scroll-back)
        self._lut32 = rgb32_table(settings.colormap)
        self.canvas = WaterfallCanvas(self.readout, self.cursor_moved.emit)
        self.plot = self.canvas  # the window's name for the plot widget
        self.detector_marks = DetectorMarks(self.canvas.update_picture)  # the detectors' events
        self.canvas.detector_marks = self.detector_marks
        self.canvas.setToolTip(MARKS_LEGEND)
        self.color_bar = ColorBar(self)
        self.color_bar.set_table(self._lut32)
        self.color_bar.setToolTip(color_bar_tip("db", params.calibration))
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.color_bar)
        self.history = WaterfallHistory(params, settings.scale, settings.history,
                                        settings.db_floor, settings.db_ceil, self.value_mode)
        self._new_ring()
        self._layout_axes()

    # -- public API -----------------------------------------------------------------------------
    @property
    def rows(self) -> FrequencyRows:
        """The frequency rows currently drawn."""
        return self.history.rows

    @property
    def latest_time(self) -> Optional[float]:
        """Stream time (s) of the newest column, None before the first."""
        return self.history.latest_time

    @property
    def time_span(self) -> float:
        """Seconds the picture spans (its columns × seconds per column)."""
        h = self.history
        return h.width * h.column_seconds

    @property
    def display_time(self) -> Optional[float]:
        """The stream time (s) the picture was last drawn for (its right edge)."""
        return self._display_time

    def push(self, batch: FeatureBatch) -> int:
        """Add a batch's frames to the history (also while paused). Returns new columns."""
        if batch.params is not self.history.params and batch.params != self.history.params:
            if self.history.retarget(batch.params, batch.first_frame):
                self._layout_axes()  # the same geometry, new level calibration
            else:
                self._new_history(batch.params, first_frame=batch.first_frame)
            self.color_bar.setToolTip(color_bar_tip(self.value_mode, batch.params.calibration))
            self.color_bar.update()
        h = self.history
        self.detector_marks.follow(h, batch)
        n = h.push(batch)
        if n:
            # Colour only the new columns, in both halves of the doubled ring: usually one
            # slice (one table look-up and one copy, 6 against 16 µs with index arrays).
            start = (h.head - n) % h.width
            if start + n <= h.width:
                cols = slice(start, start + n)
                self._rgb[:, cols] = self._lut32[h.image[:, cols]]
                self._rgb[:, start + h.width:start + h.width + n] = self._rgb[:, cols]
            else:
                pos = (h.head - n + np.arange(n)) % h.width
                pos = np.concatenate((pos, pos + h.width))
                self._rgb[:, pos] = self._lut32[h.image[:, pos]]
            self._dirty = True
        return n

    def draw(self, stream_time: Optional[float] = None) -> None:
        """Show the history as of ``stream_time`` (s): cheap, only moves the picture and
        points it at the newest columns. Does nothing while paused.

        Parameters
        ----------
        stream_time : float, optional
            The display time; default: a smooth clock following the newest column.
        """
        if self.paused:
            return
        latest = self.history.latest_time
        if latest is None:
            return
        if stream_time is None:
            stream_time = self._clock.update(latest, time.monotonic())
        h = self.history
        if self._dirty:
            self._shown_head = h.head
            self._dirty = False
            self.draws += 1
            if h.marks or self.canvas.change_marks:
                self._place_marks()
            self.detector_marks.place(h.latest_time, h.width, h.column_seconds, h.rows.n_rows)
        self._x0 = latest - h.width * h.column_seconds - stream_time
        self._display_time = stream_time
        # One call: the canvas scrolls what is on screen and paints only what is new.
        self.canvas.show(self._shown_head % h.width, self._shown_head - h.width, self._x0,
                         h.column_seconds)

    def set_paused(self, paused: bool) -> None:
        """Freeze the picture (history keeps filling) or resume.

        While frozen, the dB range, value mode and colours still apply to the frozen picture,
        and the cursor reads it, so a moment can be inspected at leisure.
        """
        if bool(paused) == self.paused:
            return
        self.paused = bool(paused)
        h = self.history
        if self.paused:
            order = (self._shown_head - h.width + np.arange(h.width)) % h.width
            self._frozen_db = h.db[:, order]
            self._frozen_codes = h.quantize(self._frozen_db)
            self._frozen_head = self._shown_head
            self.canvas.freeze(self._lut32[self._frozen_codes])
        else:
            self._frozen_db = self._frozen_codes = None
            self.canvas.freeze(None)
            self._dirty = True
            self._clock.reset()
            if self.scrollback_time is not None:
                self.scrollback_time = None
                self._layout_axes()  # back to time relative to now

    def show_columns(self, db: np.ndarray, end_time: float) -> None:
        """Scroll-back: show ``db`` ((n_rows, width) dBFS, oldest column first, the history's
        geometry) as a frozen picture whose right edge is stream time ``end_time`` (s); the
        history keeps filling. ``set_paused(False)`` returns to the live picture."""
        h = self.history
        if db.shape != (h.rows.n_rows, h.width):
            raise ValueError(f"columns must be {(h.rows.n_rows, h.width)}, got {db.shape}")
        if not self.paused:
            self.set_paused(True)
        self._frozen_db = np.ascontiguousarray(db, dtype=np.float32)
        self._frozen_codes = h.quantize(self._frozen_db)
        self._frozen_head = h.width
        self.scrollback_time = float(end_time)
        self._x0 = self.scrollback_time - h.width * h.column_seconds  # time axis: session time
        self.canvas.set_time_range(self._x0, self.scrollback_time)
        self._place_image()
        self.canvas.freeze(self._lut32[self._frozen_codes])
        self.detector_marks.place(self.scrollback_time, h.width, h.column_seconds, h.rows.n_rows, prune=False)

    def set_value_mode(self, mode: str) -> None:
        """Colour by 'db' or by linear 'power'."""
        if mode != self.value_mode:
            self.value_mode = mode
            self.history.set_levels(self.settings.db_floor, self.settings.db_ceil, mode)
            self._recolour()
            self.color_bar.setToolTip(color_bar_tip(mode, self.history.params.calibration))

    def apply_settings(self, settings: Settings) -> None:
        """Apply display settings live. A new scale or history length restarts the history;
        colours, dB range and orientation apply to the history already drawn."""
        old, self.settings = self.settings, settings
        if settings.colormap != old.colormap:
            self._lut32 = rgb32_table(settings.colormap)
            self.color_bar.set_table(self._lut32)
        if settings.scale != old.scale:
            self._new_history(self.history.params)
        elif settings.history != old.history:
            self._new_history(self.history.params, keep=True)
        elif (settings.db_floor, settings.db_ceil) != (old.db_floor, old.db_ceil):
            self.history.set_levels(settings.db_floor, settings.db_ceil, self.value_mode)
            self._recolour()
        elif settings.colormap != old.colormap:
            self._recolour()
        if settings.orientation != old.orientation:
            self._layout_axes()

    def set_ui_scale(self, scale: float) -> None:
        """Fonts and widths at UI ``scale``: the colour bar and the time axis's width (which
        the activity strip matches)."""
        self.color_bar.scale = float(scale)
        self.color_bar.setFixedWidth(int(round(52 * scale)))
        self.canvas.set_axis_width(int(64 * scale))
        self.canvas.set_ui_scale(scale)  # also the theme's colours, applied just before
        self.color_bar.update()

    def displayed_image(self) -> np.ndarray:
        """The uint8 colour indices on screen, (n_rows, width), oldest column first."""
        if self.paused and self._frozen_codes is not None:
            return self._frozen_codes
        h = self.history
        start = self._shown_head % h.width
        return np.ascontiguousarray(h.image[:, start:start + h.width])

    def rendered_rgb(self) -> np.ndarray:
        """The image as drawn (colour map applied), (n_rows, width, 3) uint8, row 0 = lowest
        frequency."""
        return lookup_table(self.settings.colormap)[self.displayed_image()]

    def readout(self, x: float, y: float) -> Optional[str]:
        """Text for view coordinates ``x, y``: time (s), frequency and dB under that point."""
        h = self.history
        t, f = (y, x) if self.settings.orientation == "vertical" else (x, y)
        column = int(math.floor((t - self._x0) / h.column_seconds))
        row = int(math.floor(f))
        if not (0 <= row < h.rows.n_rows and 0 <= column < h.width):
            return None
        head = self._frozen_head if self.paused and self._frozen_db is not None else self._shown_head
        if head - h.width + column < 0:
            return None  # not written yet
        if self.paused and self._frozen_db is not None:
            db = float(self._frozen_db[row, column])
        else:
            db = float(h.db[row, (self._shown_head - h.width + column) % h.width])
        hz = float(h.rows.hz_at(row + 0.5))
        level = "floor" if not math.isfinite(db) else f"{db:.1f} dB"
        if self.value_mode == "power" and math.isfinite(db):
            level = f"{10.0 ** (db / 10.0):.3g} FS²  {level}"
        if h.params.calibration and math.isfinite(db):
            level += " (mic-corrected)"
        freq = f"{hz:.0f} Hz" if hz < 1000 else f"{hz / 1000:.3f} kHz"
        if self.paused and self.scrollback_time is not None:  # scroll-back: session time
            return f"t {t:.2f} s   f {freq}   {level}"
        return f"t {t:+.2f} s   f {freq}   {level}"

    # -- internals ------------------------------------------------------------------------------
    def _new_ring(self) -> None:
        h = self.history
        self._rgb = self._lut32[h.image]
        self.canvas.set_ring(self._rgb, h.width)
        self._shown_head = h.head
        self.canvas.set_offset(h.head % h.width, h.head - h.width)

    def _recolour(self) -> None:
        """The colours of every column drawn changed (levels, value mode or colour map)."""
        self._rgb[...] = self._lut32[self.history.image]
        if self.paused and self._frozen_db is not None:
            self._frozen_codes = self.history.quantize(self._frozen_db)
            self.canvas.freeze(self._lut32[self._frozen_codes])
        self.canvas.update_picture()
        self.color_bar.update()

    def _new_history(self, params: AnalysisParams, keep: bool = False,
                     first_frame: Optional[int] = None) -> None:
        """A history of new geometry; the picture drawn is kept (adopted, or re-mapped onto
        the new rows and column times) with a mark where the change happened."""
        s = self.settings
        old = self.history
        self.history = WaterfallHistory(params, s.scale, s.history, s.db_floor, s.db_ceil,
                                        self.value_mode)
        kept = self.history.adopt(old) if keep else 0
        if not kept:
            kept = self.history.remap(old, first_frame, what_changed(old, self.history))
        self.kept_columns = kept
        if not kept and old.head:
            # Nothing of the old picture fits the new rows (no frequency in common).
            self.picture_note.emit("the waterfall starts afresh: the new frequency range has "
                                   "nothing in common with what was drawn")
        self._frozen_db = self._frozen_codes = None  # a new geometry: the frozen picture goes
        self._frozen_head = 0
        self.canvas.freeze(None)
        self._clock.reset()
        self._new_ring()
        self._layout_axes()
        self._place_marks()
        h = self.history
        self.detector_marks.place(h.latest_time, h.width, h.column_seconds, h.rows.n_rows)
        self.draws += 1

    def _place_image(self) -> None:
        self.canvas.set_placement(self._x0, self.history.column_seconds)

    def _place_marks(self) -> None:
        """A dashed line with a note where the settings changed inside the picture, in the
        picture's column coordinates: they scroll with it for free, and are moved only when
        new columns arrive (InfiniteLines re-placed at every frame cost 1.7 ms)."""
        h = self.history
        first = self._shown_head - h.width
        shown = [(c, t) for c, t in h.marks if c > first]
        # Staggered lanes, so that notes of changes close in time do not overlap. In absolute
        # columns: they scroll with the picture, repainted only when one comes or goes.
        marks = [(int(c), note, i) for i, (c, note) in enumerate(shown)]
        if marks != self.canvas.change_marks:
            self.canvas.change_marks = marks
            self.canvas.update_picture()

    def _layout_axes(self) -> None:
        h = self.history
        span = h.width * h.column_seconds
        self.canvas.set_axes(h.rows, f"frequency, {h.rows.scale} scale (Hz)", "time (s)",
                             (-span, 0.0), self.settings.orientation == "vertical")
        if h.latest_time is None or self._display_time is None:
            self._x0 = -span
        else:
            self._x0 = h.latest_time - span - self._display_time
        self._place_image()
        self.color_bar.update()

