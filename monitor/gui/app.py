"""The window's way in: the Qt application, signals, the session and ``--screenshot``."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time

from PyQt6 import QtCore, QtWidgets

from monitor.errors import ParameterError
from monitor.gui.main_window import MainWindow
from monitor.gui.screen_fit import fit_to_screen
from monitor.gui.screenshot import save_screenshot
from monitor.run_outputs import RunOutputs
from monitor.session import Session
from monitor.settings_store import SettingsStore
from monitor.threads import one_blas_thread

__all__ = ["run_gui"]

PROG = "spectromon"


_QT_NOISE = ("This plugin does not support propagateSizeHints()",
             "This plugin does not support raise()")


def _qt_message(mode, context, message: str) -> None:
    """Qt's messages on stderr as usual, minus the offscreen plugin's harmless notice that
    would otherwise greet every --screenshot run."""
    if message in _QT_NOISE:
        return
    print(message, file=sys.stderr)


def _no_display() -> bool:
    """True when Qt would abort for want of a display (Linux/BSD without X11 or Wayland)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def run_gui(given: dict, ns: argparse.Namespace) -> int:
    """Run the window; returns the exit code.

    ``given`` holds the Settings fields of the command line; they are laid over the saved
    settings. A :class:`ParameterError` from opening the source propagates before any window
    is shown (the command line prints it and exits 2).
    """
    if _no_display():
        print(f"{PROG}: error: no display (DISPLAY/WAYLAND_DISPLAY unset); use --headless, or "
              f"QT_QPA_PLATFORM=offscreen for --screenshot", file=sys.stderr)
        return 2
    QtCore.qInstallMessageHandler(_qt_message)
    one_blas_thread()
    one_malloc_arena()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName(PROG)
    app.setOrganizationName(PROG)
    app.setDesktopFileName(PROG)  # the window belongs to spectromon.desktop (icon, name)
    # SIGINT/SIGTERM/SIGHUP close the window; one arriving while starting up ends the run as soon as
    # the window exists (and never leaves the audio running).
    stop_requested = {"window": None, "stop": False}

    def on_signal(*_args) -> None:
        stop_requested["stop"] = True
        if stop_requested["window"] is not None:
            stop_requested["window"].close()

    # SIGHUP (the terminal closed) is a request to stop like the others, not a crash.
    previous = {s: signal.signal(s, on_signal)
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        return _run_window(app, given, ns, stop_requested)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        # Qt still talks while it unloads plugins at exit, when Python can no longer run a
        # handler (a crash under QT_DEBUG_PLUGINS): give the messages back to Qt first.
        QtCore.qInstallMessageHandler(None)


_M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def one_malloc_arena() -> bool:
    """Let every thread allocate from glibc's main heap (``mallopt(M_ARENA_MAX, 1)``; before
    any thread starts). True if set (glibc only).

    glibc gives a thread that allocates while another holds the heap an arena of its own
    (64 MiB reserved) and keeps what it freed there. The model loaded on its thread
    (monitor.classifier.deferred_model) left 14 MiB more RSS that way (211.0 against 197.4 MiB
    with MALLOC_ARENA_MAX=1, ``python -m bench.memory_map``); the threads here allocate
    little, so sharing one heap costs nothing measurable.
    """
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    try:
        # The process's own symbols hold libc's (find_library would run ldconfig: 10-20 ms).
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def freeze_startup_objects() -> None:
    """Move everything made while starting (Qt wrappers, numpy, the model, pyqtgraph) out of
    the garbage collector's sight: a full collection then scans only what came later.

    A full ``gc.collect()`` with the window and the model loaded took a median 29 ms (max 52 ms)
    over 62,000 tracked objects, holding the GIL the audio callback needs; after
    ``gc.freeze()`` it took under 0.01 ms (measured with 1280×800 offscreen, pink noise).
    """
    gc.collect()
    gc.freeze()


FIRST_PICTURE_WAIT = 2.0  # s: what waits for the first picture runs after this at the latest


def after_first_picture(window) -> QtCore.QTimer:
    """Once the window has drawn its first column (or after :data:`FIRST_PICTURE_WAIT` s):
    start loading a deferred classifier model (:mod:`monitor.classifier.deferred_model`) and
    :func:`freeze_startup_objects` (its 30-50 ms collection was on the way to the first
    picture); again once the model is loaded, so that its objects are frozen too.

    Returns the polling timer (it stops itself)."""
    model = getattr(window.session.classifier, "model", None)
    deferred = model is not None and bool(getattr(model, "loading", False))
    timer = QtCore.QTimer(window)
    started = time.monotonic()
    state = {"drawn": False}

    def poll() -> None:
        if not state["drawn"]:
            if (window.run_stats.first_column_epoch is None
                    and time.monotonic() - started < FIRST_PICTURE_WAIT):
                return
            state["drawn"] = True
            if deferred:
                model.start()
            else:
                timer.stop()
            freeze_startup_objects()
        elif not model.loading:
            timer.stop()
            freeze_startup_objects()

    timer.timeout.connect(poll)
    timer.start(20)
    return timer


def _run_window(app: QtWidgets.QApplication, given: dict, ns: argparse.Namespace,
                stop_requested: dict) -> int:
    store = SettingsStore()
    if getattr(ns, "reset_settings", False):
        store.clear()
    record = getattr(ns, "record", None)
    # The demo recording stands in for a missing input only when nothing is recorded: a
    # recording of the demo would be a file of the wrong sound.
    session = Session(given, store.load(), record=record, allow_demo=record is None)
    if getattr(ns, "save_clips", None):
        from monitor.clips import AlertClips

        session.clips = AlertClips(ns.save_clips)
    outputs = None
    try:
        # The packaged model loads once the first picture is drawn (--screenshot: now, for the
        # same picture on every machine): it was 0.38 s of a 1.98 s start.
        session.open_classifier(defer=not getattr(ns, "screenshot", None))
        session.open_measurement()  # a bad --calibration file: exit 2 before any window
        outputs = RunOutputs.from_options(ns, session)
        session.start()
    except BaseException:
        if outputs is not None:
            outputs.close()
        session.close()
        raise
    for p in reversed(session.problems.items()):
        print(f"{PROG}: {p.text}", file=sys.stderr)
    window = MainWindow(session, store=store, outputs=outputs)
    screenshot = getattr(ns, "screenshot", None)
    duration = getattr(ns, "duration", None)
    geometry = store.value("geometry", None)
    restored = (not screenshot and isinstance(geometry, QtCore.QByteArray)
                and window.restoreGeometry(geometry))
    if screenshot:
        window.resize(1280, 800)  # the same picture on every machine
    else:
        fit_to_screen(window, restored=bool(restored))
    result = {"code": 0}

    def finish() -> None:
        if screenshot:
            try:
                save_screenshot(window, screenshot)
            except ParameterError as exc:
                print(f"{PROG}: error: {exc}", file=sys.stderr)
                result["code"] = 2
        window.close()

    if duration is not None:
        QtCore.QTimer.singleShot(int(duration * 1000), finish)
    # Python runs signal handlers only between bytecodes: a timer gives it the chance.
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    stop_requested["window"] = window
    model_timer = None
    try:
        if not stop_requested["stop"]:
            state = getattr(ns, "window_state", None)
            if state == "paused":
                window.set_paused(True)
            {"full-screen": window.showFullScreen,
             "minimised": window.showMinimized}.get(state, window.show)()
            # Without a window manager (a bare X server, a kiosk) nothing gives the new window
            # the keyboard focus, and Space/F11 would do nothing.
            window.raise_()
            window.activateWindow()
            model_timer = after_first_picture(window)  # the model, the gc freeze
            # A signal while the window opened has closed it already: exec() would then wait
            # for a window that never closes.
            if not stop_requested["stop"]:
                app.exec()
    finally:
        wake.stop()
        if model_timer is not None:
            model_timer.stop()
        stop_requested["window"] = None
        window.run_stats.write(window)
        window.close()
        session.close()  # the audio has stopped: the worker's last batches are all there
        outputs = window.outputs  # also a session started from the window
        if outputs is not None and session.pipeline is not None:
            for batch in session.pipeline.worker.drain():  # analysed after the last tick
                outputs.add(batch)
        if outputs is not None:
            outputs.close()
    return result["code"]
