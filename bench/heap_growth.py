"""Where memory grows in a long run: smaps_rollup (anonymous vs file-backed) and tracemalloc.

``python -m bench.heap_growth SECONDS OUTDIR [--mic] [--tree DIR] [--trace T1,T2,...]
[--frames N] [--mallinfo] [--env K=V ...] [-- APP ARGS]`` runs the app of checkout DIR (default
this one; offscreen, a fresh settings directory) for SECONDS: by default at issue 12's settings
on the demo recording looped in real time (``--headless`` or ``--generator`` may be given after
``--``); with ``--mic`` on the PulseAudio virtual microphone at the default settings, as
``bench.soak``. It writes ``OUTDIR/rollup.csv``: every 10 s the Rss, Anonymous and
file-backed (Rss - Anonymous) kB from ``/proc/PID/smaps_rollup``, and prints them at fixed
times with their slopes. ``--mallinfo``: glibc's ``mallinfo2`` every 10 s to
``OUTDIR/mallinfo.csv`` (heap, mmapped, in use, free bytes, Python's allocated blocks).
With ``--trace``, tracemalloc is started before the app is imported (``--frames`` frames per
traceback, default 8) and a snapshot is dumped at each of the given times (s after launch) to
``OUTDIR/snap-T.tracemalloc``; ``python -m bench.heap_growth --compare A B`` prints the 25
largest differences between two snapshots, grouped by traceback. Taking a snapshot raises
RSS for good (tens of MiB): compare RSS only in runs without ``--trace``.

Why: an RSS slope can be Python objects (a growing list), numpy arrays (tracemalloc sees those
too), C/C++ heaps tracemalloc cannot see (Qt, onnxruntime) or glibc keeping freed memory
(fragmentation across per-thread arenas). The slope of anonymous memory with the file-backed
part flat, beside tracemalloc's total, tells which.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time

from bench.memory_map import rollup

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISSUE_ARGS = ("--n-fft", "4096", "--hop", "1024", "--scale", "mel", "--history", "10")

# Run inside the app's process: tracemalloc from the first import, snapshots at fixed times.
_WRAPPER = r"""
import os, sys, threading, time, tracemalloc
times = [float(t) for t in os.environ["HEAP_GROWTH_TIMES"].split(",") if t]
out = os.environ["HEAP_GROWTH_OUT"]
if times:
    tracemalloc.start(int(os.environ.get("HEAP_GROWTH_FRAMES", "8")))
t0 = time.monotonic()
def _snapshots():
    for t in times:
        time.sleep(max(0.0, t - (time.monotonic() - t0)))
        snap = tracemalloc.take_snapshot()
        snap.dump(os.path.join(out, f"snap-{t:g}.tracemalloc"))
        cur, peak = tracemalloc.get_traced_memory()
        with open(os.path.join(out, "traced.csv"), "a") as f:
            f.write(f"{t:g},{cur},{peak}\n")
mine = []
if times:
    mine.append(threading.Thread(target=_snapshots, name="heap-growth", daemon=True))
import ctypes
class _MI(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _MI
trim = float(os.environ.get("HEAP_GROWTH_TRIM", "0"))
def _mallinfo():
    with open(os.path.join(out, "mallinfo.csv"), "w") as f:
        f.write("t_s,heap_B,mmapped_B,in_use_B,free_B,keepcost_B,pymalloc_blocks\n")
    k = 0
    while True:
        k += 1
        time.sleep(max(0.0, t0 + 10 * k - time.monotonic()))
        if trim and (10 * k) % trim == 0:
            _libc.malloc_trim(0)
        m = _libc.mallinfo2()
        with open(os.path.join(out, "mallinfo.csv"), "a") as f:
            f.write(f"{10 * k},{m.arena},{m.hblkhd},{m.uordblks},{m.fordblks},{m.keepcost},"
                    f"{sys.getallocatedblocks()}\n")
if os.environ.get("HEAP_GROWTH_MALLINFO") or trim:
    mine.append(threading.Thread(target=_mallinfo, name="heap-growth-mallinfo", daemon=True))
# Started with the app's first thread, not now: a thread's first malloc gets it a glibc arena
# of its own, and the app sets M_ARENA_MAX=1 before it starts any (monitor.gui.app).
_start = threading.Thread.start
def _start_mine_first(self):
    threading.Thread.start = _start
    for t in mine:
        _start(t)
    _start(self)
threading.Thread.start = _start_mine_first
sys.argv = ["main.py"] + sys.argv[1:]
from monitor.cli import main
sys.exit(main())
"""


def slope(series: list, since: float) -> float:
    """Least-squares slope of ``[(t s, kB)]`` from ``since`` on, MiB per minute."""
    import numpy as np

    pts = [(t, v) for t, v in series if t >= since]
    if len(pts) < 3:
        return float("nan")
    return float(np.polyfit([t / 60 for t, _ in pts], [v / 1024 for _, v in pts], 1)[0])


def run(seconds: float, outdir: str, app_args: list, trace: list, frames: int = 8,
        env_extra: dict | None = None, every: float = 10.0, tree: str = REPO,
        mic: bool = False, mallinfo: bool = False) -> list:
    """Run the app, sample its rollup every ``every`` s: ``[(t, rss kB, anon kB, file kB)]``.

    ``tree``: the checkout to run (another worktree, for before/after). ``mic``: on the
    PulseAudio virtual microphone playing the benchmark programme, at the app's default
    settings, as the soak (:mod:`bench.soak`) runs it.
    """
    if mic:
        from bench.audio import VirtualMic, programme

        with VirtualMic() as vm:
            vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
            return run(seconds, outdir, ["--device", "pulse", "--samplerate", "48000", *app_args],
                       trace, frames, env_extra, every, tree, mic=None, mallinfo=mallinfo)
    os.makedirs(outdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="bench-heap-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=tree,
               XDG_CONFIG_HOME=os.path.join(workdir, "config"),
               HEAP_GROWTH_TIMES=",".join(f"{t:g}" for t in trace), HEAP_GROWTH_OUT=outdir,
               HEAP_GROWTH_FRAMES=str(frames), HEAP_GROWTH_MALLINFO="1" if mallinfo else "",
               **(env_extra or {}))
    if not any(a in app_args for a in ("--input", "--generator", "--device")):
        app_args = ["--input", os.path.join(REPO, "resources", "demo.wav"), "--loop", *app_args]
    settings = ISSUE_ARGS if mic is False else ()
    cmd = [sys.executable, "-c", _WRAPPER, *settings, "--duration", f"{seconds + 5:g}", *app_args]
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    t0 = time.monotonic()
    try:
        while True:
            k = len(rows) + 1
            time.sleep(max(0.0, t0 + k * every - time.monotonic()))  # pacing the sampler
            if proc.poll() is not None or k * every > seconds:
                break
            r = rollup(proc.pid)
            rows.append((k * every, r["Rss"], r["Anonymous"], r["Rss"] - r["Anonymous"]))
        proc.wait(timeout=120)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, None):
        print("app exited with", proc.returncode, err.strip()[-500:], file=sys.stderr)
    with open(os.path.join(outdir, "rollup.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "rss_kB", "anon_kB", "file_kB"])
        w.writerows(rows)
    return rows


def summary(rows: list, seconds: float) -> str:
    """One paragraph: RSS / anonymous / file-backed at fixed times and their slopes."""
    lines = []
    for t in (60, 120, 300, 600, 900, 1200, 1800, 3600):
        row = next((r for r in rows if abs(r[0] - t) < 1e-6), None)
        if row:
            lines.append(f"t={t:5d} s  rss {row[1] / 1024:6.1f}  anon {row[2] / 1024:6.1f}  "
                         f"file {row[3] / 1024:6.1f} MiB")
    since = min(120.0, seconds / 2)
    for name, i in (("rss", 1), ("anon", 2), ("file", 3)):
        lines.append(f"slope from {since:g} s, {name}: "
                     f"{slope([(r[0], r[i]) for r in rows], since):+.3f} MiB/min")
    return "\n".join(lines)


def compare(a: str, b: str, top: int = 25, key: str = "traceback") -> str:
    """The ``top`` largest size differences of snapshot ``b`` against ``a``."""
    import tracemalloc

    sa, sb = tracemalloc.Snapshot.load(a), tracemalloc.Snapshot.load(b)
    flt = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen*")]
    sa, sb = sa.filter_traces(flt), sb.filter_traces(flt)
    diffs = sb.compare_to(sa, key)
    total = sum(d.size_diff for d in diffs)
    out = [f"total traced {sum(s.size for s in sb.statistics('filename')) / 2**20:.2f} MiB, "
           f"diff {total / 2**20:+.3f} MiB"]
    for d in diffs[:top]:
        out.append(f"{d.size_diff / 1024:+9.1f} KiB  {d.count_diff:+7d} blocks  "
                   f"(now {d.size / 1024:.1f} KiB)")
        frames = d.traceback.format(limit=6, most_recent_first=True) if key == "traceback" else [str(d.traceback)]
        out.extend("      " + ln.strip() for ln in frames if ln.strip().startswith("File"))
    return "\n".join(out)


def main(argv: list) -> int:
    if argv[:1] == ["--compare"]:
        key = argv[3] if len(argv) > 3 else "traceback"
        print(compare(argv[1], argv[2], key=key))
        return 0
    app_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, app_args = argv[:i], argv[i + 1:]
    seconds, outdir = float(argv[0]), argv[1]
    trace, frames, env_extra, tree, mic, mallinfo = [], 8, {}, REPO, False, False
    rest = argv[2:]
    while rest:
        opt = rest.pop(0)
        if opt == "--trace":
            trace = [float(t) for t in rest.pop(0).split(",")]
        elif opt == "--frames":
            frames = int(rest.pop(0))
        elif opt == "--tree":
            tree = os.path.abspath(rest.pop(0))
        elif opt == "--mic":
            mic = True
        elif opt == "--mallinfo":
            mallinfo = True
        elif opt == "--env":
            k, v = rest.pop(0).split("=", 1)
            env_extra[k] = v
    rows = run(seconds, outdir, app_args, trace, frames, env_extra, tree=tree, mic=mic, mallinfo=mallinfo)
    print(summary(rows, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
