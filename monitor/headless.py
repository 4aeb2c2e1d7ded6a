"""Headless runner: no window, one JSON object per line every ``--interval`` seconds.

It drives a :class:`~monitor.session.Session` and prints what it says: problems on stderr as
they appear (once each), measurements on stdout. An input that cannot be used ends the run
with exit code 2: a scripted test must never pass on the demo signal.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import math
import signal
import sys
import threading
import time
from typing import Optional

import numpy as np

from monitor.dsp.features import FeatureBatch
from monitor.errors import ParameterError
from monitor.channel_monitor import channel_report
from monitor.headless_exports import HeadlessExports
from monitor.outputs import write_atomically
from monitor.npz_writer import save_npz
from monitor.run_outputs import RunOutputs, tee
from monitor.session import Session
from monitor.settings import Settings
from monitor.threads import one_blas_thread

__all__ = ["run_headless", "IntervalStats", "dumps"]

PROG = "spectromon"


def dumps(obj: dict) -> str:
    """One compact JSON line."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class IntervalStats:
    """Accumulates frames between two output lines."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.energy = 0.0
        self.peak = -np.inf
        self.loudest = -np.inf
        self.peak_hz = None

    def add(self, batch: FeatureBatch) -> None:
        if not len(batch):
            return
        self.n += len(batch)
        self.energy += float(np.sum(10.0 ** (batch.rms_dbfs.astype(np.float64) / 10.0)))
        self.peak = max(self.peak, float(batch.peak_dbfs.max()))
        k = int(np.argmax(batch.rms_dbfs))
        if batch.rms_dbfs[k] > self.loudest:
            self.loudest = float(batch.rms_dbfs[k])
            self.peak_hz = float(batch.peak_hz[k])

    def line(self, t: float, status, extra: dict) -> dict:
        rms = 10 * np.log10(self.energy / self.n) if self.n else None
        out = {"t": round(t, 3),
               "rms_dbfs": None if rms is None else round(float(rms), 2),
               "peak_dbfs": None if self.n == 0 else round(self.peak, 2),
               "peak_hz": None if self.peak_hz is None else round(self.peak_hz, 1),
               "frames": self.n, "dropped_frames": status.dropped_frames,
               "overflows": status.overflows, "underflows": status.underflows, "nonfinite": status.nonfinite,
               "clipped": status.clipped, "gain_db": round(status.gain_db, 2)}
        if status.clamped:
            out["clamped"] = status.clamped
        if status.dropped_batches:
            out["dropped_batches"] = status.dropped_batches
        if status.worker_restarts:
            out["worker_restarts"] = status.worker_restarts
        if status.classifier_dropped_seconds:
            out["classifier_dropped_s"] = round(status.classifier_dropped_seconds, 3)
        if status.classifier_restarts:
            out["classifier_restarts"] = status.classifier_restarts
        if status.recording.get("recording") or status.recording.get("record_error"):
            out["recording"] = status.recording
        if status.problem:
            out["problem"] = status.problem
        if status.problems:
            out["problems"] = status.problems
        out.update(extra)
        return out


class FeatureStore:
    """Keeps every batch for ``--save-features``."""

    def __init__(self) -> None:
        self.batches: list[FeatureBatch] = []

    def add(self, batch: FeatureBatch) -> None:
        if self.batches and batch.params != self.batches[-1].params:
            return  # parameters never change headless; guard anyway
        self.batches.append(batch)

    def save(self, path: str, settings: Settings, samplerate: float, params) -> None:
        times = (np.concatenate([b.frame_times for b in self.batches]) if self.batches
                 else np.zeros(0))
        blocks = {"mel_db": ([b.mel_db for b in self.batches], params.n_mels, np.float32),
                  "power_db": ([b.power_db for b in self.batches], params.n_fft // 2 + 1,
                               np.float32)}
        arrays = dict(
            frame_times=times, mel_freqs=params.mel_freqs, fft_freqs=params.fft_freqs,
            sample_rate=samplerate, n_fft=params.n_fft, hop=params.hop, window=params.window,
            n_mels=params.n_mels, fmin=params.fmin, fmax=params.fmax, htk=params.htk,
            mel_norm=str(params.mel_norm), normalize=settings.normalize,
            calibration=params.calibration or "",  # the mic file in the powers, "" none
            normalize_target=settings.target_dbfs(),
            channel=0 if settings.channel is None else settings.channel)  # 0: mono mix
        write_atomically(path, lambda f: save_npz(f, blocks, arrays), "--save-features")


def run_headless(given: dict, ns: argparse.Namespace, saved: Optional[dict] = None) -> int:
    """Run without a window; returns the exit code.

    Parameters
    ----------
    given : dict
        The command line's Settings fields.
    ns : argparse.Namespace
        The run options (interval, duration, outputs).
    saved : dict, optional
        The window's saved choices (the same session rules apply as in the window).
    """
    interval = getattr(ns, "interval", 0.5)
    duration = getattr(ns, "duration", None)
    session = Session(given, saved, record=getattr(ns, "record", None), allow_demo=False)
    reporter = ProblemPrinter(session)
    stop = threading.Event()
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in signals}
    save = threading.Event()  # SIGUSR1: save the pre-roll (in the loop, not in the handler)
    if hasattr(signal, "SIGUSR1"):
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, lambda *_: save.set())
    if getattr(ns, "save_clips", None):
        from monitor.clips import AlertClips

        session.clips = AlertClips(ns.save_clips)
    store = FeatureStore() if getattr(ns, "save_features", None) else None
    publisher = None
    exports = HeadlessExports(ns, session.settings.history)
    outputs = None
    one_blas_thread()  # as the window: no BLAS pool thread spinning after each product
    try:
        session.open_classifier()
        if getattr(ns, "measure", False) or getattr(ns, "export_log", None):
            session.open_measurement()
        outputs = RunOutputs.from_options(ns, session)
        sink = tee(exports.tee(store), outputs)
        session.start()
        if getattr(ns, "events_csv", None) and session.classifier is not None:
            session.classifier.log_events_to(ns.events_csv)  # a row as each event closes
        publisher = _start_publisher(ns, session)
        gc.collect()
        gc.freeze()  # start-up objects out of the collector's sight (see gui.app: 29 ms → 0)
        reporter.print_new()
        try:
            if session.settings.realtime:
                _run_realtime(session, interval, duration, sink, stop, reporter, save,
                              publisher)
            else:
                _run_offline(session, interval, duration, sink, stop, publisher)
        except OutputClosed:
            pass
    finally:
        session.close()
        if outputs is not None:
            outputs.close()
        if publisher is not None:
            publisher.update(session, force=True)  # the last labels, events and status
            publisher.close()
        reporter.print_new()
        for s, h in previous.items():
            signal.signal(s, h)
    pipeline = session.pipeline
    if store is not None:
        try:
            store.save(ns.save_features, session.settings, pipeline.samplerate,
                       pipeline.worker.params)
        except OSError as exc:
            raise ParameterError(f"cannot write {ns.save_features}: {exc.strerror or exc}") from None
    exports.write(session.measurement)
    return 0


def _start_publisher(ns: argparse.Namespace, session: Session):
    """The MQTT publisher of ``--publish`` (started once the input works), or None."""
    if not getattr(ns, "publish", None):
        return None
    from monitor.network.options import broker_of
    from monitor.network.publisher import Publisher

    s = session.settings
    publisher = Publisher(broker_of(ns, ns.publish), ns.node, (s.db_floor, s.db_ceil),
                          publish_audio=getattr(ns, "publish_audio", False))
    if publisher.publish_audio:
        session.pipeline.worker.consumers.append(publisher)
    publisher.update(session)
    publisher.start()
    return publisher


class ProblemPrinter:
    """Prints each of the session's problems on stderr once, when it appears or changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._shown: dict[str, str] = {}
        self._version = -1

    def print_new(self) -> None:
        problems = self.session.problems
        if problems.version == self._version:
            return
        self._version = problems.version
        for p in reversed(problems.items()):
            if self._shown.get(p.key) != p.text:
                self._shown[p.key] = p.text
                print(f"{PROG}: {p.text}", file=sys.stderr, flush=True)


def _extra(classifier, publisher=None) -> dict:
    out = {"top": classifier.top()} if classifier is not None else {}
    if publisher is not None:
        out["publish"] = publisher.counters()
    return out


class OutputClosed(Exception):
    """Whoever read our stdout is gone (``... | head -1``): end the run, keep the files."""


def _emit(stats: IntervalStats, t: float, session: Session, publisher=None) -> None:
    extra = _extra(session.classifier, publisher)
    if session.measurement is not None:
        extra["measure"] = session.measurement.latest()
        worker, s = session.pipeline.worker, session.settings
        extra["measure"]["channels"] = channel_report(worker.channels, s.reference_channel,
                                                      s.compare_channel, worker.clipped_per_channel)
    try:
        print(dumps(stats.line(t, session.status(), extra)), flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so that the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise OutputClosed from None
    stats.reset()


OFFLINE_BLOCK_SECONDS = 2.0  # largest block read and analysed at once offline
DRAIN_SECONDS = 0.1  # how often batches are taken from the worker (its queue is bounded)


def _run_realtime(session: Session, interval, duration, store, stop, reporter,
                  save: Optional[threading.Event] = None, publisher=None) -> None:
    stats = IntervalStats()

    def take() -> None:
        for batch in session.pipeline.worker.drain():
            stats.add(batch)
            if store is not None:
                store.add(batch)
            if publisher is not None:
                publisher.offer(batch)
        if publisher is not None:
            publisher.update(session)

    t0 = time.monotonic()
    next_line = interval
    try:
        while not stop.is_set():
            now = time.monotonic() - t0
            if save is not None and save.is_set():
                save.clear()
                session.save_preroll()  # the problem line names the file
            session.poll()
            reporter.print_new()
            # Nothing is drawn here: the worker passes every IDLE_SECONDS (~80 % less of its
            # CPU, the same batches), unless a publisher streams them to a live viewer.
            session.pipeline.worker.set_idle(publisher is None)
            source = session.pipeline.source
            if source.error and source.kind != "microphone":
                break  # a damaged file does not heal: stop with what was read
            take()
            end = duration is not None and now >= duration
            if now >= next_line or end:
                _emit(stats, now, session, publisher)
                next_line += interval
            if end or source.finished:
                break
            until = min(next_line, duration if duration is not None else next_line)
            stop.wait(min(DRAIN_SECONDS, max(0.0, until - (time.monotonic() - t0))))
    finally:
        # Whatever was captured before stopping is still analysed (by the worker's last pass)
        # and saved, also when the reader of the lines went away (OutputClosed: ``| head -1``;
        # an idle worker may not have passed yet); the worker thread is the only reader of
        # the ring.
        session.stop()
        take()
    # A file's last stretch after the previous line gets a line of its own (a 0.3 s file
    # prints one line, not none).
    if stats.n:
        _emit(stats, time.monotonic() - t0, session, publisher)


def _run_offline(session: Session, interval, duration, store, stop, publisher=None) -> None:
    """As fast as possible, in stream time, on this thread: deterministic and complete."""
    pipeline, classifier = session.pipeline, session.classifier
    source, worker = pipeline.source, pipeline.worker
    sr = source.samplerate
    stats = IntervalStats()
    # Blocks of up to OFFLINE_BLOCK_SECONDS, cut at the output lines: the per-block costs (file
    # read, worker pass, one batch) then count once per ~50 frames instead of once per frame.
    block = max(source.blocksize, int(OFFLINE_BLOCK_SECONDS * sr))
    next_line = interval
    limit = None if duration is None else int(round(duration * sr))
    done = 0
    while not stop.is_set():
        n = max(1, min(block, int(math.ceil(next_line * sr - 1e-9)) - done))
        n = n if limit is None else min(n, limit - done)
        data = source.render(n) if n > 0 else np.zeros((0, source.channels), np.float32)
        if data.shape[0] == 0:
            break
        if pipeline.recorder.path is not None:  # offline, nothing delivers to its tap
            pipeline.recorder.feed(data)
        batch = worker.process(data)
        done += data.shape[0]
        if classifier is not None:
            classifier.wait_idle()
        if session.measurement is not None:
            session.measurement.poll()
        if batch is not None:
            worker.drain()
            stats.add(batch)
            if store is not None:
                store.add(batch)
            if publisher is not None:
                publisher.offer(batch)
                publisher.update(session)
        t = done / sr
        while t >= next_line:
            _emit(stats, next_line, session, publisher)
            next_line += interval
    if classifier is not None:
        # The file's tail after the last full patch is padded into one more, as YAMNet does.
        classifier.flush()
        classifier.wait_idle()
    if stats.n or done / sr > next_line - interval:
        _emit(stats, done / sr, session, publisher)
    if source.error:
        session.problems.report("input", source.error, "error")
