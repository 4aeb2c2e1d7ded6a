"""``spectromon --open DIR``: browse a saved session in a window, without an input.

The window holds the same waterfall and overview strip as the live one: the overview covers the
whole session (the LTSA levels stored with it, memory-mapped, so opening costs ``O(width)``
whatever the length); click or drag on it, or use Left/Right (half a waterfall) and Home/End,
to show a moment in the waterfall at full column resolution. The cursor readout gives session
time, frequency and dB. A session still being written can be opened too (it shows what is on
disk; F5 reads it again).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from typing import Optional

from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.errors import ParameterError
from monitor.gui.overview import OverviewStrip, ScrollBack
from monitor.gui.theme import apply_theme
from monitor.gui.waterfall import Waterfall
from monitor.session_store import SessionReader
from monitor.settings import Settings

__all__ = ["SessionBrowser", "browse_settings", "run_browser"]

PROG = "spectromon"
_DISPLAY = ("history", "db_floor", "db_ceil", "colormap", "orientation")


def browse_settings(saved: dict, scale: str) -> Settings:
    """Display settings of a saved session (its scale, history, dB range, colours)."""
    base = Settings()
    fields = {f.name: type(getattr(base, f.name)) for f in dataclasses.fields(base)}
    changes = {}
    for k in _DISPLAY:
        if k in saved and saved[k] is not None:
            try:
                changes[k] = fields[k](saved[k])
            except (TypeError, ValueError):
                pass
    try:
        return dataclasses.replace(base, scale=scale, **changes)
    except (ValueError, ParameterError):
        return dataclasses.replace(base, scale=scale)


class SessionBrowser(QtWidgets.QMainWindow):
    """A window on a saved session.

    Parameters
    ----------
    reader : SessionReader

    Attributes
    ----------
    waterfall : Waterfall
    overview : OverviewStrip
    scroll : ScrollBack
    segment : Segment
        The segment shown (the longest).
    """

    def __init__(self, reader: SessionReader, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        apply_theme(QtWidgets.QApplication.instance())
        self.reader = reader
        segment = reader.main_segment()
        if segment is None or segment.frames == 0:
            raise ParameterError(f"--open: {reader.directory} holds no analysed frames yet")
        self.segment = segment
        self.settings = browse_settings(reader.settings, segment.scale)
        self.waterfall = Waterfall(self.settings, segment.params)
        self.overview = OverviewStrip(self.settings, self.waterfall.rows, live=False)
        self.scroll = ScrollBack(self.waterfall, lambda: self.reader)
        self.cursor_label = QtWidgets.QLabel("")
        self.waterfall.cursor_moved.connect(self.cursor_label.setText)
        self.overview.time_chosen.connect(self.show_at)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.waterfall, 1)
        layout.addWidget(self.overview)
        layout.addWidget(self.cursor_label)
        self.setCentralWidget(central)
        self.setWindowTitle(f"{reader.directory} — spectromon session")
        keys = {QtCore.Qt.Key.Key_Left: lambda: self.step(-0.5),
                QtCore.Qt.Key.Key_Right: lambda: self.step(0.5),
                QtCore.Qt.Key.Key_Home: lambda: self.show_at(self.span()[0]),
                QtCore.Qt.Key.Key_End: lambda: self.show_at(self.span()[1]),
                QtCore.Qt.Key.Key_F5: self.reload}
        self._shortcuts = [QtGui.QShortcut(QtGui.QKeySequence(k), self, activated=f)
                           for k, f in keys.items()]
        self.time: Optional[float] = None
        self.reload()
        t0, _ = self.span()
        self.show_at(t0 + self.waterfall_span() / 2)

    def span(self) -> tuple[float, float]:
        """Stream time (s) of the first and the last stored frame."""
        times = self.segment.times()
        return float(times[0]), float(times[-1]) + self.segment.params.seconds_per_frame

    def waterfall_span(self) -> float:
        h = self.waterfall.history
        return h.width * h.column_seconds

    def reload(self) -> None:
        """Read the session's overview (and events) again from disk."""
        self.reader.refresh()
        seg = self.segment
        self.overview.set_ltsa(seg.ltsa(), seg.ltsa("rms-"), float(seg.times()[0]),
                               self.waterfall.rows)
        self.overview.set_events([e[0] for e in self.reader.events()])
        self.overview.refresh(force=True)

    def show_at(self, t: float) -> Optional[str]:
        """Show stream time ``t`` (s) in the middle of the waterfall; returns why not, or None."""
        why = self.scroll.show_at(t)
        if why is None:
            self.time = t
            self.overview.show_cursor(t)
        self.overview.message.setText(why or "")
        return why

    def step(self, fraction: float) -> None:
        if self.time is not None:
            t0, t1 = self.span()
            self.show_at(min(max(self.time + fraction * self.waterfall_span(), t0), t1))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        QtCore.QTimer.singleShot(0, lambda: self.overview.refresh(force=True))


def run_browser(directory: str, ns: argparse.Namespace) -> int:
    """The ``--open DIR`` window; returns the exit code (``--duration``/``--screenshot`` apply)."""
    from monitor.gui.app import _no_display, _qt_message

    reader = SessionReader(directory)  # ParameterError: one line, exit code 2
    if _no_display():
        print(f"{PROG}: error: no display (DISPLAY/WAYLAND_DISPLAY unset); QT_QPA_PLATFORM="
              f"offscreen for --screenshot", file=sys.stderr)
        return 2
    QtCore.qInstallMessageHandler(_qt_message)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    window = SessionBrowser(reader)
    window.resize(1280, 640)
    screenshot, duration = getattr(ns, "screenshot", None), getattr(ns, "duration", None)
    result = {"code": 0}

    def finish() -> None:
        if screenshot and not window.grab().save(screenshot):
            print(f"{PROG}: error: cannot write the screenshot {screenshot!r}", file=sys.stderr)
            result["code"] = 2
        window.close()

    if duration is not None:
        QtCore.QTimer.singleShot(int(duration * 1000), finish)
    # SIGINT/SIGTERM close the window; Python runs handlers between bytecodes: a timer wakes it.
    previous = {s: signal.signal(s, lambda *_: window.close())
                for s in (signal.SIGINT, signal.SIGTERM)}
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        window.show()
        app.exec()
    finally:
        wake.stop()
        for s, h in previous.items():
            signal.signal(s, h)
        QtCore.qInstallMessageHandler(None)
    return result["code"]
