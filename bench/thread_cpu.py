"""CPU time of the app's non-GUI threads' work, in this process, per second of audio.

    python -m bench.thread_cpu measure [--seconds 30] [--repeats 3] [--profile]
    python -m bench.thread_cpu measure-detectors ...   (the Measurements dock shut: no figures)
    python -m bench.thread_cpu classifier [--seconds 30] [--repeats 3] [--profile]
    python -m bench.thread_cpu detector [--seconds 30] [--repeats 3]
    python -m bench.thread_cpu worker|worker-paced|worker-idle|recorder [--seconds 30] ...
          (issue 12's analysis in 1024-frame blocks: back to back, paced as live, idle;
           the recorder's writer, one pass per recorder.POLL_SECONDS)
    python -m bench.thread_cpu PART --instructions [--seconds 10]

Each part gets the same fixed signal (the benchmark programme, 48 kHz mono, as
``bench.audio.programme`` writes it) in 10 ms blocks, as the analysis worker feeds it, and
runs on this thread what its own thread would run, at the rate it would run it: the
measurement consumer polled every ``POLL_SECONDS`` of audio (as its ``_run`` waits), the classifier
fed at the worker's pace and its queue drained when its thread would wake. The figure is
``time.thread_time`` per second of audio, in ms (so 10 ms/s is 1 % of a core), which does not
depend on what else the machine runs (the whole-app figures move by ±10 points with the load
of this shared machine) less than wall time does, but still by ±30 % at a load of 8 on 2
cores (caches, frequency). ``--instructions`` counts instead the instructions of the part's
loop under valgrind (a run with the loop minus one without; see :mod:`bench.instructions`),
which does not move with the load. ``--profile`` adds cProfile's top entries for one repeat.
Run it in another checkout (``cp bench/thread_cpu.py BEFORE/bench/``) for a before/after.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = 48000
BLOCK = 480  # 10 ms


def _signal(seconds: float) -> np.ndarray:
    import soundfile as sf

    from bench.audio import programme

    path = os.path.join(tempfile.mkdtemp(prefix="thread_cpu-"), "programme.wav")
    y, _ = sf.read(programme(path, seconds), dtype="float32")
    n = int(seconds * RATE)
    return np.resize(y, n)  # loops the programme when it is shorter


def run_measure(y: np.ndarray, analysing: bool = True) -> float:
    """Thread CPU seconds of a MeasurementConsumer fed ``y`` in 10 ms blocks, polled as its thread polls it
    (``analysing=False``: the detectors and levels only, as with the Measurements dock shut)."""
    from monitor.measurement import MeasurementConsumer

    consumer = MeasurementConsumer(RATE)
    consumer.analysing = analysing
    # Polled as its thread polls it (0.05 s before POLL_SECONDS was there).
    every = max(1, round(getattr(MeasurementConsumer, "POLL_SECONDS", 0.05) * RATE / BLOCK))
    t = time.thread_time()
    for i, start in enumerate(range(0, y.size - BLOCK + 1, BLOCK)):
        consumer.feed(y[start:start + BLOCK], RATE, (start + BLOCK) / RATE)
        if i % every == every - 1:
            consumer.poll()
    return time.thread_time() - t


def run_detector(y: np.ndarray) -> float:
    """Thread CPU seconds of the discontinuity detector alone, in 50 ms blocks."""
    from monitor.dsp.discontinuity import DiscontinuityDetector

    det = DiscontinuityDetector(RATE)
    x = y.astype(np.float64)
    step = 5 * BLOCK
    t = time.thread_time()
    for start in range(0, x.size - step + 1, step):
        det.process(x[start:start + step])
    return time.thread_time() - t


def _drain_one_by_one(classifier) -> None:
    """The classifier thread's loop before it joined queued blocks (a checkout without
    ``drain``): each block resampled, framed and classified on its own."""
    while classifier._queue:
        item = classifier._queue.popleft()
        classifier._wall_offset = item[3] - item[2]
        classifier._taken_seconds += len(item[0]) / item[1]
        classifier._process(*item[:3])
        classifier._done += 1


def run_classifier(y: np.ndarray, block: int = BLOCK) -> float:
    """Thread CPU seconds of the classifier's thread work (resampling, frontend, model) for ``y``
    fed in 10 ms blocks and taken whenever its thread would wake: when ``feed`` sets its wake
    event, or when the thread's wait times out (``WAIT_SECONDS`` of the module, 0.1 s before
    it existed) counted in audio time; ``feed`` itself is the worker's and is not counted."""
    from monitor.classifier import open_classifier, stream
    from monitor.classifier.stream import SoundEventClassifier
    from monitor.settings import Settings

    classifier, problem = open_classifier(Settings())
    if classifier is None:
        raise SystemExit(f"no classifier: {problem}")
    classifier.close()  # its thread: this one does the work
    classifier = SoundEventClassifier(classifier.model, Settings(), start=False)
    drain = getattr(classifier, "drain", None) or (lambda: _drain_one_by_one(classifier))
    timeout = round(getattr(stream, "WAIT_SECONDS", 0.1) * RATE / BLOCK)  # blocks
    spent = 0.0
    since = 0  # blocks fed since the last wake
    wakes = 0
    for start in range(0, y.size - block + 1, block):
        classifier.feed(y[start:start + block], RATE, (start + block) / RATE)
        since += block // BLOCK
        if classifier._wake.is_set() or since >= timeout:
            classifier._wake.clear()
            since = 0
            wakes += 1
            t = time.thread_time()
            drain()
            spent += time.thread_time() - t
    run_classifier.wakes_per_second = wakes / (y.size / RATE)
    return spent

def run_detectors(y: np.ndarray) -> float:
    """:func:`run_measure` without the tone/distortion/band figures."""
    return run_measure(y, analysing=False)


ISSUE_BLOCK = 1024  # the automatic block at issue 12's hop 1024 (48 kHz)


def _hidden_seconds() -> float:
    """Seconds between the worker's passes while the window is minimised (this checkout's)."""
    from monitor.gui import main_window

    return getattr(main_window, "HIDDEN_INTERVAL", main_window.IDLE_INTERVAL)


def run_measure_idle(y: np.ndarray, analysing: bool = True, feed_seconds: float = 0.25,
                     idle: bool = True) -> float:
    """Thread CPU seconds of the measure thread while the window is paused (``analysing``: the
    Measurements dock still shows; not ``idle``) or minimised (no figures): the idle worker
    feeds it ``feed_seconds`` of audio a pass (in 1024-frame blocks, as one feed), and the
    consumer is polled every ``POLL_SECONDS`` of audio (``IDLE_POLL_SECONDS`` when ``idle`` and
    it has ``set_idle``), the empty polls included, as its thread wakes."""
    from monitor.measurement import MeasurementConsumer

    consumer = MeasurementConsumer(RATE)
    consumer.analysing = analysing
    poll = MeasurementConsumer.POLL_SECONDS
    if idle and hasattr(consumer, "set_idle"):
        consumer.set_idle(True)
        poll = MeasurementConsumer.IDLE_POLL_SECONDS
    feed = max(1, round(feed_seconds * RATE / ISSUE_BLOCK)) * ISSUE_BLOCK
    poll_every = round(poll * RATE)
    spent, fed, next_poll = 0.0, 0, poll_every
    for start in range(0, y.size - feed + 1, feed):
        t = time.thread_time()
        consumer.feed(y[start:start + feed], RATE, (start + feed) / RATE)
        fed = start + feed
        while next_poll <= fed:  # the polls up to the next feed
            consumer.poll()
            next_poll += poll_every
        spent += time.thread_time() - t
    return spent


def run_measure_paused(y: np.ndarray) -> float:
    """:func:`run_measure_idle` as the paused window runs it in its default layout (the
    Measurements dock behind the Controls' tab: no figures, idle), 0.25 s feeds."""
    return run_measure_idle(y, False, 0.25)


def run_measure_minimised(y: np.ndarray) -> float:
    """:func:`run_measure_idle` without the figures, feeds as the minimised window's worker."""
    return run_measure_idle(y, False, _hidden_seconds())


def run_classifier_hidden(y: np.ndarray) -> float:
    """:func:`run_classifier` fed as by the minimised window's worker (one block a pass)."""
    return run_classifier(y, max(1, round(_hidden_seconds() * RATE / ISSUE_BLOCK)) * ISSUE_BLOCK)


def run_worker_hidden(y: np.ndarray) -> float:
    """:func:`run_worker`, a pass per the minimised window's worker pace, after a sleep."""
    return run_worker(y, max(1, round(_hidden_seconds() * RATE / ISSUE_BLOCK)), sleep=True)


def run_worker(y: np.ndarray, blocks_per_pass: int = 1, sleep: bool = False) -> float:
    """Thread CPU seconds of the analysis worker's passes at issue 12's settings (n_fft 4096,
    hop 1024, mel, 10 s), fed ``y`` in callback blocks of 1024 frames and polled after each
    block as its thread would (one pass per block), with the session's measurement feed as its
    consumer (fed, not measuring: that is the measure thread's). The ring writes (the audio
    callback's) and the GUI's drain are not counted.

    ``sleep``: before each pass, sleep as long as its audio lasts, as the live thread does
    (``worker-paced``: one block a pass; ``worker-idle``: 12 blocks, ~0.25 s, as with
    ``set_idle``). Here the same pass costs 2-3 times more than back to back: after a sleep
    its code and data are no longer in the caches. Needs real time (not for --instructions)."""
    from monitor.measurement_feed import MeasurementFeed
    from monitor.ringbuffer import RingBuffer
    from monitor.settings import Settings
    from monitor.worker import AnalysisWorker

    settings = Settings(n_fft=4096, hop=1024, scale="mel", history=10.0)
    ring = RingBuffer(4 * RATE, 1)
    worker = AnalysisWorker(settings, ring, RATE, [MeasurementFeed(settings, threaded=False)])
    y2 = y.reshape(-1, 1)
    spent = 0.0
    for i, start in enumerate(range(0, y.size - ISSUE_BLOCK + 1, ISSUE_BLOCK)):
        ring.write(y2[start:start + ISSUE_BLOCK])
        if i % blocks_per_pass != blocks_per_pass - 1:
            continue
        if sleep:
            time.sleep(blocks_per_pass * ISSUE_BLOCK / RATE)  # pacing, as the live thread
        t = time.thread_time()
        worker.poll()
        spent += time.thread_time() - t
        worker.drain()
    return spent


def run_recorder(y: np.ndarray) -> float:
    """Thread CPU seconds of the recorder's writer (pre-roll only, no file) fed ``y`` in callback
    blocks of 1024 frames, one pass of its loop every ``recorder.POLL_SECONDS`` of audio (the
    wake-ups themselves, a futex each, are not in it)."""
    from monitor import recorder as rec

    r = rec.Recorder(RATE, 1)
    y2 = y.reshape(-1, 1)
    every = max(1, round(rec.POLL_SECONDS * RATE / ISSUE_BLOCK))
    spent = 0.0
    for i, start in enumerate(range(0, y.size - ISSUE_BLOCK + 1, ISSUE_BLOCK)):
        r.ring.write(y2[start:start + ISSUE_BLOCK])
        if i % every == every - 1:
            t = time.thread_time()
            r._serve()
            while r._pump():
                pass
            spent += time.thread_time() - t
    return spent


def run_worker_paced(y: np.ndarray) -> float:
    """:func:`run_worker`, sleeping a block's duration before each pass (as live)."""
    return run_worker(y, 1, sleep=True)


def run_worker_idle(y: np.ndarray) -> float:
    """:func:`run_worker`, a pass every 12 blocks (256 ms) after as long a sleep (set_idle)."""
    return run_worker(y, 12, sleep=True)


PARTS = {"measure-paused": run_measure_paused, "measure-minimised": run_measure_minimised,
         "worker-hidden": run_worker_hidden, "classifier-hidden": run_classifier_hidden, "worker": run_worker, "worker-paced": run_worker_paced, "worker-idle": run_worker_idle,
         "recorder": run_recorder, "measure": run_measure, "measure-detectors": run_detectors, "detector": run_detector, "classifier": run_classifier}


def _loop(part: str, seconds: float, run: bool) -> None:
    """What :func:`instructions` counts: the set-up and warm-up, and the loop if ``run``."""
    from monitor.threads import one_blas_thread

    one_blas_thread()
    y = _signal(seconds)
    PARTS[part](y[:RATE])
    if run:
        PARTS[part](y)


def instructions(part: str, seconds: float) -> float:
    """Instructions per second of audio of ``part`` (valgrind; loop minus no loop)."""
    counts = []
    for run in (1, 0):
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, "-m", "bench.thread_cpu", "--loop", part, str(seconds), str(run)]
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=REPO, OPENBLAS_NUM_THREADS="1")
        out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True).stderr
        counts.append(int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", "")))
    return (counts[0] - counts[1]) / seconds


def main(argv=None) -> int:
    if argv is None and sys.argv[1:2] == ["--loop"]:
        _loop(sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1")
        return 0
    ap = argparse.ArgumentParser(prog="python -m bench.thread_cpu")
    ap.add_argument("part", choices=sorted(PARTS))
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    ns = ap.parse_args(argv)
    if ns.instructions:
        per_s = instructions(ns.part, ns.seconds)
        print(f"{ns.part}: {per_s / 1e6:.1f} M instructions per s of audio ({ns.seconds:g} s, valgrind)")
        return 0
    from monitor.threads import one_blas_thread

    one_blas_thread()  # as the app does (main.py)
    y = _signal(ns.seconds)
    run = PARTS[ns.part]
    run(y[:RATE])  # warm up (imports, caches, the model)
    spent = [run(y) for _ in range(ns.repeats)]
    per_s = [1e3 * s / ns.seconds for s in spent]
    print(f"{ns.part}: {statistics.median(per_s):.2f} ms CPU per s of audio "
          f"({', '.join(f'{v:.2f}' for v in per_s)}; {ns.seconds:g} s, "
          f"{'1024-frame' if ns.part.startswith(('worker', 'recorder')) else '10 ms'} blocks)"
          + (f"; {run.wakes_per_second:.1f} wakes per s" if hasattr(run, "wakes_per_second") else ""))
    if ns.profile:
        prof = cProfile.Profile(time.thread_time)  # CPU time: wall time moves with the load
        prof.enable()
        run(y)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
    return 0


if __name__ == "__main__":
    sys.exit(main())
