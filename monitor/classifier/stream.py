"""The live classifier: audio blocks in (any rate), smoothed AudioSet scores out, on its own thread.

``feed`` (analysis worker thread) only copies the block into a queue. The classifier's daemon
thread resamples to 16 kHz with a streaming soxr resampler, computes YAMNet log-mel patches,
runs the model on each and aggregates. The GUI and the headless runner read immutable
snapshots that the classifier thread swaps in whole after each patch (a reference assignment,
atomic under the GIL), so readers never lock and never see a half-updated state.
"""

from __future__ import annotations

import collections
import difflib
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import soxr

from monitor.classifier.aggregation import (EventLog, ScoreSmoother, WatchList, ranked,
                                            write_events_csv)
from monitor.classifier.frontend import (PATCH_HOP_SAMPLES, PATCH_SAMPLES, SAMPLE_RATE,
                                         LogMelFrontend)
from monitor.classifier.model import YamnetModel
from monitor.classifier.ontology import LabelTree
from monitor.classifier.timing import EventTimes
from monitor.settings import ParameterError, Settings
from monitor.threads import NamedThread, Restartable

__all__ = ["SoundEventClassifier", "StreamingResampler", "PatchResult", "Snapshot", "resolve_watch",
           "EVENT_TOP_K"]

EVENT_TOP_K = 5  # labels shown at once; an event is a label's stay among them
HISTORY_MARGIN_PATCHES = 8  # kept beyond the waterfall's span, for the strip's left edge


def history_patches(history_seconds: float) -> int:
    """Patch results worth keeping: as many as cover the waterfall (memory stays flat)."""
    return int(np.ceil(history_seconds / (PATCH_HOP_SAMPLES / SAMPLE_RATE))) + HISTORY_MARGIN_PATCHES
TIMING_FLOOR = 0.05  # a patch's raw score at or above this (or the threshold) "heard" a label
# The thread is woken by feed when the audio fed completes the next patch (~3 times a second
# live): waking it every 0.1 s of audio and every 0.1 s of wait (18 times a second) cost the
# thread 1.7 % of a core in the app against 1.4 (bench.app_ab; bench.thread_cpu 10.8 -> 9.5 ms
# per s of audio).
WAKE_SECONDS = 1.0  # audio queued before the thread is woken at the latest
WAIT_SECONDS = 1.0  # the thread also wakes this often on its own (a safety net)
# Patches scored in one run of the model when several are ready (a backlog). Runs of 2 cost
# ~20 % less CPU a patch and runs of 4 ~33 % less, but onnxruntime keeps the larger buffers
# for good: +1.6 MiB of RSS after runs of 2, +3.8 after 4, +20 after 16 (bench/findings.md);
# a backlog is rare live, the memory would stay.
MAX_RUN_PATCHES = 1
MAX_QUEUE_SECONDS = 10.0  # audio waiting for the classifier beyond this is dropped, oldest first
_FLUSH = object()


class StreamingResampler:
    """Anti-aliased resampling of a stream to 16 kHz (soxr, high quality), block by block.

    No sample is dropped or repeated however the stream is cut; soxr keeps its filter state
    between blocks and withholds the last few output samples until the next block (or
    :meth:`finish`).

    Parameters
    ----------
    rate : float
        Input sample rate, Hz.
    """

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._soxr = (None if self.rate == SAMPLE_RATE else
                      soxr.ResampleStream(self.rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ"))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block (1-D float32); returns the 16 kHz samples ready so far."""
        block = np.asarray(block, dtype=np.float32)
        return block if self._soxr is None else self._soxr.resample_chunk(block)

    def finish(self) -> np.ndarray:
        """The samples still held back at the end of the stream."""
        if self._soxr is None:
            return np.zeros(0, np.float32)
        return self._soxr.resample_chunk(np.zeros(0, np.float32), last=True)


@dataclass(frozen=True)
class PatchResult:
    """Scores of one patch. Times are stream seconds of the audio the patch covers."""

    index: int
    start: float
    end: float
    scores: np.ndarray  # (n_classes,) float32, this patch alone
    smoothed: np.ndarray  # (n_classes,) float32, over the last N patches


@dataclass(frozen=True)
class Snapshot:
    """Everything readers see, replaced whole after each patch."""

    seq: int = 0  # patches classified since start; changes whenever anything else does
    latest: Optional[PatchResult] = None
    results: tuple = ()  # recent PatchResults, oldest first
    events: tuple = ()  # Events by start time (closed and open)
    alerts: tuple = ()  # Alerts, oldest first
    active_watch: frozenset = field(default_factory=frozenset)  # watched labels over threshold


def resolve_watch(watch: Sequence, labels: Sequence[str]) -> tuple:
    """``((label, threshold), ...)`` → ``((index, canonical label, threshold), ...)``.

    Labels match case-insensitively. Raises :class:`ParameterError` naming the closest labels
    for an unknown one, or for a threshold outside 0..1.
    """
    lower = {name.lower(): i for i, name in enumerate(labels)}
    out = []
    for item in watch:
        try:
            label, threshold = item
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise ParameterError(f"watch entries are LABEL@THRESHOLD, got {item!r}") from None
        i = lower.get(str(label).strip().lower())
        if i is None:
            close = difflib.get_close_matches(str(label), labels, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ParameterError(f"unknown label to watch: {label!r}{hint}")
        if not 0.0 <= threshold <= 1.0:
            raise ParameterError(f"watch threshold for {labels[i]!r} must be from 0 to 1, "
                                 f"got {threshold:g}")
        out.append((i, labels[i], threshold))
    return tuple(out)


class SoundEventClassifier(Restartable):
    """YAMNet on a live stream: per-patch scores every 0.48 s, smoothed, logged and watched.

    Parameters
    ----------
    model : YamnetModel
    settings : Settings
        Uses ``aggregate``, ``smooth_patches``, ``threshold``, ``specific_first``, ``watch``.
    tree : LabelTree, optional
        For "most specific first"; default: the shipped AudioSet parent map.
    start : bool
        Start the thread now.

    Notes
    -----
    Thread safety: :meth:`feed` is called from the analysis worker, :meth:`apply_settings`,
    :meth:`top` and the attributes from any thread; the heavy work is on the classifier's own
    thread, which publishes an immutable :class:`Snapshot`.
    """

    def __init__(self, model: YamnetModel, settings: Settings, tree: Optional[LabelTree] = None,
                 start: bool = True) -> None:
        self.model = model
        self.labels: tuple = model.labels
        self.tree = tree if tree is not None else LabelTree.from_tsv(labels=self.labels)
        self._settings = settings
        self._watch = resolve_watch(settings.watch, self.labels)
        self.snapshot = Snapshot()
        self.dropped_seconds = 0.0  # audio dropped because the classifier fell behind
        self.error: Optional[str] = None  # set if the model failed while running
        self._queue: collections.deque = collections.deque()
        self._unwoken_seconds = 0.0  # audio fed since the thread was last woken, s
        # Stream time at which the audio fed completes the next patch (set by the classifier
        # thread; -inf: at once); feed wakes the thread from then on, or at a new stream.
        self._due = -np.inf
        self._fed_rate: Optional[float] = None
        self._fed_end: Optional[float] = None  # stream time at the end of the last block fed
        # Each counter has one writer (feeder, classifier thread), so no lock is needed.
        self._fed_seconds = 0.0
        self._taken_seconds = 0.0
        self._fed = 0
        self._done = 0
        self._idle = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Classifier-thread state.
        self._smoother = ScoreSmoother(settings.smooth_patches, settings.aggregate)
        self._events = EventLog(on_close=self._event_closed)
        self._times = EventTimes()
        self._index = {label: i for i, label in enumerate(self.labels)}
        self._wall_offset: Optional[float] = None  # wall clock minus stream time, s
        self._clip_requests: collections.deque = collections.deque()  # (label, path)
        self.events_csv = None  # an EventsCsv, appended as each event closes
        self._watchlist = WatchList(self._watch)
        self._results: collections.deque = collections.deque(maxlen=history_patches(settings.history))
        self._rate: Optional[float] = None
        self._resampler = None
        self._frontend: Optional[LogMelFrontend] = None
        self._origin = 0.0  # stream time of the first sample of the current stream
        self._samples16 = 0  # 16 kHz samples given to the frontend in the current stream
        self._expected: Optional[float] = None  # stream time the next block should start at
        self._last_time = -np.inf  # stream time at the end of the latest block
        self._seq = 0
        self._thread: Optional[threading.Thread] = None
        if start:
            self.start()

    # -- any thread -----------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._spawn()

    def _spawn(self) -> None:
        self._thread = NamedThread(target=self._run, name="classifier", daemon=True)
        self._thread.start()

    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None:
        """Queue a block of mono audio; cheap and non-blocking (called from the worker thread).

        Parameters
        ----------
        mono : ndarray (n,)
            Samples; copied.
        samplerate : float
            Hz.
        stream_time : float
            Stream time at the end of the block, seconds.
        """
        n = len(mono)
        if n == 0 or self._stop.is_set():
            return  # closed (or failed): nothing would take it off the queue
        self._queue.append((np.array(mono, dtype=np.float32), float(samplerate), float(stream_time),
                            time.time()))
        self._fed_seconds += n / samplerate
        with self._idle:
            self._fed += 1
        # Wake the thread when a patch is complete, not for every worker pass (~100 a second
        # live): each wake costs a resampler and frontend call (WAKE_SECONDS above).
        end = float(stream_time)
        new_stream = (samplerate != self._fed_rate or self._fed_end is None
                      or abs(end - n / samplerate - self._fed_end) > 2.0 / samplerate)
        self._fed_rate, self._fed_end = samplerate, end
        self._unwoken_seconds += n / samplerate
        if end >= self._due or new_stream or self._unwoken_seconds >= WAKE_SECONDS:
            self._unwoken_seconds = 0.0
            self._wake.set()

    def flush(self) -> None:
        """Finish the stream: the audio after the last full patch is padded with zeros into one
        more patch, as YAMNet does at the end of a file. The next block starts a new stream."""
        self._queue.append(_FLUSH)
        with self._idle:
            self._fed += 1
        self._wake.set()

    def wait_idle(self, timeout: Optional[float] = 30.0) -> bool:
        """Block until everything fed so far has been classified; False on timeout (or if the
        thread is not running)."""
        self._wake.set()  # whatever was fed since the last wake is taken now
        with self._idle:
            return self._idle.wait_for(
                lambda: self._done >= self._fed or self._thread is None or not self._thread.is_alive(),
                timeout) and self._done >= self._fed

    def close(self) -> None:
        """Stop the thread (returns within a second or so, never hangs); open events are
        closed. The results, events and alerts stay readable."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
            if not thread.is_alive():
                # Release the soxr stream now rather than at interpreter exit, where nanobind
                # reports objects still alive as leaks.
                self._resampler = None
        if thread is None or not thread.is_alive():  # nobody else touches the log now
            if self._events.open:
                self._events.close_all(self._offset)
                self._publish(self.snapshot.latest)
            if self.events_csv is not None:
                self.events_csv.close()
        with self._idle:
            self._idle.notify_all()

    def apply_settings(self, settings: Settings) -> None:
        """Use new aggregation/threshold/watch settings from the next patch on (the threshold
        and ordering of :meth:`top` at once). Raises :class:`ParameterError` for an unknown
        watched label; nothing changes then."""
        self._watch = resolve_watch(settings.watch, self.labels)
        self._settings = settings

    def top(self, k: int = 5) -> list:
        """``[[label, score], ...]``: the best ``k`` smoothed scores of the latest patch at or
        above the threshold, best first (or most specific first, per the settings)."""
        latest = self.snapshot.latest
        if latest is None:
            return []
        s = self._settings
        return ranked(latest.smoothed, self.labels, s.threshold, k,
                      self.tree if s.specific_first else None)

    @property
    def events(self) -> tuple:
        """The event log: :class:`~monitor.classifier.aggregation.Event` s by start time."""
        return self.snapshot.events

    @property
    def alerts(self) -> tuple:
        """Watch-list alerts fired so far, oldest first."""
        return self.snapshot.alerts

    @property
    def results(self) -> tuple:
        """Recent :class:`PatchResult` s, oldest first (about the last 10 minutes)."""
        return self.snapshot.results

    def write_events_csv(self, path: str, option: Optional[str] = None) -> None:
        """Write the event log as a new CSV file (columns:
        :data:`~monitor.classifier.aggregation.CSV_HEADER`). Raises :class:`ParameterError`
        (one line) if the name is taken or the write fails."""
        write_events_csv(path, self.events, option)

    def log_events_to(self, path: str) -> None:
        """Append every event to the new CSV file ``path`` as it closes, from now on (the
        events already closed first). Raises ParameterError if the file exists or cannot be
        made."""
        from monitor.classifier.aggregation import EventsCsv

        out = EventsCsv(path)
        for ev in self.snapshot.events:
            if not ev.open:
                out.add(ev)
        self.events_csv = out

    def attach_clip(self, label: str, path: str) -> None:
        """Name ``path`` in the row of the open event of ``label`` (any thread; done on the
        classifier thread before the next patch)."""
        self._clip_requests.append((label, path))
        self._wake.set()

    def activity(self, labels: Sequence[str], since: float = -np.inf, smoothed: bool = True) -> tuple:
        """When ``labels`` were active: for the activity strip under the waterfall.

        Returns
        -------
        starts, ends : ndarray (n,)
            Stream seconds each patch covers; patches ending after ``since`` only.
        scores : ndarray (n, len(labels))
            Smoothed scores of the labels (``smoothed=False``: each patch's own), NaN for a
            label the model does not have.
        """
        results = [r for r in self.snapshot.results if r.end > since]
        index = {name: i for i, name in enumerate(self.labels)}
        cols = [index.get(name, -1) for name in labels]
        starts = np.array([r.start for r in results], dtype=np.float64)
        ends = np.array([r.end for r in results], dtype=np.float64)
        scores = np.full((len(results), len(cols)), np.nan, dtype=np.float32)
        for row, r in enumerate(results):
            for c, i in enumerate(cols):
                if i >= 0:
                    scores[row, c] = r.smoothed[i] if smoothed else r.scores[i]
        return starts, ends, scores

    # -- classifier thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(WAIT_SECONDS)
            self._wake.clear()
            if not self.drain():
                return
        with self._idle:
            self._idle.notify_all()

    def drain(self) -> bool:
        """Classify everything queued, on the calling thread (the classifier's own, or a
        benchmark's when it was not started); False after a failure (:attr:`failure`).

        Consecutive blocks of one stream are joined and resampled and framed as one (a wake
        takes ~10 worker blocks): the soxr stream and the frontend give the same samples and
        frames however the stream is cut, so the patches, and the scores, are the same.
        """
        run: list = []  # (mono, rate, stream_time, wall offset) of blocks that continue each other
        item = None  # the block taken off the queue and not yet in run nor finished
        try:
            while self._queue and not self._stop.is_set():
                item = self._queue.popleft()
                if item is _FLUSH:
                    self._process_run(run)
                    self._flush()
                    item = self._finished(1)
                    continue
                mono, rate, stream_time, wall = item
                self._taken_seconds += len(mono) / rate
                if self._fed_seconds - self._taken_seconds > MAX_QUEUE_SECONDS:
                    self._process_run(run)
                    self.dropped_seconds += len(mono) / rate
                    self._expected = None  # a gap: the next block starts a new stream
                    item = self._finished(1)
                    continue
                if run and not (rate == run[-1][1]
                                and abs(stream_time - len(mono) / rate - run[-1][2]) <= 2.0 / rate):
                    self._process_run(run)
                run.append((mono, rate, stream_time, wall - stream_time))
                item = None
            self._process_run(run)
            self._due = self._next_due()
        except Exception as exc:  # noqa: BLE001 - reported; the session restarts us
            self.failure = f"{type(exc).__name__}: {exc}"
            self._expected = None  # the restarted thread begins a new stream
            self._due = -np.inf
            self._finished(len(run) + (item is not None))
            return False
        return True

    def _process_run(self, run: list) -> None:
        """Classify the blocks of ``run`` (one stream, in order) as one block; empties it."""
        if not run:
            return
        mono = run[0][0] if len(run) == 1 else np.concatenate([r[0] for r in run])
        count = len(run)
        self._wall_offset = run[-1][3]
        self._process(mono, run[-1][1], run[-1][2])
        run.clear()
        self._finished(count)

    def _next_due(self) -> float:
        """Stream time (s) at which the audio fed should complete the next patch, -inf when
        unknown: the 16 kHz samples it lacks after those given to the frontend, with the
        resampler holding back as many as now. Its holdback moves between ~10 and ~36 ms
        (soxr HQ, 48 kHz in 10 ms blocks), so a patch is found up to a few blocks after the
        one completing it; if it is not complete yet, the next block wakes the thread again."""
        if self._frontend is None or self._expected is None:
            return -np.inf
        missing = self._frontend.next_patch_end - self._samples16
        return self._expected + max(0, missing) / SAMPLE_RATE

    def _finished(self, count: int) -> None:
        """``count`` more queued items are done (wakes :meth:`wait_idle`); returns None."""
        with self._idle:
            self._done += count
            self._idle.notify_all()

    def _new_stream(self, rate: float, origin: float) -> None:
        self._rate = rate
        self._resampler = StreamingResampler(rate)
        self._frontend = LogMelFrontend()
        self._origin = origin
        self._samples16 = 0
        self._smoother.reset()
        self._times.reset()

    def _process(self, mono: np.ndarray, rate: float, stream_time: float) -> None:
        begin = stream_time - len(mono) / rate
        tolerance = 2.0 / rate
        if begin < self._last_time - tolerance:
            # Stream time went back: a new source. Its times would overlap the old history.
            self._results.clear()
            self._expected = None
        self._last_time = stream_time
        if (rate != self._rate or self._expected is None
                or abs(begin - self._expected) > tolerance):
            self._events.close_all(self._offset)
            self._new_stream(rate, begin)
        self._expected = stream_time
        samples = self._resampler.process(mono)
        self._classify(samples)

    def _flush(self) -> None:
        if self._frontend is None or self._expected is None:
            return
        tail = self._resampler.finish()
        total = self._samples16 + len(tail)
        # Pad as YAMNet does: at least one patch, and a whole number of patch hops after it.
        after = max(0, total - PATCH_SAMPLES)
        pad = max(0, PATCH_SAMPLES - total) + (-after) % PATCH_HOP_SAMPLES
        self._classify(np.concatenate((tail, np.zeros(pad, np.float32))))
        self._events.close_all(self._offset)
        self._expected = None
        self._publish(self.snapshot.latest)

    def _classify(self, samples16: np.ndarray) -> None:
        self._samples16 += len(samples16)
        patches = self._frontend.process(samples16)
        if not patches:
            return
        stack = np.stack([p.log_mel for p in patches])
        batch = np.concatenate([self.model.scores_batch(stack[i:i + MAX_RUN_PATCHES])
                                for i in range(0, len(stack), MAX_RUN_PATCHES)])
        for patch, scores in zip(patches, batch):
            settings = self._settings
            self._smoother.configure(settings.smooth_patches, settings.aggregate)
            keep = history_patches(settings.history)
            if self._results.maxlen != keep:
                self._results = collections.deque(self._results, maxlen=keep)
            if self._watchlist.watch is not self._watch:
                self._watchlist.configure(self._watch)
            smoothed = self._smoother.add(scores)
            start = self._origin + patch.index * PATCH_HOP_SAMPLES / SAMPLE_RATE
            end = start + PATCH_SAMPLES / SAMPLE_RATE
            result = PatchResult(patch.index, start, end, scores, smoothed)
            self._results.append(result)
            self._times.add(start, end, scores, patch.log_mel)
            self._times.floor = min(TIMING_FLOOR, settings.threshold)
            lookback = settings.smooth_patches - 1
            self._attach_clips()
            self._events.update(ranked(smoothed, self.labels, settings.threshold, EVENT_TOP_K),
                                start, end,
                                onset=lambda label: self._times.onset(self._index[label], lookback),
                                offset=self._offset, wall_offset=self._wall_offset)
            self._watchlist.update(smoothed, start)
            self._publish(result)

    def _offset(self, label: str, start: float) -> Optional[float]:
        return self._times.offset(self._index[label], start)

    def _attach_clips(self) -> None:
        while self._clip_requests:
            label, path = self._clip_requests.popleft()
            self._events.attach_clip(label, path)

    def _event_closed(self, event) -> None:
        if self.events_csv is not None:
            self.events_csv.add(event)

    def _publish(self, latest: Optional[PatchResult]) -> None:
        self._seq += 1
        self.snapshot = Snapshot(self._seq, latest, tuple(self._results), self._events.snapshot(),
                                 tuple(self._watchlist.alerts), self._watchlist.active)
