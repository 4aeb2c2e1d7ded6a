"""Streaming detector of dropouts (runs of exact zeros inside signal).

Clipping is counted by :class:`monitor.dsp.clipping.ClipCounter` (one rule for the worker and
the measurements). The detector sees every sample once, block by block, and keeps the run it
is in across blocks, so the counts do not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DropoutDetector"]


def _runs(labels: np.ndarray):
    """Runs of equal labels in ``labels``: (label, start, length) arrays."""
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [labels.size])))
    return labels[starts], starts, lengths


class DropoutDetector:
    """Counts dropouts: runs of at least ``min_run`` exact zeros inside signal.

    Inside signal means: after the first non-zero sample (digital silence of a muted input or
    a starting stream is no dropout), ended by a non-zero sample (a run is counted when the
    signal comes back), and with the sample just before or just after the run at least
    ``min_level`` in magnitude: the zeros of a near-silent 16-bit input (noise of about 1 LSB,
    where runs of zeros are normal) are not dropouts.

    Parameters
    ----------
    min_run : int
        Zeros in a row that make a dropout (a lost buffer is 64 samples or more).
    min_level : float
        Full scale = 1; default 2^-10 (-60 dB, 32 LSB at 16 bits).

    Attributes
    ----------
    last_events : ndarray of int64
        Sample indices (from this detector's first sample) of the first zero of each dropout
        counted by the last :meth:`process` call (a dropout is counted when it ends).
    """

    def __init__(self, min_run: int = 32, min_level: float = 2.0 ** -10) -> None:
        self.min_run = int(min_run)
        self.min_level = float(min_level)
        self.events = 0
        self.samples = 0
        self._seen_signal = False
        self.seen = 0  # samples looked at so far
        self.last_events = np.zeros(0, np.int64)
        self._zeros = 0  # zeros at the end of the stream so far (after signal)
        self._before = 0.0  # |sample| before those zeros (or the last |sample|)

    def process(self, x: np.ndarray) -> None:
        """Look at the next block ``x`` (1-D)."""
        if self.last_events.size:
            self.last_events = np.zeros(0, np.int64)
        if not x.size:
            return
        offset, self.seen = self.seen, self.seen + x.size
        if x.all():  # no zero (the usual case): one pass; only a gap carried in can end here
            magnitude0 = abs(float(x[0]))
            if self._zeros >= self.min_run and max(self._before, magnitude0) >= self.min_level:
                self.events += 1
                self.samples += self._zeros
                self.last_events = np.array([offset - self._zeros], np.int64)
            self._seen_signal = True
            self._zeros, self._before = 0, abs(float(x[-1]))
            return
        ended = []  # a gap carried over from the last block that ends here
        zero = x == 0
        magnitude = np.abs(x)
        run_zero, starts, lengths = _runs(zero)
        totals = lengths.copy()
        before = np.where(starts > 0, magnitude[np.maximum(starts - 1, 0)], self._before)
        after = magnitude[np.minimum(starts + lengths, x.size - 1)]
        if run_zero[0]:
            totals[0] += self._zeros
        elif self._zeros >= self.min_run and max(self._before, magnitude[0]) >= self.min_level:
            self.events += 1  # the last block ended in a gap that ends here
            self.samples += self._zeros
            ended = [offset - self._zeros]
        inside = run_zero & (np.arange(run_zero.size) < run_zero.size - 1)  # the signal came back
        if not self._seen_signal and run_zero[0]:
            inside[0] = False
        dropout = inside & (totals >= self.min_run) & (np.maximum(before, after) >= self.min_level)
        self.events += int(np.count_nonzero(dropout))
        self.samples += int(totals[dropout].sum())
        if ended or dropout.any():
            at = offset + starts[dropout] - (totals[dropout] - lengths[dropout])
            self.last_events = np.concatenate((np.array(ended, np.int64), at.astype(np.int64)))
        self._seen_signal = self._seen_signal or not zero.all()
        if run_zero[-1] and self._seen_signal:
            self._zeros, self._before = int(totals[-1]), float(before[-1])
        else:
            self._zeros, self._before = 0, float(magnitude[-1])
