"""The whole app, two checkouts alternated: process and per-thread CPU, before and after.

    python -m bench.app_ab BEFORE_DIR [--seconds 25] [--repeats 3] [--screen 1216x800]
                           [-- EXTRA APP OPTIONS]

``BEFORE_DIR`` is another checkout of the project (e.g. ``git worktree add /tmp/before
main``); "after" is this one. Each repeat runs before then after, ``main.py`` at issue 12's
settings on a private virtual microphone, measured as :mod:`bench.app` measures (psutil,
per-thread CPU by OS thread name, warm-up and tail excluded). Alternating makes drifts in the
machine's load hit both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from bench import app
from bench.audio import VirtualMic, programme


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.app_ab")
    ap.add_argument("before", help="the other checkout's directory")
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--screen", default="1216x800", help="offscreen screen, px (WxH)")
    ap.add_argument("extra", nargs="*", help="more options for main.py (after --)")
    ns = ap.parse_args(argv)
    screen = tuple(int(v) for v in ns.screen.lower().split("x"))
    trees = {"before": os.path.abspath(ns.before), "after": app.REPO}
    runs: dict = {name: [] for name in trees}
    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        for i in range(ns.repeats):
            for name, tree in trees.items():
                cmd = [sys.executable, os.path.join(tree, "main.py"), "--device", "pulse",
                       "--samplerate", "48000", "--duration", f"{ns.seconds:g}",
                       *app.ISSUE_ARGS, *ns.extra]
                r = app.measure(cmd, ns.seconds, screen=screen)
                runs[name].append(r)
                print(f"{name} run {i + 1}: cpu {statistics.fmean(r.cpu):.1f} %, "
                      f"fps {r.stats.get('fps', 0):.1f}, load {os.getloadavg()[0]:.1f}", flush=True)
                print(f"    {app.thread_line(r)}", flush=True)
    for name, rs in runs.items():
        cpu = [statistics.fmean(r.cpu) for r in rs]
        fps = ", ".join(f"{r.stats.get('fps', 0):.1f}" for r in rs)
        print(f"== {name}: process median {statistics.median(cpu):.1f} "
              f"({', '.join(f'{c:.1f}' for c in cpu)}), fps {fps}")
        names: list = []
        for r in rs:
            names += [n for n in r.by_thread if n not in names]
        for n in names:
            v = [r.by_thread.get(n, 0.0) for r in rs]
            if max(v) >= 0.2:
                print(f"   {n:22s} median {statistics.median(v):5.1f}  "
                      f"({', '.join(f'{x:.1f}' for x in v)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
