"""Streaming detectors of clipping (runs at the rail) and dropouts (runs of exact zeros).

Both see every sample once, block by block, and keep the run they are in across blocks, so the
counts do not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RAIL", "ClipDetector", "DropoutDetector"]

# Full scale as the converter delivers it: int16's largest positive sample is 32767/32768, so
# that value (and anything at or beyond it, e.g. float sources) counts as the rail; the negative
# rail is -1. 24- and 32-bit full scale (8388607/8388608 ...) is above it and counts too.
RAIL = 32767.0 / 32768.0


def _runs(labels: np.ndarray):
    """Runs of equal labels in ``labels``: (label, start, length) arrays."""
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [labels.size])))
    return labels[starts], starts, lengths


class ClipDetector:
    """Counts clipping: runs of at least ``min_run`` consecutive samples at the same rail.

    A run is counted as one event as soon as it reaches ``min_run`` samples; ``samples`` counts
    every sample of counted runs.

    Parameters
    ----------
    min_run : int
        Samples at the rail that make a clip (2: one full-scale peak of a healthy signal is not
        clipping).
    """

    def __init__(self, min_run: int = 2) -> None:
        self.min_run = int(min_run)
        self.events = 0
        self.samples = 0
        self._label, self._length = 0, 0  # the run the last block ended in

    def process(self, x: np.ndarray) -> None:
        """Look at the next block ``x`` (1-D, full scale +-1)."""
        if not x.size:
            return
        labels = (x >= RAIL).astype(np.int8) - (x <= -RAIL).astype(np.int8)
        run_labels, _, lengths = _runs(labels)
        carried = self._length if run_labels[0] == self._label and self._label else 0
        already = carried if carried >= self.min_run else 0
        totals = lengths.copy()
        totals[0] += carried
        clipped = (run_labels != 0) & (totals >= self.min_run)
        self.events += int(np.count_nonzero(clipped)) - (1 if already and clipped[0] else 0)
        self.samples += int(totals[clipped].sum()) - (already if clipped[0] else 0)
        self._label, self._length = int(run_labels[-1]), int(totals[-1])


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
    """

    def __init__(self, min_run: int = 32, min_level: float = 2.0 ** -10) -> None:
        self.min_run = int(min_run)
        self.min_level = float(min_level)
        self.events = 0
        self.samples = 0
        self._seen_signal = False
        self._zeros = 0  # zeros at the end of the stream so far (after signal)
        self._before = 0.0  # |sample| before those zeros (or the last |sample|)

    def process(self, x: np.ndarray) -> None:
        """Look at the next block ``x`` (1-D)."""
        if not x.size:
            return
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
        inside = run_zero & (np.arange(run_zero.size) < run_zero.size - 1)  # the signal came back
        if not self._seen_signal and run_zero[0]:
            inside[0] = False
        dropout = inside & (totals >= self.min_run) & (np.maximum(before, after) >= self.min_level)
        self.events += int(np.count_nonzero(dropout))
        self.samples += int(totals[dropout].sum())
        self._seen_signal = self._seen_signal or not zero.all()
        if run_zero[-1] and self._seen_signal:
            self._zeros, self._before = int(totals[-1]), float(before[-1])
        else:
            self._zeros, self._before = 0, float(magnitude[-1])
