"""Chunk-and-aggregate: smoothing per-patch scores, the event log and the watch list.

All of it is plain Python + numpy, run on the classifier's thread, one patch at a time.
"""

from __future__ import annotations

import collections
import csv
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from monitor.outputs import csv_text_cell, write_atomically

__all__ = ["ScoreSmoother", "ranked", "Event", "EventLog", "Alert", "WatchList", "write_events_csv",
           "EVENTS_CSV_HEADER"]


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


@dataclass(frozen=True)
class Event:
    """A stretch of time during which a label was among the top labels shown.

    Attributes
    ----------
    start : float
        Stream time the first patch in which it showed began, seconds.
    label : str
    peak : float
        Highest smoothed score during the event.
    duration : float
        Seconds from ``start`` to the end of the last patch in which it showed.
    open : bool
        Still going on.
    """

    start: float
    label: str
    peak: float
    duration: float
    open: bool = False

    def as_row(self) -> list:
        return [f"{self.start:.3f}", self.label, f"{self.peak:.4f}", f"{self.duration:.3f}"]


class EventLog:
    """Turns the labels shown after each patch into events (start, label, peak, duration).

    Parameters
    ----------
    max_events : int
        Oldest closed events are forgotten beyond this many.
    """

    def __init__(self, max_events: int = 10000) -> None:
        self.closed: collections.deque = collections.deque(maxlen=max_events)
        self.open: dict[str, Event] = {}

    def update(self, shown: Iterable, start: float, end: float) -> None:
        """One patch ``[start, end)`` (stream seconds) showed ``shown`` = ``[[label, score]...]``."""
        now = dict((label, score) for label, score in shown)
        for label in list(self.open):
            if label not in now:
                ev = self.open.pop(label)
                self.closed.append(Event(ev.start, label, ev.peak, ev.duration))
        for label, score in now.items():
            ev = self.open.get(label)
            if ev is None:
                self.open[label] = Event(start, label, score, end - start, open=True)
            else:
                self.open[label] = Event(ev.start, label, max(ev.peak, score), end - ev.start, True)

    def close_all(self) -> None:
        for label in list(self.open):
            ev = self.open.pop(label)
            self.closed.append(Event(ev.start, label, ev.peak, ev.duration))

    def snapshot(self) -> tuple:
        """Every event, closed and open, ordered by start time."""
        return tuple(sorted(list(self.closed) + list(self.open.values()),
                            key=lambda e: (e.start, e.label)))


EVENTS_CSV_HEADER = ("start_s", "label", "peak_score", "duration_s")


def write_events_csv(path: str, events: Iterable[Event], option: Optional[str] = None) -> None:
    """Write ``start_s,label,peak_score,duration_s`` rows (one per event) to ``path``.

    Written as every output is (:func:`monitor.outputs.write_atomically`): a new file, never
    over an existing name or through a link, whole or not at all. A label starting with
    ``= + - @`` (a labels file can name anything) is written with a leading apostrophe, so a
    spreadsheet shows it instead of running it as a formula.

    Raises
    ------
    ParameterError
        One line: the name is taken, or the write failed (the disk is named).
    """
    rows = [ev.as_row() for ev in events]

    def write(f) -> None:
        writer = csv.writer(f)
        writer.writerow(EVENTS_CSV_HEADER)
        for row in rows:
            writer.writerow([csv_text_cell(cell) for cell in row])

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
