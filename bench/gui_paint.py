"""Where the GUI thread's time goes: the window in this process, per-view paint and tick costs.

    python -m bench.gui_paint [--seconds 10] [--size 1200x760] [--state paused|minimised]
                              [--generator pink@-20 | --pulse]

The window runs at issue 12's settings (n_fft 4096, hop 1024, mel, 10 s history, classifier
on) offscreen, on a generator (default) or, with ``--pulse``, on the PulseAudio default input
(start a virtual microphone first, see bench/audio.py). After 3 s of warm-up it counts, for
``--seconds``, the GUI thread's CPU time (``time.thread_time``) in each pyqtgraph view's paint,
the meters' paint, each window-level update request (all paints of one backing-store flush)
and the parts of the display tick. Per-call costs are CPU time, so they hold better than
whole-process figures on a loaded machine; the rates show what the load let the timer reach.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def time_calls(timers: dict, cls, name: str, label: str, per_view: bool = False) -> None:
    """Add the thread CPU time of each ``cls.name`` call to ``timers[label]`` (``per_view``:
    to the instance's own ``_bench_label`` if it has one: the paints of each view)."""
    orig = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        t = time.thread_time()
        try:
            return orig(self, *args, **kwargs)
        finally:
            entry = timers[(per_view and getattr(self, "_bench_label", None)) or label]
            entry[0] += 1
            entry[1] += time.thread_time() - t

    setattr(cls, name, wrapper)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gui_paint")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", default="1200x760", help="window size, px (WxH)")
    ap.add_argument("--state", choices=("normal", "paused", "minimised"), default="normal")
    ap.add_argument("--generator", default="pink@-20")
    ap.add_argument("--pulse", action="store_true", help="the PulseAudio default input")
    ns = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, REPO)
    import pyqtgraph as pg
    from PyQt6 import QtCore, QtWidgets

    from monitor.gui import (
        classifier_view,
        main_window,
        meters,
        overview,
        overview_canvas,
        plot_canvas,
        scope,
        spectrum,
        waterfall,
    )
    from monitor.gui import activity_strip, waterfall_canvas
    from monitor.gui.app import one_blas_thread
    from monitor.session import Session

    timers: dict = collections.defaultdict(lambda: [0, 0.0])
    time_calls(timers, pg.GraphicsView, "paintEvent", "paint (other plot)", per_view=True)
    time_calls(timers, meters.LevelMeters, "paintEvent", "paint meters")
    # The waterfall, the strip, the spectrum and the scope are plain QWidgets now.
    time_calls(timers, waterfall_canvas.WaterfallCanvas, "paintEvent", "paint waterfall")
    time_calls(timers, activity_strip.ActivityStrip, "paintEvent", "paint activity strip")
    time_calls(timers, overview_canvas.OverviewCanvas, "paintEvent", "paint overview")
    time_calls(timers, plot_canvas.PlotCanvas, "paintEvent", "paint (other canvas)", per_view=True)
    for cls, name in ((main_window.MainWindow, "update_status"),
                      (classifier_view.ClassifierView, "refresh"),
                      (classifier_view.ClassifierView, "_update"),
                      (overview.LiveOverview, "tick"), (waterfall.Waterfall, "push"),
                      (waterfall.Waterfall, "draw"), (spectrum.SpectrumView, "update_frame"),
                      (scope.ScopeView, "update_scope"), (meters.LevelMeters, "update_levels")):
        time_calls(timers, cls, name, f"  {cls.__name__}.{name}")
    # Inside those: the strip's placing and both scrolls (QWidget.scroll: the backing store's
    # pixels moved, qt_scrollRectInImage, which grows with the picture's area).
    for cls, name in ((activity_strip.ActivityStrip, "place"),
                      (activity_strip.ActivityStrip, "scroll"),
                      (waterfall_canvas.WaterfallCanvas, "scroll")):
        time_calls(timers, cls, name, f"    {cls.__name__}.{name}")
    one_blas_thread()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    source = {"device": "pulse", "samplerate": 48000} if ns.pulse else {"generator": ns.generator}
    session = Session({**source, "n_fft": 4096, "hop": 1024, "scale": "mel", "history": 10.0})
    session.open_classifier()
    session.start()
    orig_event = main_window.MainWindow.event

    def event(self, ev):
        if ev.type() != QtCore.QEvent.Type.UpdateRequest:
            return orig_event(self, ev)
        t = time.thread_time()
        try:
            return orig_event(self, ev)
        finally:
            entry = timers["update requests (all paints + flush)"]
            entry[0] += 1
            entry[1] += time.thread_time() - t

    main_window.MainWindow.event = event
    window = main_window.MainWindow(session)
    time_calls(timers, type(window), "tick", "tick (all its parts)")
    window.timer.timeout.disconnect()
    window.timer.timeout.connect(window.tick)  # the timed tick
    width, height = (int(v) for v in ns.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    for label, view in (("paint waterfall", window.waterfall.plot),
                        ("paint activity strip", window.activity_strip),
                        ("paint spectrum", getattr(window.spectrum, "plot", window.spectrum)),
                        ("paint scope", getattr(window.scope, "plot", window.scope))):
        if view is not None:
            view._bench_label = label

    if ns.state == "paused":
        window.set_paused(True)
    elif ns.state == "minimised":
        window.showMinimized()
    start = {}

    def begin():
        timers.clear()
        start.update(cpu=time.thread_time(), wall=time.monotonic())

    QtCore.QTimer.singleShot(3000, begin)
    QtCore.QTimer.singleShot(int(1000 * (3 + ns.seconds)), app.quit)
    app.exec()
    cpu, wall = time.thread_time() - start["cpu"], time.monotonic() - start["wall"]
    print(f"GUI thread {100 * cpu / wall:.1f} % of one core over {wall:.1f} s "
          f"(window {window.width()}×{window.height()}, {ns.state}, load {os.getloadavg()[0]:.1f})")
    ticks = timers["tick (all its parts)"][0]
    flushes = timers["update requests (all paints + flush)"][0]
    print(f"backing-store flushes (window update requests) per display tick: "
          f"{flushes / max(ticks, 1):.2f}")
    print(f"  {'part':40s} {'per s':>7s} {'ms/call':>8s} {'% core':>7s}")
    for label, (n, seconds) in sorted(timers.items(), key=lambda kv: -kv[1][1]):
        print(f"  {label:40s} {n / wall:7.1f} {1e3 * seconds / max(n, 1):8.3f} "
              f"{100 * seconds / wall:7.1f}")
    window.close()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
