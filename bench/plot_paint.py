"""The spectrum, scope and level meters alone: CPU time per update and per paint, or
instructions per frame (load-independent), at the window's sizes.

    python -m bench.plot_paint [--frames 600] [--scale mel] [--ui-scale 1]
    python -m bench.plot_paint --instructions [--frames 300]   # valgrind, ~2 min
    cd OTHER_TREE && python /path/to/bench/plot_paint.py      # that tree's views

The three views are built as the window builds them (495×181, 279×181 and 104×655 px, issue
12's analysis: n_fft 4096, hop 1024) in one offscreen top-level window and fed real frames
(:class:`~monitor.dsp.features.FeatureExtractor` on pink noise at -20 dBFS), 30 per second of
simulated time. Each frame calls ``update_frame``, ``update_scope`` and ``update_levels``, then
lets Qt deliver the update requests (the paints and the backing-store flush). Printed per call:
thread CPU time (``time.thread_time``) of each update, of each view's paint and of each update
request of the window (all paints + flush). Runs on any checkout with these three classes
(before and after the QPainter views), so two trees can be compared on the same load.

``--instructions``: the same loop under ``valgrind --tool=cachegrind`` with N frames and with
none; the difference / N is the instructions per frame of updates + paints + flushes.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import time

from bench.gui_paint import time_calls as _timer  # one timer for both benches

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {"spectrum": (495, 181), "scope": (279, 181), "meters": (104, 655)}


def run(frames: int, scale: str, ui_scale: float, timed: bool = True,
        only: str = "") -> dict:
    """Build the views, feed ``frames`` frames (to ``only`` that view if given); return
    {label: [calls, seconds]}."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, os.getcwd())
    import numpy as np
    import pyqtgraph as pg
    from PyQt6 import QtCore, QtWidgets

    from monitor.dsp.features import FeatureExtractor
    from monitor.dsp.frequency_rows import FrequencyRows
    from monitor.gui import meters, scope, spectrum
    from monitor.gui.theme import apply_theme
    from monitor.settings import Settings
    from monitor.sources import GeneratorSource
    from monitor.worker import AnalysisParams

    timers: dict = collections.defaultdict(lambda: [0, 0.0])
    if timed:
        _timer(timers, pg.GraphicsView, "paintEvent", "paint (other)", per_view=True)
        for cls in (spectrum.SpectrumView, scope.ScopeView, meters.LevelMeters):
            _timer(timers, cls, "paintEvent", "paint (other)", per_view=True)
        _timer(timers, spectrum.SpectrumView, "update_frame", "SpectrumView.update_frame")
        _timer(timers, scope.ScopeView, "update_scope", "ScopeView.update_scope")
        _timer(timers, meters.LevelMeters, "update_levels", "LevelMeters.update_levels")
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    apply_theme(app, "dark", 1.0)
    settings = Settings(n_fft=4096, hop=1024, scale=scale)
    params = AnalysisParams.from_settings(settings, 48000)
    rows = FrequencyRows(params, scale)
    views = {"spectrum": spectrum.SpectrumView(settings, rows),
             "scope": scope.ScopeView(settings), "meters": meters.LevelMeters(settings)}
    class Top(QtWidgets.QWidget):
        def event(self, ev):
            if ev.type() != QtCore.QEvent.Type.UpdateRequest or not timed:
                return super().event(ev)
            t = time.thread_time()
            try:
                return super().event(ev)
            finally:
                entry = timers["update requests (all paints + flush)"]
                entry[0] += 1
                entry[1] += time.thread_time() - t

    top = Top()
    for name, view in views.items():
        view.setParent(top)
        view.setGeometry(QtCore.QRect(QtCore.QPoint(0, 0), QtCore.QSize(*SIZES[name])))
        getattr(view, "plot", view)._bench_label = f"paint {name}"
    views["scope"].move(500, 0)
    views["meters"].move(790, 0)
    for name in ("spectrum", "scope"):
        views[name].set_ui_scale(ui_scale)
    top.resize(900, 660)
    top.show()
    for _ in range(3):
        app.processEvents()

    gen = GeneratorSource("pink@-20", 48000)
    ex = FeatureExtractor(params)
    hop = params.hop
    audio = gen.render(hop * (frames + 8) + params.n_fft)[:, 0]
    batch = ex.process(audio)
    db = rows.rows(batch)
    scope_n = int(48000 * settings.scope_ms / 1000)
    timers.clear()
    for i in range(frames):
        now = i / 30.0
        frame = db[i % len(db)]
        if only in ("", "spectrum"):
            views["spectrum"].update_frame(frame, now)
        end = (i + 1) * hop + params.n_fft
        if only in ("", "scope"):
            # a new array each frame, like the worker's swapped scope buffer
            views["scope"].update_scope(np.array(audio[max(0, end - scope_n):end]), 48000.0)
        if only in ("", "meters"):
            chunk = audio[end - hop:end]
            peak = 20 * np.log10(max(float(np.abs(chunk).max()), 1e-10))
            rms = 20 * np.log10(max(float(np.sqrt(np.mean(chunk ** 2))), 1e-10))
            views["meters"].update_levels(peak, rms, now, 0, None)
        app.processEvents()
        app.processEvents()  # a QGraphicsScene posts its update a turn later
    top.close()
    return timers


def _instructions(frames: int, scale: str, ui_scale: float, only: str = "") -> int:
    def count(n: int) -> int:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
               "--cachegrind-out-file=/dev/null", sys.executable, os.path.abspath(__file__),
               "--loop", str(n), "--scale", scale, "--ui-scale", str(ui_scale),
               "--only", only]
        env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1",
                   QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.getcwd())
        out = subprocess.run(cmd, cwd=os.getcwd(), env=env, capture_output=True, text=True,
                             check=True).stderr
        return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))

    return (count(frames) - count(0)) // max(frames, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.plot_paint")
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--scale", default="mel", choices=("linear", "log", "mel"))
    ap.add_argument("--ui-scale", type=float, default=1.0)
    ap.add_argument("--instructions", action="store_true")
    ap.add_argument("--only", default="", choices=("", "spectrum", "scope", "meters", "none"),
                    help="update and paint only this view (the others stay still); none: "
                         "the loop's own cost (Qt's event processing with nothing to paint)")
    ap.add_argument("--loop", type=int, default=None, help=argparse.SUPPRESS)
    ns = ap.parse_args(argv)
    if ns.loop is not None:
        run(ns.loop, ns.scale, ns.ui_scale, timed=False, only=ns.only)
        return 0
    if ns.instructions:
        per = _instructions(ns.frames, ns.scale, ns.ui_scale, ns.only)
        print(f"{os.getcwd()}: {per / 1e6:.2f} M instructions per frame "
              f"({ns.only or 'all three views'}: updates + paints + flushes; {ns.scale}, "
              f"UI scale {ns.ui_scale})")
        return 0
    timers = run(ns.frames, ns.scale, ns.ui_scale, only=ns.only)
    print(f"{os.getcwd()}: {ns.frames} frames, {ns.scale}, UI scale {ns.ui_scale}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  {'part':40s} {'calls':>6s} {'ms/call':>8s}")
    for label, (n, seconds) in sorted(timers.items(), key=lambda kv: -kv[1][1]):
        print(f"  {label:40s} {n:6d} {1e3 * seconds / max(n, 1):8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
