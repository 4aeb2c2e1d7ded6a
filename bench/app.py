"""Whole app on the virtual microphone: CPU, memory, dropped audio, display rate.

The product runs as a subprocess, ``main.py --device pulse --samplerate 48000 --duration S``,
offscreen, default settings (a fresh settings directory), classifier on, while a programme of
real recordings loops into the PulseAudio virtual microphone. psutil samples its CPU (% of one
core, all threads) and RSS every second; the app writes what it achieved (display fps,
longest gap between frames, dropped audio frames, time of the first drawn column) to
``$SPECTROMON_STATS_FILE`` at exit. The baseline is :mod:`bench.bare_app`, measured the
same way in the same run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

from bench.report import Figure, Target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = 5.0  # s after launch excluded from the CPU and RSS figures (imports, model load)
TAIL = 1.5  # s before the requested end excluded too (shutdown frees memory, joins threads)


@dataclass
class Run:
    """What one measured run of an app gave."""

    launched_epoch: float
    cpu: list = field(default_factory=list)  # % of one core, one sample per interval after warm-up
    rss: list = field(default_factory=list)  # (seconds since launch, bytes), every sample
    stats: dict = field(default_factory=dict)
    gui_thread: float = float("nan")  # % of one core used by the main (GUI) thread after warm-up
    other_threads: float = float("nan")  # % of one core used by all other threads together
    by_thread: dict = field(default_factory=dict)  # OS thread name -> % of one core after warm-up
    returncode: Optional[int] = None
    stderr: str = ""

    @property
    def rss_after_warmup(self) -> list:
        return [r for t, r in self.rss if t >= WARMUP]


# Issue 12's settings (Friture's default spectrogram: FFT 4096, 75 % overlap, mel, 10 s).
ISSUE_ARGS = ("--n-fft", "4096", "--hop", "1024", "--scale", "mel", "--history", "10")


def product_cmd(seconds: float, *extra: str) -> list[str]:
    return [sys.executable, os.path.join(REPO, "main.py"), "--device", "pulse", "--samplerate",
            "48000", "--duration", f"{seconds:g}", *extra]


def thread_line(run: Run) -> str:
    """The per-thread split of one run, for the log: 'main (GUI) 12.1, analysis-worker 3.0, …'."""
    return ", ".join(f"{name} {pct:.1f}" for name, pct in run.by_thread.items() if pct >= 0.05)


def thread_figures(product: list, bare: list, section: str) -> list[Figure]:
    """One figure per OS thread name (mean ≥ 0.2 % of a core in some run), the product's split."""
    names = []
    for r in product:
        names += [n for n, v in r.by_thread.items() if v >= 0.2 and n not in names]
    figs = []
    for name in names:
        base = [r.by_thread.get("main (GUI)", float("nan")) for r in bare] if name == "main (GUI)" else []
        figs.append(Figure(section, f"… thread {name}", "% of one core",
                           [r.by_thread.get(name, 0.0) for r in product],
                           "bare pyqtgraph waterfall" if base else "", base))
    return figs


def bare_cmd(seconds: float) -> list[str]:
    return [sys.executable, "-m", "bench.bare_app", "--device", "pulse", "--samplerate", "48000",
            "--duration", f"{seconds:g}"]


def _thread_names(pid: int) -> dict:
    """OS name of each thread of ``pid`` (``/proc/PID/task/TID/comm``; {} elsewhere)."""
    names = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    names[int(tid)] = f.read().strip()
            except OSError:
                pass
    except OSError:
        pass
    return names


def split_by_name(first: dict, last: dict, names: dict, main_pid: int, span: float) -> dict:
    """% of one core per OS thread name between two ``{tid: cpu seconds}`` snapshots.

    The main thread is called 'main (GUI)'; threads that ended between the snapshots are lost
    (psutil cannot see them), threads born after the first count from 0.
    """
    out: dict = {}
    for tid, t in last.items():
        name = "main (GUI)" if tid == main_pid else names.get(tid, "?")
        out[name] = out.get(name, 0.0) + 100 * (t - first.get(tid, 0.0)) / span
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# The offscreen screen the app runs on, px. fit_to_screen leaves 16 × 40 px for a window
# manager's frame, so a 1216 × 800 screen gives issue 12's 1200 × 760 window.
SCREEN = (1216, 800)
FULL_SCREEN = (1920, 1080)  # a projector: the window full screen (--window-state full-screen)
# The window states measured beside the normal run: (state, screen, CPU target %, label).
STATES = (("full-screen", FULL_SCREEN, 15.0, "full screen 1920×1080"),
          ("paused", SCREEN, 2.0, "paused (Space)"),
          ("minimised", SCREEN, 2.0, "minimised"))


def offscreen_platform(workdir: str, screen: tuple) -> str:
    """``QT_QPA_PLATFORM`` for Qt's offscreen plugin with one ``screen`` = (width, height) px."""
    path = os.path.join(workdir, "screen.json")
    with open(path, "w") as f:
        json.dump({"screens": [{"name": "bench", "x": 0, "y": 0, "width": screen[0],
                                "height": screen[1], "logicalDpi": 96, "logicalBaseDpi": 96,
                                "dpr": 1}]}, f)
    return f"offscreen:configfile={path}"


def measure(cmd: list[str], seconds: float, interval: float = 1.0, rss_every: float = 1.0,
            log=None, screen: Optional[tuple] = None) -> Run:
    """Run ``cmd`` (which ends by itself after ``seconds``) and sample it every ``interval`` s,
    offscreen on a ``screen`` of (width, height) px (None: the plugin's default, 800 × 800).

    CPU and RSS samples are kept only between ``WARMUP`` and ``seconds - TAIL`` after launch:
    at the end the app tears down (threads joined, the model and Qt freed), and a sample taken
    then once reported an RSS "growth" of -253 MiB.
    """
    import psutil

    workdir = tempfile.mkdtemp(prefix="bench-app-")
    stats_path = os.path.join(workdir, "stats.json")
    platform = offscreen_platform(workdir, screen) if screen else "offscreen"
    env = dict(os.environ, QT_QPA_PLATFORM=platform, SPECTROMON_STATS_FILE=stats_path,
               XDG_CONFIG_HOME=os.path.join(workdir, "config"), PYTHONPATH=REPO)
    launched = time.time()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run = Run(launched)
    try:
        ps = psutil.Process(proc.pid)
        ps.cpu_percent(None)
        next_sample = t0 + interval
        last_rss = -1e9
        first_threads = last_threads = None
        names: dict = {}
        while proc.poll() is None:
            delay = next_sample - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the sampler, not synchronising with the app
            next_sample += interval
            try:
                cpu = ps.cpu_percent(None)
                rss = ps.memory_info().rss
            except psutil.NoSuchProcess:
                break
            since = time.monotonic() - t0
            if proc.poll() is not None or since > seconds - TAIL:
                continue  # the last interval may include shutdown: wait for the exit unsampled
            if rss <= 0:  # an exiting (zombie) process reads 0 in /proc/PID/statm: not a sample
                continue
            if since >= WARMUP:
                try:
                    threads = (since, {t.id: t.user_time + t.system_time for t in ps.threads()})
                except psutil.NoSuchProcess:
                    break
                first_threads = first_threads or threads
                last_threads = threads
                names.update(_thread_names(proc.pid))
            if since >= WARMUP + interval:
                run.cpu.append(cpu)
            if since - last_rss >= rss_every - 1e-6:
                run.rss.append((since, rss))
                last_rss = since
                if log and rss_every >= 10:
                    log(f"    t={since:5.0f} s  rss {rss / 2 ** 20:6.1f} MiB  cpu {cpu:5.1f} %")
        if first_threads and last_threads and last_threads[0] > first_threads[0]:
            span = last_threads[0] - first_threads[0]
            delta = {tid: t - first_threads[1].get(tid, 0.0) for tid, t in last_threads[1].items()}
            run.gui_thread = 100 * delta.pop(proc.pid, 0.0) / span
            run.other_threads = 100 * sum(delta.values()) / span
            run.by_thread = split_by_name(first_threads[1], last_threads[1], names, proc.pid, span)
        _, err = proc.communicate(timeout=seconds + 60)
        run.stderr = err or ""
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    run.returncode = proc.returncode
    if os.path.exists(stats_path):
        with open(stats_path) as f:
            run.stats = json.load(f)
    return run


def p95(values) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))] if v else float("nan")


def _check(run: Run, what: str) -> None:
    if run.returncode != 0 or not run.stats:
        tail = " | ".join(run.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{what} exited with {run.returncode}, no statistics ({tail})")


def app_figures(product: list, bare: list, seconds: float, section: str) -> list[Figure]:
    """Figures from product and baseline runs (lists of :class:`Run`)."""
    def cpu_mean(r): return statistics.fmean(r.cpu)
    def rss_start(r): return r.rss_after_warmup[0] / 2 ** 20
    def rss_end(r): return r.rss_after_warmup[-1] / 2 ** 20
    def growth(r):  # over the second half: the first fills the histories (waterfall, events)
        v = r.rss_after_warmup
        return (v[-1] - v[len(v) // 2]) / 2 ** 20 if v else float("nan")

    src = product[0].stats.get("source", "?")
    note = (f"{len(product)} run(s) of {seconds:g} s; source {src}; CPU and RSS sampled every "
            f"1 s from {WARMUP:g} s after launch; baseline: bench/bare_app.py (numpy STFT + "
            f"one pyqtgraph ImageItem, nothing else)")
    figs = [
        Figure(section, "process CPU, mean", "% of one core", [cpu_mean(r) for r in product],
               "bare pyqtgraph waterfall", [cpu_mean(r) for r in bare],
               Target("<=", 10.0, "≤ 10 %"), note=note),
        Figure(section, "process CPU, p95 of 1 s samples", "% of one core",
               [p95(r.cpu) for r in product], "bare pyqtgraph waterfall", [p95(r.cpu) for r in bare]),
        Figure(section, "… of which the GUI (main) thread", "% of one core",
               [r.gui_thread for r in product], "bare pyqtgraph waterfall", [r.gui_thread for r in bare]),
        Figure(section, "… of which all other threads (worker, classifier, audio)", "% of one core",
               [r.other_threads for r in product], "bare pyqtgraph waterfall",
               [r.other_threads for r in bare]),
        Figure(section, "RSS at start (after warm-up)", "MiB", [rss_start(r) for r in product],
               "bare pyqtgraph waterfall", [rss_start(r) for r in bare]),
        Figure(section, "RSS at end", "MiB", [rss_end(r) for r in product],
               "bare pyqtgraph waterfall", [rss_end(r) for r in bare]),
        Figure(section, "RSS growth over the second half of the run", "MiB", [growth(r) for r in product],
               "bare pyqtgraph waterfall", [growth(r) for r in bare], Target("<=", 5.0, "≤ 5 MB")),
        Figure(section, "dropped audio frames", "frames",
               [r.stats.get("dropped_frames", 0) for r in product], "", [],
               Target("<=", 0, "0")),
        Figure(section, "display rate achieved", "fps", [r.stats.get("fps", 0.0) for r in product],
               "bare pyqtgraph waterfall", [r.stats.get("fps", 0.0) for r in bare],
               Target(">=", 58.0, "≥ 58 fps")),
        Figure(section, "longest gap between drawn frames", "ms",
               [r.stats.get("longest_gap_ms", 0.0) for r in product], "bare pyqtgraph waterfall",
               [r.stats.get("longest_gap_ms", 0.0) for r in bare]),
    ]
    return figs[:4] + thread_figures(product, bare, section) + figs[4:]


SECTION = ("3. Whole app (virtual microphone, 48 kHz, n_fft 4096, hop 1024, mel, 10 s history, "
           "classifier on)")


def state_figures(states: dict, product: list, section: str) -> list[Figure]:
    """Process and GUI-thread CPU of each window state of :data:`STATES` run, each beside the
    normal window's runs of the same bench run."""
    figs = []
    for state, _screen, limit, label in STATES:
        runs = states.get(state)
        if not runs:
            continue
        figs.append(Figure(section, f"process CPU, {label}", "% of one core",
                           [statistics.fmean(r.cpu) for r in runs], "window 1200×760",
                           [statistics.fmean(r.cpu) for r in product],
                           Target("<=", limit, f"≤ {limit:g} %"),
                           note=f"--window-state {state}"))
        figs.append(Figure(section, f"… of which the GUI (main) thread, {label}", "% of one core",
                           [r.gui_thread for r in runs], "window 1200×760",
                           [r.gui_thread for r in product]))
    return figs


def run(quick: bool = False, log=print, mic=None) -> list[Figure]:
    seconds = float(os.environ.get("BENCH_APP_SECONDS", 15.0 if quick else 60.0))
    repeats = int(os.environ.get("BENCH_APP_REPEATS", 1 if quick else 2))
    wanted = os.environ.get("BENCH_APP_STATES", ",".join(s[0] for s in STATES)).split(",")
    product, bare = [], []
    states: dict = {}
    for i in range(repeats):  # alternated, so drifts in machine load hit both alike
        log(f"  app: product run {i + 1}/{repeats}, {seconds:g} s")
        r = measure(product_cmd(seconds, *ISSUE_ARGS), seconds, screen=SCREEN)
        _check(r, "the app")
        product.append(r)
        log(f"    cpu mean {statistics.fmean(r.cpu):.1f} %, fps {r.stats.get('fps', 0):.1f}, "
            f"dropped {r.stats.get('dropped_frames')}, source {r.stats.get('source')}, "
            f"window {r.stats.get('window')}")
        log(f"    threads: {thread_line(r)}")
        log(f"  app: bare baseline run {i + 1}/{repeats}")
        b = measure(bare_cmd(seconds), seconds, screen=SCREEN)
        _check(b, "the bare baseline")
        bare.append(b)
        log(f"    cpu mean {statistics.fmean(b.cpu):.1f} %, fps {b.stats.get('fps', 0):.1f}")
        log(f"    threads: {thread_line(b)}")
        for state, screen, _limit, label in STATES:
            if state not in wanted:
                continue
            log(f"  app: {label} run {i + 1}/{repeats}")
            r = measure(product_cmd(seconds, *ISSUE_ARGS, "--window-state", state), seconds,
                        screen=screen)
            _check(r, f"the app ({label})")
            states.setdefault(state, []).append(r)
            log(f"    cpu mean {statistics.fmean(r.cpu):.1f} %, fps {r.stats.get('fps', 0):.1f}, "
                f"window {r.stats.get('window')}")
            log(f"    threads: {thread_line(r)}")
    return app_figures(product, bare, seconds, SECTION) + state_figures(states, product, SECTION)


if __name__ == "__main__":
    from bench.audio import VirtualMic, programme
    from bench.report import render_text

    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        print(render_text(run(quick="--quick" in sys.argv)))
