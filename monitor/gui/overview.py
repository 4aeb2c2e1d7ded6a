"""The overview strip: the whole session so far as a long-term spectral average, under the
live waterfall, and the scroll-back it drives.

Each pixel column is a bin of :class:`monitor.dsp.ltsa.LTSA`: the mean (or, switched, the max)
of the display rows it covers, on the waterfall's frequency rows and colours. Classifier
events are orange ticks (watch-list alerts red), the RMS level a thin line on the colour
scale's dB range. In the live window it is drawn once the session outgrows the waterfall's
history (until then the waterfall shows all of it). Its cost per display frame is bounded
whatever the session's length: it is redrawn at most
:attr:`OverviewStrip.MAX_REDRAWS_PER_SECOND` times a second and only when a new bin of the
level drawn (or the width, levels, mode) changed; a redraw colours only the new bins, and at
most ``width`` bins are drawn (the LTSA's decimation levels).

Click or drag on it (or click an event in the classifier's event log): the main waterfall shows
that moment at full column resolution, read back from the session on disk (``--session``),
while capture goes on; the *live* button or End returns.

What is drawn, and how, is :mod:`monitor.gui.overview_canvas`: this module decides what the
strip shows (bins, levels, marks) and drives the scroll-back.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.dsp.features import FeatureBatch
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.dsp.ltsa import LTSA
from monitor.gui.overview_canvas import OverviewCanvas
from monitor.gui.theme import COLORS
from monitor.gui.waterfall import rgb32_table

__all__ = ["OverviewStrip", "ScrollBack", "scrollback_columns"]


class OverviewStrip(QtWidgets.QWidget):
    """The whole session as an LTSA strip, with a mean/max switch and a *live* button.

    Parameters
    ----------
    settings : Settings
        db_floor, db_ceil, colormap (as the waterfall).
    rows : FrequencyRows
        The waterfall's rows.
    frames_per_bin : int
        LTSA level-0 bin, frames.

    Signals
    -------
    time_chosen(float)
        Stream time (s) clicked or dragged to.
    live_requested()
        The *live* button or End.

    Attributes
    ----------
    ltsa, level_ltsa : LTSA
        The spectra and the RMS level (one row), by decimation levels.
    canvas : OverviewCanvas
        What is drawn.
    redraws : int
    """

    time_chosen = QtCore.pyqtSignal(float)
    live_requested = QtCore.pyqtSignal()

    MAX_REDRAWS_PER_SECOND = 4.0
    HEIGHT = 76

    def __init__(self, settings, rows: FrequencyRows, frames_per_bin: int = 64,
                 parent: Optional[QtWidgets.QWidget] = None, live: bool = True) -> None:
        super().__init__(parent)
        self.settings = settings
        self.frames_per_bin = int(frames_per_bin)
        self.mode = "mean"
        self.redraws = 0
        self.event_starts = np.zeros(0)  # stream times of the events' starts, s
        self.alert_times = np.zeros(0)  # stream times of the alerts, s
        self._lut32 = rgb32_table(settings.colormap)
        self._last_redraw = -math.inf
        self._drawn_key = None
        self._geometry = None  # what the pixel buffer's columns were coloured for
        self._pixels: Optional[np.ndarray] = None
        self._n_drawn = 0
        self._t_first: Optional[float] = None  # stream time of the LTSA's frame 0
        self._spf = 0.0
        self._live = live
        self.canvas = OverviewCanvas(self._picked)
        self.canvas.setToolTip("the whole session: mean (or max) spectrum per column; white "
                               "line: RMS level on the colour scale; orange: sound events, red: "
                               "alerts. Click or drag to see that moment; End or 'live' returns")
        self.mode_box = QtWidgets.QComboBox()
        self.mode_box.addItems(["mean", "max"])
        self.mode_box.setToolTip("each column: mean power or maximum of the spectra it covers")
        self.mode_box.currentTextChanged.connect(self.set_mode)
        self.live_button = QtWidgets.QToolButton()
        self.live_button.setText("live")
        self.live_button.setToolTip("back to the live waterfall (End)")
        self.live_button.clicked.connect(self.live_requested.emit)
        self.live_button.setVisible(live)
        self.session_button = QtWidgets.QToolButton()
        self.session_button.setText("● disk")
        self.session_button.setCheckable(True)
        self.session_button.setToolTip("write the session to a folder from now on (as --session)")
        self.session_button.setVisible(False)  # shown by LiveOverview
        self.message = QtWidgets.QLabel("")
        self.message.setStyleSheet(f"color: {COLORS['dim']}; font-size: 8pt;")
        side = QtWidgets.QVBoxLayout()
        side.setContentsMargins(2, 0, 2, 0)
        side.addWidget(self.mode_box)
        side.addWidget(self.live_button)
        side.addWidget(self.session_button)
        side.addStretch(1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        column = QtWidgets.QVBoxLayout()
        column.setSpacing(0)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.message)
        layout.addLayout(column, 1)
        layout.addLayout(side)
        self.setFixedHeight(self.HEIGHT)
        self.set_rows(rows)

    # -- data -------------------------------------------------------------------------------
    def set_rows(self, rows: FrequencyRows) -> None:
        """Start a new overview on ``rows`` (a new scale or analysis: the old bins do not fit)."""
        self.rows = rows
        self.ltsa = LTSA(rows.n_rows, self.frames_per_bin, keep_bins=drawable_bins())
        self.level_ltsa = LTSA(1, self.frames_per_bin)
        self._t_first = None
        self._next_frame = 0
        self._spf = rows.params.seconds_per_frame
        self._drawn_key = self._geometry = None
        self.canvas.set_rows(rows)
        self.canvas.set_level(None, None)
        self._draw_marks()

    def set_ltsa(self, ltsa: LTSA, level_ltsa: LTSA, t_first: float, rows: FrequencyRows) -> None:
        """Show a saved session's LTSA (the session browser)."""
        self.set_rows(rows)
        self.ltsa, self.level_ltsa, self._t_first = ltsa, level_ltsa, float(t_first)

    def push(self, batch: FeatureBatch, rows: Optional[np.ndarray] = None) -> None:
        """Add a batch's frames (``rows``: its display rows, when already computed)."""
        if not len(batch):
            return
        if batch.params != self.rows.params:
            new = FrequencyRows(batch.params, self.rows.scale)
            if new.n_rows == self.rows.n_rows and np.allclose(new.row_hz, self.rows.row_hz):
                self.rows = new  # the same rows (another window, say): the overview goes on
            else:
                self.set_rows(new)
        if self._t_first is None:
            self._t_first = float(batch.frame_times[0])
            self._next_frame = batch.first_frame
        # As on disk (monitor.session_store): frames skipped by the analysis (up to 10 min)
        # count as silence, a stream restarting from 0 continues the clock.
        gap = batch.first_frame - self._next_frame
        if 0 < gap <= 600.0 / self._spf:
            self.ltsa.push_silence(gap)
            self.level_ltsa.push_silence(gap)
        self.ltsa.push(self.rows.rows(batch) if rows is None else rows)
        self.level_ltsa.push(batch.rms_dbfs.reshape(-1, 1))
        self._next_frame = batch.first_frame + len(batch)

    def set_events(self, starts, alerts=()) -> None:
        """The events' start times and the alerts' times, stream seconds (sequences of float).

        Times only: a full event log (10 000 events) as ``(start, label)`` tuples took 4.8 ms
        a change, twice a second; as float arrays, 0.9 ms (the same loop, the same load)."""
        starts = np.asarray(starts, np.float64).reshape(-1)
        alerts = np.asarray(alerts, np.float64).reshape(-1)
        if not (np.array_equal(starts, self.event_starts)
                and np.array_equal(alerts, self.alert_times)):
            self.event_starts, self.alert_times = starts, alerts
            self._draw_marks()

    def time_span(self) -> tuple[float, float]:
        """Stream time (s) of the first and the last frame pushed."""
        t0 = self._t_first or 0.0
        return t0, t0 + self.ltsa.frames * self._spf

    # -- settings ---------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode in ("mean", "max") and mode != self.mode:
            self.mode = mode
            if self.mode_box.currentText() != mode:
                self.mode_box.setCurrentText(mode)
            self.refresh(force=True)

    def apply_settings(self, settings) -> None:
        self.settings = settings
        self._lut32 = rgb32_table(settings.colormap)
        self.refresh(force=True)

    def set_ui_scale(self, scale: float) -> None:
        """The axes' labels at UI ``scale`` (the colours follow the theme in force)."""
        self.canvas.set_ui_scale(scale)

    def show_cursor(self, t: Optional[float]) -> None:
        self.canvas.set_cursor(t)

    @property
    def cursor_time(self) -> Optional[float]:
        """Stream time (s) the cursor marks (the moment scrolled back to), or None."""
        return self.canvas.cursor

    @property
    def pixels(self) -> Optional[np.ndarray]:
        """The picture as drawn: (rows, bins) uint32 RGB32, row 0 the lowest; None: none yet."""
        return self.canvas.pixels

    # -- drawing ----------------------------------------------------------------------------
    def width_px(self) -> int:
        return max(16, int(self.canvas.plot_rect().width()) or 16)

    def refresh(self, now: Optional[float] = None, force: bool = False) -> bool:
        """Redraw if something changed and the budget allows; returns True if it redrew."""
        now = time.monotonic() if now is None else now
        if not force and now - self._last_redraw < 1.0 / self.MAX_REDRAWS_PER_SECOND:
            return False
        width = self.width_px()
        view = self.ltsa.view(width)
        if view is None:
            return False
        s = self.settings
        key = (view.level, len(view), width, self.mode, s.db_floor, s.db_ceil, s.colormap)
        if key == self._drawn_key and not force:
            return False
        self._last_redraw = now
        self._drawn_key = key
        self._draw(view)
        return True

    def _draw(self, view) -> None:
        s = self.settings
        # Fewer pixels than rows: each pixel row takes the max of its rows, or a narrow tone
        # would vanish (or not) by where Qt's nearest-neighbour scaling samples it.
        group = max(1, self.rows.n_rows // max(1, int(self.canvas.plot_rect().height())))
        geometry = (view.level, view.first_frame, self.mode, s.db_floor, s.db_ceil, s.colormap,
                    group, self.rows.n_rows)
        n = len(view)
        if geometry != self._geometry or self._pixels is None or n > self._pixels.shape[1] \
                or n < self._n_drawn:
            # A new level, range or colours: colour every bin (at most ``width``) anew.
            self._geometry = geometry
            capacity = max(n, self.width_px()) + 8
            self._pixels = np.zeros((-(-self.rows.n_rows // group), capacity), np.uint32)
            self._n_drawn = 0
        new = slice(self._n_drawn, n)  # the same level gained bins: colour only those
        db = view.mean_db[new] if self.mode == "mean" else view.max_db[new]
        x = (np.asarray(db, dtype=np.float32).T - np.float32(s.db_floor)) * np.float32(
            255.0 / (s.db_ceil - s.db_floor))
        np.nan_to_num(x, copy=False, nan=0.0, neginf=0.0)
        np.clip(x, 0.0, 255.0, out=x)
        codes = (x + 0.5).astype(np.uint8)
        if group > 1:
            codes = np.maximum.reduceat(codes, np.arange(0, codes.shape[0], group), axis=0)
        self._pixels[:, new] = self._lut32[codes]
        self._n_drawn = n
        pixels = self._pixels[:, :n]
        t0 = (self._t_first or 0.0) + view.first_frame * self._spf
        span = len(view) * view.frames_per_bin * self._spf
        self.canvas.set_image(pixels, QtCore.QRectF(t0, 0.0, span, self.rows.n_rows))
        lv = self.level_ltsa.view(len(view) + 1, view.first_frame,
                                  view.first_frame + len(view) * view.frames_per_bin)
        if lv is not None and lv.frames_per_bin == view.frames_per_bin:
            y = (np.asarray(lv.mean_db[:, 0], np.float64) - s.db_floor) / (s.db_ceil - s.db_floor)
            y = np.clip(np.nan_to_num(y, nan=0.0, neginf=0.0), 0.0, 1.0) * self.rows.n_rows
            xs = t0 + (np.arange(len(y)) + 0.5) * view.frames_per_bin * self._spf
            self.canvas.set_level(xs, y)
        first = self._t_first or 0.0
        self.canvas.set_x_range(first, max(t0 + span, first + 1e-3))
        self.redraws += 1

    def _draw_marks(self) -> None:
        n = self.rows.n_rows
        self.canvas.set_marks([
            (self.event_starts, 0.0, "accent", 1.0),
            (self.alert_times, 0.6 * n, "danger", 2.0),
        ])

    def rendered_rgb(self) -> Optional[np.ndarray]:
        """The strip as drawn, (n_rows, columns, 3) uint8, row 0 = lowest frequency."""
        p = self.pixels
        if p is None:
            return None
        return np.stack(((p >> 16) & 255, (p >> 8) & 255, p & 255), axis=-1).astype(np.uint8)

    # -- picking ----------------------------------------------------------------------------
    def _picked(self, t: float) -> None:
        t0, t1 = self.time_span()
        self.time_chosen.emit(float(min(max(t, t0), t1)))


def scrollback_columns(segment, history, end_time: float) -> Optional[np.ndarray]:
    """The columns of ``history``'s geometry (``width`` columns of ``merge`` frames, max)
    ending at stream time ``end_time`` (s), from a saved :class:`~monitor.session_store.Segment`:
    (n_rows, width) dBFS, oldest first, ``-inf`` where nothing was stored. None when the
    segment's rows are not the history's."""
    rows = history.rows
    if (segment.scale != rows.scale or segment.n_rows != rows.n_rows
            or not history.same_rows(segment.params)):
        return None
    merge, width = history.merge, history.width
    # Frames of a segment are contiguous (frame i starts at times[0] + i · hop / rate): a time
    # past its end or before its start is padded with empty columns, so each stays at its time.
    times = segment.times()
    spf = segment.params.seconds_per_frame
    i1 = int(np.floor((end_time - float(times[0])) / spf + 1e-6)) if len(times) else 0
    i0 = i1 - merge * width
    lo = min(max(i0, 0), i1)
    hi = max(min(i1, segment.frames), lo)
    db = segment.db(lo, hi) if hi > lo else np.zeros((0, segment.n_rows), np.float32)
    db = np.concatenate((np.full((lo - i0, segment.n_rows), -np.inf, np.float32), db,
                         np.full((i1 - hi, segment.n_rows), -np.inf, np.float32)))
    db = db.reshape(width, merge, segment.n_rows).max(axis=1)
    return np.ascontiguousarray(db.T)


class ScrollBack:
    """Shows a moment of a saved (or still growing) session in a :class:`Waterfall` at full
    column resolution.

    Parameters
    ----------
    waterfall : Waterfall
    reader : callable
        Returns the :class:`~monitor.session_store.SessionReader` (None: no session on disk).
    """

    def __init__(self, waterfall, reader: Callable) -> None:
        self.waterfall = waterfall
        self._reader = reader
        self.time: Optional[float] = None

    def show_at(self, t: float) -> Optional[str]:
        """Centre the waterfall on stream time ``t`` (s); returns why not, or None."""
        reader = self._reader()
        if reader is None:
            return "scroll-back reads the session on disk: start with --session DIR"
        reader.refresh()
        h = self.waterfall.history
        span = h.width * h.column_seconds
        for seg in reader.segments:
            times = seg.times()
            if not len(times) or not (times[0] - span / 2 <= t <= times[-1] + span / 2):
                continue
            end = min(t + span / 2, float(times[-1]) + seg.params.seconds_per_frame)
            end = max(end, float(times[0]) + span)
            cols = scrollback_columns(seg, h, end)
            if cols is None:
                return "this part of the session was stored with other frequency rows"
            self.waterfall.show_columns(cols, end)
            self.time = t
            return None
        return "nothing stored at that time yet"

    def live(self) -> None:
        self.time = None
        self.waterfall.set_paused(False)


_NO_SESSION = "scroll-back reads a session on disk: --session DIR or ● disk"


MAX_KEEP_BINS = 4096  # the LTSA's own default: any width up to 4096 px
MIN_KEEP_BINS = 1024


def drawable_bins() -> int:
    """Bins a level of the strip's LTSA keeps: the widest virtual desktop's width in pixels
    (the strip is never wider, and it only draws the finest level with at most its width of
    bins), between :data:`MIN_KEEP_BINS` and :data:`MAX_KEEP_BINS`.

    The LTSA holds up to ``2 · keep_bins`` bins of ``n_rows`` float32 means and maxima:
    with 4096 at the default settings (log axis, 512 rows, a bin every 0.68 s) that was 32 MiB
    of RSS, filled at 0.69 MiB/min over the first 47 minutes (the soak's slope); on a 1920 px
    desktop it is 1920 bins, 15 MiB, reached after 22 minutes (then between 7.5 and 15), and
    the pictures are the same.
    """
    screens = QtGui.QGuiApplication.screens()
    width = max((s.virtualSize().width() for s in screens), default=MAX_KEEP_BINS)
    return max(MIN_KEEP_BINS, min(MAX_KEEP_BINS, int(width)))


class LiveOverview:
    """The overview strip of the main window, with its scroll-back: what the window constructs
    (one line), lays out (``.strip``) and calls from its tick (:meth:`tick`).

    Parameters
    ----------
    window : MainWindow
        Uses its ``waterfall``, ``session`` and ``set_paused``.
    session_dir : str or None
        The session being written (``--session``): scroll-back reads it.
    """

    def __init__(self, window, session_dir: Optional[str] = None) -> None:
        self.window = window
        self.session_dir = session_dir
        self.strip = OverviewStrip(window.settings, window.waterfall.rows)
        self.scroll = ScrollBack(window.waterfall, self._reader)
        self._session_reader = None
        self._events_mark = None  # the classifier's snapshot last looked at
        self._events_key = None
        self.strip.time_chosen.connect(self.show_at)
        self.strip.live_requested.connect(self.live)
        self._end = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_End), window,
                                    activated=self.live)
        if session_dir is None:
            self.strip.message.setText(_NO_SESSION)
        self._event_table = None
        self._writer = None  # a session started from the window (the button)
        self.strip.session_button.setVisible(True)
        self.strip.session_button.setChecked(session_dir is not None)
        self.strip.session_button.setEnabled(session_dir is None)  # --session runs to the end
        self.strip.session_button.toggled.connect(self._session_toggled)

    def _session_toggled(self, on: bool) -> None:
        if on and self._writer is None:
            folder = QtWidgets.QFileDialog.getExistingDirectory(
                self.window, "Write the session to a new or empty folder")
            if not folder or self.start_session(folder) is not None:
                self.strip.session_button.setChecked(False)
        elif not on and self._writer is not None:
            self.stop_session()

    def start_session(self, directory: str) -> Optional[str]:
        """Write the session to ``directory`` from now on, as ``--session`` does (the level
        log only with ``--level-log``/``--session`` at start: the audio taps are fixed then).
        Returns why not, or None."""
        from monitor.errors import ParameterError
        from monitor.run_outputs import RunOutputs
        from monitor.session_store import SessionWriter

        w = self.window
        if w.outputs is not None and w.outputs.writer is not None:
            return "a session is already being written"
        try:
            writer = SessionWriter(directory, w.session.settings, problems=w.session.problems,
                                   classifier=w.session.classifier)
        except ParameterError as exc:
            self.strip.message.setText(str(exc))
            return str(exc)
        if w.outputs is None:
            w.outputs = RunOutputs(writer, None)
        else:
            w.outputs.writer = writer
        self._writer = writer
        self.session_dir, self._session_reader = directory, None
        self.strip.message.setText(f"writing the session to {directory}")
        if not self.strip.session_button.isChecked():
            self.strip.session_button.setChecked(True)
        return None

    def stop_session(self) -> None:
        """Stop writing the session started by :meth:`start_session` (it stays readable)."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if self.window.outputs is not None and self.window.outputs.writer is writer:
            self.window.outputs.writer = None
        writer.close()
        self.strip.message.setText(f"session written to {writer.directory}")
        if self.strip.session_button.isChecked():
            self.strip.session_button.setChecked(False)

    def connect_event_log(self, table) -> None:
        """A click on a row of the classifier's event log (its stream-time cell reads
        ``m:ss.ss``) shows that event in the waterfall."""
        self._event_table = table
        table.cellClicked.connect(self._event_clicked)

    def _event_clicked(self, row: int, _column: int) -> None:
        table = self._event_table
        titles = [table.horizontalHeaderItem(c).text() if table.horizontalHeaderItem(c) else ""
                  for c in range(table.columnCount())]
        column = titles.index("stream t") if "stream t" in titles else 0
        item = table.item(row, column)
        t = _parse_clock(item.text()) if item is not None else None
        if t is not None:
            self.show_at(t)

    def _reader(self):
        if self.session_dir is None:
            return None
        if self._session_reader is None:
            from monitor.session_store import SessionReader

            try:
                self._session_reader = SessionReader(self.session_dir)
            except Exception:  # noqa: BLE001 - not written yet
                return None
        return self._session_reader

    def tick(self, batches, now: float, draw: bool = True) -> None:
        """Take the tick's batches; redraw within the budget (``draw``: the window shows; a
        minimised one takes the batches in and redraws at its first tick shown with a batch)."""
        wf = self.window.waterfall
        if wf.rows is not self.strip.rows and (wf.rows.scale != self.strip.rows.scale
                                                or wf.rows.params != self.strip.rows.params):
            self.strip.set_rows(wf.rows)
        for batch in batches:
            self.strip.push(batch)
        classifier = self.window.session.classifier
        if classifier is not None and draw:  # the marks of a minimised window: when shown
            snap = classifier.snapshot  # one immutable snapshot: its lists change with it
            if snap is not self._events_mark:
                self._events_mark = snap
                events, alerts = snap.events, snap.alerts
                mark = (len(events), len(alerts), events[-1] if events else None)
                if mark != self._events_key:  # the lists are rebuilt only when they changed
                    self._events_key = mark
                    self.strip.set_events([e.start for e in events], [a.time for a in alerts])
        if not batches or not draw:
            return  # no new frame: no new bin to draw (or the window is minimised)
        # While the whole session still fits in the waterfall, the overview would only repeat
        # it (stretched): it is drawn once the session outgrows the waterfall's history.
        t0, t1 = self.strip.time_span()
        h = wf.history
        span = h.width * h.column_seconds
        if t1 - t0 > span:
            self.strip.refresh(now)
        elif self.strip.canvas.is_empty:
            self.strip.canvas.set_empty_text(_waiting_text(span))

    def apply_settings(self, settings) -> None:
        self.strip.apply_settings(settings)

    def show_at(self, t: float) -> None:
        why = self.scroll.show_at(t)
        self.strip.show_cursor(t if why is None else None)
        self.strip.message.setText(why or f"showing {_clock(t)}; End or 'live' returns")

    def live(self) -> None:
        self.scroll.live()
        self.window.set_paused(False)
        self.strip.show_cursor(None)
        self.strip.message.setText("" if self.session_dir else _NO_SESSION)


def _parse_clock(text: str) -> Optional[float]:
    """``'m:ss.ss'`` (or ``'h:mm:ss'``) → seconds; None if it is not a time."""
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        return None
    t = 0.0
    for p in parts:
        t = 60.0 * t + p
    return t


def _waiting_text(history_seconds: float) -> str:
    """What the strip says until the session outgrows the waterfall's ``history_seconds``."""
    span = (f"{history_seconds:.0f} s" if history_seconds < 120
            else f"{history_seconds / 60:.0f} min")
    return f"the whole session is drawn here once it is longer than the waterfall's {span}"


def _clock(t: float) -> str:
    s = int(round(t))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
