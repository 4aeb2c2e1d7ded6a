"""cProfile of the GUI thread in CPU time, from some seconds after start, of the real app.

    python -m bench.gui_thread_profile [--after 10] -- MAIN.PY OPTIONS
    e.g. python -m bench.gui_thread_profile -- --generator pink --n-fft 4096 --hop 1024 \\
             --scale mel --history 10 --duration 30 --window-state minimised

Runs ``monitor.cli.main`` on this thread (offscreen unless ``QT_QPA_PLATFORM`` says
otherwise); the profile starts ``--after`` seconds after the window's first-picture timer is
set up (start-up excluded), uses ``time.thread_time`` (the machine's load does not inflate
it), and prints the GUI thread's CPU over the profiled span and the top entries by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gui_thread_profile")
    ap.add_argument("--after", type=float, default=10.0, help="s after start-up to begin")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("app", nargs="*", help="main.py options (after --)")
    ns = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtCore

    import monitor.gui.app as gui_app
    from monitor.cli import main as app_main

    prof = cProfile.Profile(time.thread_time)
    state = {"t0": None, "wall": None}

    def arm() -> None:
        state["t0"], state["wall"] = time.thread_time(), time.monotonic()
        prof.enable()

    real = gui_app.after_first_picture

    def after_first_picture(window):
        QtCore.QTimer.singleShot(int(ns.after * 1000), arm)
        return real(window)

    gui_app.after_first_picture = after_first_picture
    try:
        app_main(ns.app)
    finally:
        prof.disable()
        if state["t0"] is not None:
            cpu, wall = time.thread_time() - state["t0"], time.monotonic() - state["wall"]
            print(f"GUI thread: {cpu:.3f} s CPU over {wall:.1f} s ({1e3 * cpu / wall:.2f} ms/s)")
            pstats.Stats(prof).sort_stats("tottime").print_stats(ns.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
