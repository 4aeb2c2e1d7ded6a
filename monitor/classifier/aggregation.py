"""Chunk-and-aggregate: smoothing per-patch scores, the event log and the watch list.

All of it is plain Python + numpy, run on the classifier's thread, one patch at a time.
"""

from __future__ import annotations

import bisect
import collections
import csv
import dataclasses
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from monitor.errors import ParameterError
from monitor.output_streams import CsvStream
from monitor.outputs import csv_text_cell, write_atomically

__all__ = ["ScoreSmoother", "ranked", "Event", "EventLog", "EventsCsv", "CSV_HEADER", "Alert",
           "WatchList", "write_events_csv"]


class ScoreSmoother:
    """Mean or max of the per-patch scores over the last ``n`` patches.

    Parameters
    ----------
    n : int
        Patches smoothed over (0.48 s each).
    mode : {'mean', 'max'}
    """

    def __init__(self, n: int = 3, mode: str = "mean") -> None:
        self.n = n
        self.mode = mode
        self._recent: collections.deque = collections.deque(maxlen=n)

    def configure(self, n: int, mode: str) -> None:
        """Change the window or the mode; the patches already seen are kept (the newest ``n``)."""
        if n != self.n:
            self._recent = collections.deque(self._recent, maxlen=n)
        self.n, self.mode = n, mode

    def reset(self) -> None:
        self._recent.clear()

    def add(self, scores: np.ndarray) -> np.ndarray:
        """Add one patch's scores; return the smoothed scores (same shape, float32)."""
        self._recent.append(np.asarray(scores, dtype=np.float32))
        stack = np.stack(self._recent)
        return (stack.max(axis=0) if self.mode == "max" else stack.mean(axis=0)).astype(np.float32)


def ranked(scores: np.ndarray, labels: Sequence[str], threshold: float, k: Optional[int] = None,
           tree=None) -> list:
    """``[[label, score], ...]`` of the scores at or above ``threshold``, best first.

    Parameters
    ----------
    scores : ndarray (n_classes,)
    labels : sequence of str
    threshold : float
        Scores under it are left out.
    k : int, optional
        Keep the best ``k``.
    tree : LabelTree, optional
        Reorder the kept labels most specific first.
    """
    idx = np.flatnonzero(scores >= threshold)
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    if k is not None:
        idx = idx[:k]
    out = [[labels[i], round(float(scores[i]), 4)] for i in idx]
    return tree.specific_first(out) if tree is not None else out


@dataclass(frozen=True, slots=True)
class Event:
    """A stretch of time during which a label was among the top labels shown.

    Attributes
    ----------
    start : float
        Stream time the sound began, seconds (see :mod:`monitor.classifier.timing`; without
        timing, the start of the first patch in which it showed).
    label : str
    peak : float
        Highest smoothed score during the event.
    duration : float
        Seconds from ``start`` to the sound's end (while open: to the end of the latest patch).
    open : bool
        Still going on.
    wall : float or None
        Wall-clock time of ``start`` (``time.time()`` seconds), when known.
    clip : str or None
        The clip saved for it (``--save-clips``), when one was.
    """

    start: float
    label: str
    peak: float
    duration: float
    open: bool = False
    wall: Optional[float] = None
    clip: Optional[str] = None

    @property
    def end(self) -> float:
        """Stream time the sound ended (or the latest patch ends, while open), seconds."""
        return self.start + self.duration

    def as_row(self) -> list:
        """The CSV cells: see :data:`CSV_HEADER`."""
        wall = "" if self.wall is None else time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(self.wall)) + f".{int(self.wall % 1 * 1000):03d}"
        return [wall, f"{self.start:.3f}", f"{self.end:.3f}", self.label, f"{self.peak:.4f}",
                f"{self.duration:.3f}", os.path.basename(self.clip) if self.clip else ""]


#: Columns of the events CSV: local wall-clock time of the start (ISO 8601, milliseconds),
#: stream seconds of the start and the end, label, peak smoothed score, duration in seconds,
#: the clip's file name.
CSV_HEADER = ["start_local", "start_s", "end_s", "label", "peak_score", "duration_s", "clip"]


class EventLog:
    """Turns the labels shown after each patch into events (start, label, peak, duration).

    Parameters
    ----------
    max_events : int
        Oldest closed events are forgotten beyond this many (the display's log; an
        :class:`EventsCsv` keeps them all).
    on_close : callable, optional
        ``on_close(event)``, called with each event as it closes.
    """

    def __init__(self, max_events: int = 10000,
                 on_close: Optional[Callable[[Event], None]] = None) -> None:
        self.max_events = max(1, int(max_events))
        # Closed events by (start, label), kept sorted as they close, and their tuple: a
        # snapshot (one per patch) only slots the few open events in. Sorting all of them at
        # every patch took 15-40 ms a patch with the log full (10000 events), twice a second.
        self._closed: list = []
        self._keys: list = []
        self._closed_tuple: tuple = ()
        self.open: dict[str, Event] = {}
        self.on_close = on_close
        self._ended: dict[str, float] = {}  # label -> end of its last closed event, s

    def update(self, shown: Iterable, start: float, end: float,
               onset: Optional[Callable[[str], float]] = None,
               offset: Optional[Callable[[str, float], Optional[float]]] = None,
               wall_offset: Optional[float] = None) -> None:
        """One patch ``[start, end)`` (stream seconds) showed ``shown`` = ``[[label, score]...]``.

        ``onset(label)`` gives the start of an event that opens now, ``offset(label, start)``
        the end of one that closes now (None: the end of the last patch that showed it);
        ``wall_offset`` is wall-clock minus stream time, seconds.
        """
        now = dict((label, score) for label, score in shown)
        for label in list(self.open):
            if label not in now:
                self._close(label, offset)
        for label, score in now.items():
            ev = self.open.get(label)
            if ev is None:
                # Never before the same label's previous event ended (a re-struck chime).
                t0 = start if onset is None else min(max(onset(label),
                                                         self._ended.get(label, -np.inf)), end)
                wall = None if wall_offset is None else t0 + wall_offset
                self.open[label] = Event(t0, label, score, end - t0, True, wall)
            else:
                self.open[label] = dataclasses.replace(ev, peak=max(ev.peak, score),
                                                       duration=end - ev.start)

    def close_all(self, offset: Optional[Callable[[str, float], Optional[float]]] = None) -> None:
        for label in list(self.open):
            self._close(label, offset)

    def attach_clip(self, label: str, path: str) -> bool:
        """Name the clip saved for the open event of ``label``; False when none is open."""
        ev = self.open.get(label)
        if ev is None:
            return False
        self.open[label] = dataclasses.replace(ev, clip=path)
        return True

    def _close(self, label: str, offset) -> None:
        ev = self.open.pop(label)
        t1 = offset(label, ev.start) if offset is not None else None
        duration = ev.duration if t1 is None else max(MIN_DURATION, min(t1, ev.end) - ev.start)
        closed = dataclasses.replace(ev, duration=duration, open=False)
        self._ended[label] = closed.end
        key = _order(closed)
        i = bisect.bisect_right(self._keys, key)  # after equal keys: in closing order
        self._keys.insert(i, key)
        self._closed.insert(i, closed)
        if len(self._closed) > self.max_events:  # forget the oldest
            del self._keys[0], self._closed[0]
        self._closed_tuple = tuple(self._closed)
        if self.on_close is not None:
            self.on_close(closed)

    @property
    def closed(self) -> tuple:
        """The closed events kept (at most ``max_events``), ordered by start time."""
        return self._closed_tuple

    def snapshot(self) -> tuple:
        """Every event, closed and open, ordered by start time (then label; an open event
        after closed ones of the same start and label)."""
        closed = self._closed_tuple
        if not self.open:
            return closed
        out, done = (), 0
        for ev in sorted(self.open.values(), key=_order):  # a few (EVENT_TOP_K at most)
            i = bisect.bisect_right(self._keys, _order(ev), done)
            out += closed[done:i] + (ev,)
            done = i
        return out + closed[done:]


def _order(ev: Event) -> tuple:
    return ev.start, ev.label


MIN_DURATION = 0.01  # s: an event lasts at least one envelope frame


def _csv_cells(ev: Event) -> list:
    # Text cells a spreadsheet will not run (a custom labels file may hold anything).
    return [csv_text_cell(cell) for cell in ev.as_row()]


class EventsCsv:
    """The events CSV, appended as each event closes: every event, however long the run.

    A :class:`monitor.output_streams.CsvStream` synced at every row: created exclusively
    (never overwritten, never through a symbolic link), each event durable on disk as it is
    written, so a crash (kill -9) loses only the events still open. A write that fails (a full
    disk) cuts the file back to the last whole row and is kept in :attr:`error`, not raised:
    the classifier goes on, the session shows the message.

    Parameters
    ----------
    path : str
    option : str, optional
        The command-line option that named it, for messages.
    """

    def __init__(self, path: str, option: Optional[str] = "--events-csv") -> None:
        self.path = path
        self.option = option
        self.rows = 0
        self.error: Optional[str] = None
        self._lock = threading.Lock()
        self._out = CsvStream(path, CSV_HEADER, option, batch_rows=1)

    def add(self, ev: Event) -> None:
        """Append one closed event (any thread)."""
        with self._lock:
            if self._out.closed or self.error:
                return
            try:
                self._out.write_row(ev.as_row())
                self.rows += 1
            except ParameterError as exc:
                self.error = f"the events CSV stopped: {exc}"

    def close(self) -> None:
        with self._lock:
            try:
                self._out.close()
            except ParameterError as exc:
                self.error = self.error or f"the events CSV stopped: {exc}"


def write_events_csv(path: str, events: Iterable[Event], option: Optional[str] = None) -> None:
    """Write the events (one row each, :data:`CSV_HEADER`) to a new file ``path``, whole or
    not at all (:func:`monitor.outputs.write_atomically`). Raises ParameterError (one line)."""
    rows = [_csv_cells(ev) for ev in events]

    def write(f) -> None:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)

    write_atomically(path, write, option, text=True)


@dataclass(frozen=True)
class Alert:
    """A watched label crossed its threshold (rising edge) in the patch starting at ``time``."""

    time: float  # stream seconds
    label: str
    score: float
    threshold: float


class WatchList:
    """Labels the user watches, each with a threshold on its smoothed score.

    Parameters
    ----------
    watch : sequence of (label_index, label, threshold)
    max_alerts : int
    """

    def __init__(self, watch: Sequence = (), max_alerts: int = 1000) -> None:
        self.watch = tuple(watch)
        self.alerts: collections.deque = collections.deque(maxlen=max_alerts)
        self.active: frozenset = frozenset()

    def configure(self, watch: Sequence) -> None:
        self.watch = tuple(watch)
        names = {label for _, label, _ in self.watch}
        self.active = frozenset(a for a in self.active if a in names)

    def update(self, smoothed: np.ndarray, time: float) -> list:
        """Check one patch's smoothed scores; return the alerts that fired now."""
        fired = []
        active = set()
        for index, label, threshold in self.watch:
            score = float(smoothed[index])
            if score >= threshold:
                active.add(label)
                if label not in self.active:
                    fired.append(Alert(time, label, round(score, 4), threshold))
        self.active = frozenset(active)
        self.alerts.extend(fired)
        return fired
