"""The stream times of the live detectors' recent events, for the marks on the waterfall.

The measurement thread adds events (:meth:`DetectorEvents.add`); the GUI thread reads the ones
it has not seen (:meth:`DetectorEvents.after`, O(new events)) once per display frame. The last
:data:`KEPT` events are kept; older ones are dropped from the deque and counted in
:attr:`DetectorEvents.dropped` (the detectors' own counts are unaffected).
"""

from __future__ import annotations

import collections
import threading

__all__ = ["KEPT", "KINDS", "DetectorEvents"]

KINDS = ("clipping", "dropout", "discontinuity", "dc")  # the detectors, in legend order
KEPT = 1000  # recent events kept (a waterfall full of marks is already far fewer)


class DetectorEvents:
    """A bounded, thread-safe log of ``(sequence, stream time in s, kind)`` events.

    Parameters
    ----------
    kept : int
        Events kept; older ones are dropped and counted.

    Attributes
    ----------
    total : int
        Events ever added (also the sequence number of the newest).
    dropped : int
        Events dropped from the log because newer ones took their place.
    last : dict
        The stream time (s) of each kind's newest event, None before its first.
    """

    def __init__(self, kept: int = KEPT) -> None:
        self._events: collections.deque = collections.deque(maxlen=max(1, int(kept)))
        self._lock = threading.Lock()
        self.total = 0
        self.dropped = 0
        self.last: dict = {kind: None for kind in KINDS}

    def add(self, kind: str, times) -> None:
        """Record events of ``kind`` (one of :data:`KINDS`) at stream ``times`` (s)."""
        if kind not in self.last:
            raise ValueError(f"detector kind must be one of {KINDS}, got {kind!r}")
        times = [float(t) for t in times]
        if not times:
            return
        with self._lock:
            for t in times:
                if len(self._events) == self._events.maxlen:
                    self.dropped += 1
                self.total += 1
                self._events.append((self.total, t, kind))
            self.last[kind] = times[-1]

    def after(self, sequence: int) -> tuple[list[tuple[float, str]], int]:
        """The events added after sequence number ``sequence`` (oldest first, as
        ``(stream time s, kind)``) and the sequence number to ask from next time."""
        with self._lock:
            out = []
            for seq, t, kind in reversed(self._events):
                if seq <= sequence:
                    break
                out.append((t, kind))
            return out[::-1], self.total

    def __len__(self) -> int:
        return len(self._events)

    def newer_than(self, time_s: float) -> list[tuple[float, str]]:
        """The kept events later than stream time ``time_s`` (s), oldest first."""
        with self._lock:
            return [(t, kind) for _, t, kind in self._events if t > time_s]

    def summary(self) -> dict:
        """JSON-ready: events kept and dropped, and each kind's last stream time (s)."""
        with self._lock:
            return {"kept": len(self._events), "dropped": self.dropped,
                    "last_time_s": {k: (None if v is None else round(v, 4)) for k, v in self.last.items()}}
