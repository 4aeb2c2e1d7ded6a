"""Long sessions: a synthetic 24-hour session written faster than real time, then opened.

At the defaults (48 kHz, n_fft 2048, hop 512: 93.75 frames/s; log scale: 512 rows) a child
process feeds synthetic feature batches (a noise floor, a tone that moves every 10 minutes,
a loud broadband burst every 7 minutes) for 24 hours of stream time through the real
:class:`monitor.session_store.SessionWriter` (its own thread, blocking queue: nothing dropped)
and the overview's own in-memory LTSA (:class:`monitor.gui.overview.OverviewStrip`, offscreen),
as the window does. Measured:

- peak RSS of that whole process (Python, Qt, numpy, the writer, the overview) at 24 h;
- the overview's cost per display frame at 24 h: one tick = push 2 frames (60 fps at 93.75
  frames/s is 1.6 frames per tick) + ``refresh`` (redraws when the level drawn gains a bin,
  at most 4 times a second), averaged over 60 s of ticks; and the cost of one full redraw;
- opening the saved session (a new process): ``SessionBrowser`` up to the overview drawn,
  and the whole launch including imports;
- disk use per hour.

``python -m bench.long_session [--hours H]`` runs it alone.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from bench.report import Figure, Target

SECTION = "10. Long sessions (synthetic 24 h session on disk, overview, open)"
SR, N_FFT, HOP = 48000.0, 2048, 512
BATCH = 256  # frames per synthetic batch (2.7 s)


def _params():
    from monitor.dsp.features import AnalysisParams

    return AnalysisParams(SR, N_FFT, HOP, "hann", 128, 0.0, SR / 2, False, "slaney")


def _batches(hours: float):
    """Synthetic FeatureBatches for ``hours`` of stream (cheap: a pool of noise, shifted)."""
    import numpy as np

    from monitor.dsp.features import FeatureBatch

    params = _params()
    n_bins = N_FFT // 2 + 1
    rng = np.random.default_rng(0)
    pool = (-95.0 + 4.0 * rng.standard_normal((BATCH * 4, n_bins))).astype(np.float32)
    total = int(hours * 3600 * SR / HOP)
    fps = SR / HOP
    rms = np.full(BATCH, -40.0, np.float32)
    mel = np.zeros((BATCH, params.n_mels), np.float32)
    for first in range(0, total, BATCH):
        n = min(BATCH, total - first)
        k = (first // BATCH) % 4
        db = pool[k * BATCH:k * BATCH + n].copy()
        minute = first / fps / 60.0
        tone = 40 + int(minute // 10) * 37 % 800  # a tone that moves every 10 minutes
        db[:, tone] = -12.0
        if int(minute) % 7 == 0 and (first / fps) % 60 < 3:  # a 3 s burst every 7 minutes
            db[:, :] += 50.0
        yield FeatureBatch(params, first, db, mel[:n], rms[:n] + 3, rms[:n], rms[:n])


def _peak_rss_mib() -> float:
    """This process's peak RSS (MiB) since its exec: ``VmHWM``. Not ``ru_maxrss``: Linux folds
    the pre-exec memory into it, i.e. the forking bench process's (662 MiB in a full run)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_write(directory: str, hours: float) -> dict:
    """Write the synthetic session; returns the measurements (run in a child process)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PyQt6 import QtWidgets

    from monitor.dsp.frequency_rows import FrequencyRows
    from monitor.gui.overview import OverviewStrip
    from monitor.session_store import SessionWriter
    from monitor.settings import Settings

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    settings = Settings()
    strip = OverviewStrip(settings, FrequencyRows(_params(), settings.scale))
    strip.resize(1200, 110)
    strip.show()
    app.processEvents()
    writer = SessionWriter(directory, settings, blocking=True)
    t0 = time.perf_counter()
    frames = 0
    for batch in _batches(hours):
        writer.add(batch)
        strip.push(batch)
        frames += len(batch)
    produced = time.perf_counter() - t0
    writer.close()
    wrote = time.perf_counter() - t0
    # the overview per display frame, at the session's full length
    tick_batch = next(_batches(1.0 / 3600))
    tick_batch.power_db = tick_batch.power_db[:2]
    tick_batch.rms_dbfs = tick_batch.rms_dbfs[:2]
    tick_batch.mel_db = tick_batch.mel_db[:2]
    costs = []
    now = 0.0
    for _ in range(3600):  # 60 s of ticks at 60 fps, stream time advancing
        tick_batch.first_frame = frames
        t = time.perf_counter()
        strip.push(tick_batch)
        strip.refresh(now)
        costs.append(time.perf_counter() - t)
        frames += 2
        now += 1 / 60
    full = []
    for _ in range(20):
        t = time.perf_counter()
        strip.refresh(force=True)
        full.append(time.perf_counter() - t)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(directory) for f in fs)
    return {"hours": hours, "write_s": wrote, "produce_s": produced,
            "peak_rss_mib": _peak_rss_mib(),
            "tick_ms_mean": 1e3 * float(np.mean(costs)), "tick_ms_max": 1e3 * float(np.max(costs)),
            "redraw_ms": 1e3 * float(np.median(full)), "redraws": strip.redraws,
            "bytes": size, "dropped": writer.dropped_frames}


def child_open(directory: str) -> dict:
    """Open the session in the browser window, offscreen; time to the overview drawn."""
    t_launch = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6 import QtWidgets

    from monitor.gui.session_browser import SessionBrowser
    from monitor.session_store import SessionReader

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    t0 = time.perf_counter()
    window = SessionBrowser(SessionReader(directory))
    window.resize(1280, 640)
    window.show()
    app.processEvents()
    window.overview.refresh(force=True)
    window.overview.plot.grab()  # painted
    t1 = time.perf_counter()
    result = {"open_s": t1 - t0, "launch_s": t1 - t_launch, "bins_drawn": len(
        window.overview.ltsa.view(window.overview.width_px())),
        "rss_mib": _peak_rss_mib()}
    window.close()  # closed as a user closes it: the reader's files, then Qt's objects
    window.deleteLater()
    app.processEvents()
    return result


def _child(*args: str) -> dict:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-m", "bench.long_session", *args], cwd=repo,
                          capture_output=True, text=True, timeout=4 * 3600)
    if proc.returncode != 0:
        # Qt's offscreen warnings fill stderr; the exit status says what happened (a negative
        # one is the signal that ended the child).
        tail = [ln for ln in proc.stderr.strip().splitlines() if "propagateSizeHints" not in ln]
        raise RuntimeError(f"{' '.join(args[:1])} child exited with {proc.returncode}: "
                           + " | ".join(tail[-3:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False, log=print) -> list[Figure]:
    hours = 2.0 if quick else 24.0
    root = tempfile.mkdtemp(prefix="spectromon-long-")
    try:
        directory = os.path.join(root, "session")
        w = _child("--write", directory, str(hours))
        log(f"  long session: {json.dumps(w)}")
        opens = [_child("--open", directory) for _ in range(3)]
        log(f"  open: {json.dumps(opens)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    label = f"{hours:g} h"
    note = (f"{label} written in {w['write_s']:.0f} s ({hours * 3600 / w['write_s']:.0f}× real "
            f"time), {w['dropped']} frames dropped")
    return [
        Figure(SECTION, f"peak RSS, writing + overview, {label}", "MiB", [w["peak_rss_mib"]],
               target=Target("<=", 200.0, "≤ 200 MiB"), note=note),
        Figure(SECTION, f"overview per display frame at {label} (mean of 3600 ticks)", "ms",
               [w["tick_ms_mean"]], target=Target("<=", 1.0, "≤ 1 ms"),
               note=f"max {w['tick_ms_max']:.2f} ms; a full redraw {w['redraw_ms']:.2f} ms "
                    f"(at most 4 per second, only when the level drawn gains a bin)"),
        Figure(SECTION, f"open a saved {label} session → overview drawn", "s",
               [o["open_s"] for o in opens], target=Target("<=", 2.0, "≤ 2 s"),
               note=f"whole launch incl. imports {min(o['launch_s'] for o in opens):.2f} s; "
                    f"{opens[0]['bins_drawn']} bins drawn; RSS {opens[0]['rss_mib']:.0f} MiB"),
        Figure(SECTION, "disk use per hour", "MB", [w["bytes"] / 1e6 / hours],
               note="rows.u8 (512 rows × 93.75 frames/s) is 173 MB/h; times, levels, LTSA levels"),
    ]


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--write":
        print(json.dumps(child_write(sys.argv[2], float(sys.argv[3]))))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--open":
        print(json.dumps(child_open(sys.argv[2])))
    else:
        from bench.report import render_text

        h = sys.argv[sys.argv.index("--hours") + 1] if "--hours" in sys.argv else None
        if h is not None:
            _hours = float(h)
            run.__defaults__ = (False, print)
            figures = run(quick=_hours < 24)
        else:
            figures = run(quick="--quick" in sys.argv)
        print(render_text(figures))
