"""Where the analysis worker's, the recorder's and the audio callback's CPU goes in the app.

    python -m bench.feed_probe [--seconds 30] [--tree DIR] [-- EXTRA APP OPTIONS]

Runs the whole app (``main.py`` of ``--tree``, default this checkout) at issue 12's settings on
a private virtual microphone, offscreen, as :mod:`bench.app` does, with probes installed before
it starts: the worker's pass and its parts, each consumer's ``feed``, the recorder's passes and
the audio callback are wrapped so that the thread CPU (``time.thread_time``) spent inside them
and their calls are summed per OS thread. At exit the sums go to a JSON file; this script
prints them as ms of CPU per second of wall time (10 ms/s = 1 % of a core) beside each
thread's whole CPU from ``/proc`` (psutil), so what the probes do not cover (waits, wake-ups,
the GIL, sounddevice's and PortAudio's share of the callback) shows as the remainder.
Probes are nested (a pass contains its parts): the figures are inclusive. The probes cost
~1 µs a call themselves (two ``thread_time`` calls).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (module, class, method) probed; missing ones are skipped (an older or newer tree).
PROBES = (
    ("monitor.worker", "AnalysisWorker", "poll"),
    ("monitor.worker", "AnalysisWorker", "process"),
    ("monitor.worker", "AnalysisWorker", "_update_scope"),
    ("monitor.worker", "AnalysisWorker", "_wait_seconds"),
    ("monitor.ringbuffer", "RingBuffer", "read"),
    ("monitor.ringbuffer", "RingBuffer", "write"),
    ("monitor.dsp.features", "FeatureExtractor", "process"),
    ("monitor.channel_monitor", "ChannelTap", "process"),
    ("monitor.dsp.clipping", "ClipCounter", "process"),
    ("monitor.dsp.levels", "Normalizer", "process"),
    ("monitor.measurement_feed", "MeasurementFeed", "feed"),
    ("monitor.classifier.stream", "SoundEventClassifier", "feed"),
    ("monitor.session_store", "SessionWriter", "feed"),
    ("monitor.network.publisher", "Publisher", "feed"),
    ("monitor.recorder", "Recorder", "_pump"),
    ("monitor.recorder", "Recorder", "_serve"),
    ("monitor.recorder", "Recorder", "_sync"),
    ("monitor.recorder", "Recorder", "_feed"),
    ("monitor.sources.microphone", "MicrophoneSource", "_callback"),
    ("threading", "Event", "wait"),
)

_INSTALL = r"""
import atexit, importlib, json, os, sys, threading, time
_sums = {}
_cpu = time.thread_time
def _wrap(key, fn):
    def probe(*a, **k):
        t = _cpu()
        try:
            return fn(*a, **k)
        finally:
            name = threading.current_thread().name
            s = _sums.setdefault(name + " | " + key, [0.0, 0])
            s[0] += _cpu() - t
            s[1] += 1
    probe.__wrapped__ = fn
    return probe
for mod, cls, meth in PROBES:
    try:
        c = getattr(importlib.import_module(mod), cls)
        setattr(c, meth, _wrap(cls + "." + meth, getattr(c, meth)))
    except (ImportError, AttributeError):
        pass
_t0 = time.monotonic()
def _dump():
    with open(os.environ["FEED_PROBE_OUT"], "w") as f:
        json.dump({"wall": time.monotonic() - _t0, "sums": _sums}, f)
atexit.register(_dump)
sys.argv = ["main.py"] + ARGS
from monitor.cli import main
sys.exit(main())
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.feed_probe")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--tree", default=REPO, help="checkout whose main.py runs")
    ap.add_argument("--no-probes", action="store_true", help="whole-thread figures only")
    ap.add_argument("extra", nargs="*", help="more options for main.py (after --)")
    ns = ap.parse_args(argv)
    sys.path.insert(0, REPO)
    from bench import app
    from bench.audio import VirtualMic, programme

    tree = os.path.abspath(ns.tree)
    out = os.path.join(tempfile.mkdtemp(prefix="feed-probe-"), "probe.json")
    args = ["--device", "pulse", "--samplerate", "48000", "--duration", f"{ns.seconds:g}",
            *app.ISSUE_ARGS, *ns.extra]
    if ns.no_probes:
        cmd = [sys.executable, os.path.join(tree, "main.py"), *args]
    else:
        code = f"PROBES = {PROBES!r}\nARGS = {args!r}\n" + _INSTALL
        cmd = [sys.executable, "-c", code]
    os.environ["FEED_PROBE_OUT"] = out
    os.environ["PYTHONPATH"] = tree
    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        old = app.REPO
        app.REPO = tree  # measure() runs in and imports from the tree measured
        try:
            run = app.measure(cmd, ns.seconds, screen=app.SCREEN)
        finally:
            app.REPO = old
    print(f"process {sum(run.cpu) / max(1, len(run.cpu)):.1f} % of a core, fps "
          f"{run.stats.get('fps', 0):.1f}, dropped {run.stats.get('dropped_frames', '?')}, "
          f"load {os.getloadavg()[0]:.1f}")
    print("threads (/proc, % of a core after warm-up): " + app.thread_line(run))
    if run.returncode:
        print(run.stderr[-2000:])
    if ns.no_probes or not os.path.exists(out):
        return 0
    with open(out) as f:
        data = json.load(f)
    wall = data["wall"]
    rows = sorted(data["sums"].items(), key=lambda kv: (kv[0].split(" | ")[0], -kv[1][0]))
    print(f"probes over the whole run ({wall:.1f} s, warm-up included): ms CPU per s, calls per s, "
          f"µs per call")
    for key, (cpu, calls) in rows:
        if calls / wall >= 0.5 or cpu / wall >= 1e-4:
            print(f"  {key:60s} {1e3 * cpu / wall:7.2f}  {calls / wall:7.1f}  "
                  f"{1e6 * cpu / max(calls, 1):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
