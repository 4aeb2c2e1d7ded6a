"""Clipping counted at a device's real full scale: the one rule, for the worker and the meters.

PortAudio (and PulseAudio) map integer samples to float by dividing by 2**(bits-1), so an int16
device's largest positive sample arrives as 32767/32768 = 0.999969, never 1.0, while its most
negative one is exactly -1.0. A test ``abs(x) >= 1.0`` therefore never sees the positive rail.

Here a sample counts as clipped when it is part of a run of ``min_run`` (default 2) or more
consecutive samples at or beyond the same rail (a signal that merely touches full scale once is
not clipped), or when it is beyond full scale at all (|x| > 1, which only a float device can
deliver). A clipping *event* is one run at one rail that holds a clipped sample. Runs may span
blocks: the counts do not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NEGATIVE_RAIL", "POSITIVE_RAIL", "RAIL", "ClipCounter"]

# The largest positive int16 sample as a float; 24- and 32-bit devices reach higher still
# (1 - 2**-23, and 1.0 after rounding to float32), so this rail covers them too.
POSITIVE_RAIL = np.float32(32767 / 32768)
NEGATIVE_RAIL = np.float32(-1.0)
RAIL = float(POSITIVE_RAIL)


def _runs(labels: np.ndarray):
    """Runs of equal labels in 1-D ``labels``: (label, start, length) arrays."""
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [labels.size])))
    return labels[starts], starts, lengths


class ClipCounter:
    """Count clipped samples and clipping events, block by block, per channel.

    Parameters
    ----------
    min_run : int
        Samples in a row at one rail that make a clip.

    Attributes
    ----------
    count : int
        Clipped samples so far, over all channels (also :attr:`samples`).
    events : int
        Clipping events so far (runs at a rail holding a clipped sample), over all channels.
    per_channel : ndarray of int64
        Clipped samples so far in each channel (channel 1 first); empty before the first block.
    last_events : ndarray of int64
        Frame indices (from this counter's first frame) where the events counted by the last
        :meth:`process` call began (the first sample of the run), any channel, in order.
    """

    def __init__(self, min_run: int = 2) -> None:
        self.min_run = max(1, int(min_run))
        self.count = 0
        self.events = 0
        self.per_channel = np.zeros(0, np.int64)
        self.frames = 0  # frames looked at so far
        self.last_events = np.zeros(0, np.int64)
        # Per channel, the run the last block ended in: its rail (+1, -1, 0), its length so far,
        # the samples of it already counted, and whether it was counted as an event.
        self._label = np.zeros(0, np.int8)
        self._length = np.zeros(0, np.int64)
        self._counted = np.zeros(0, np.int64)
        self._event = np.zeros(0, bool)
        self._cold = True  # every channel's run state is reset (the last block was quiet)

    @property
    def samples(self) -> int:
        return self.count

    def process(self, block: np.ndarray, extremes: tuple[float, float] | None = None) -> int:
        """Count the clipped samples of ``block`` (frames × channels, or 1-D; float, full scale
        ±1); returns how many were newly counted (including a previous block's tail that only
        now became a run). ``extremes``: the block's (min, max) if the caller has them."""
        if block.ndim == 1:
            block = block[:, None]
        if self.last_events.size:
            self.last_events = np.zeros(0, np.int64)
        if block.shape[0] == 0:
            return 0
        if extremes is None:
            extremes = (np.minimum.reduce(block, axis=None), np.maximum.reduce(block, axis=None))
        if NEGATIVE_RAIL < extremes[0] and extremes[1] < POSITIVE_RAIL and \
                self._label.shape[0] == block.shape[1]:
            # A quiet block (the usual case) ends every run: 2 reductions instead of ~12 calls.
            if not self._cold:
                self._reset(np.ones(block.shape[1], bool))
                self._cold = True
            self.frames += block.shape[0]  # event indices count every frame, quiet ones too
            return 0
        self._cold = False
        channels = block.shape[1]
        if self._label.shape[0] != channels:
            self._label = np.zeros(channels, np.int8)
            self._length = np.zeros(channels, np.int64)
            self._counted = np.zeros(channels, np.int64)
            self._event = np.zeros(channels, bool)
            if self.per_channel.shape[0] != channels:
                self.per_channel = np.zeros(channels, np.int64)
        # Most blocks of a healthy input never reach a rail: one pass over the block decides.
        hot = np.flatnonzero(((block >= POSITIVE_RAIL) | (block <= NEGATIVE_RAIL)).any(axis=0))
        cold = np.ones(channels, bool)
        cold[hot] = False
        self._reset(cold)
        new = 0
        for c in hot:
            n = self._channel(int(c), block[:, c])
            self.per_channel[c] += n
            new += n
        self.count += new
        self.frames += block.shape[0]
        if hot.size > 1 and self.last_events.size:
            self.last_events.sort()
        return new

    def _reset(self, channels: np.ndarray) -> None:
        """End the runs of ``channels`` (a boolean mask)."""
        self._label[channels] = 0
        self._length[channels] = 0
        self._counted[channels] = 0
        self._event[channels] = False

    def _channel(self, c: int, x: np.ndarray) -> int:
        labels = (x >= POSITIVE_RAIL).astype(np.int8) - (x <= NEGATIVE_RAIL).astype(np.int8)
        run_labels, starts, lengths = _runs(labels)
        beyond = np.add.reduceat((np.abs(x) > 1.0).astype(np.int64), starts)
        totals = lengths.astype(np.int64)
        before = np.zeros(run_labels.size, np.int64)  # samples of each run counted earlier
        had_event = np.zeros(run_labels.size, bool)
        if run_labels[0] != 0 and run_labels[0] == self._label[c]:  # the last run goes on
            totals[0] += self._length[c]
            before[0] = self._counted[c]
            had_event[0] = self._event[c]
            beyond[0] += before[0] if self._length[c] < self.min_run else 0
        counted = np.where((run_labels != 0) & (totals >= self.min_run), totals, beyond)
        counted = np.maximum(counted, before)
        event = counted > 0
        began = event & ~had_event
        if began.any():
            # Where each new event's run began (a run carried over began in an earlier block).
            at = self.frames + starts[began] - (totals[began] - lengths[began])
            self.last_events = np.concatenate((self.last_events, at.astype(np.int64)))
        self.events += int(np.count_nonzero(began))
        self._label[c], self._length[c] = run_labels[-1], totals[-1]
        self._counted[c], self._event[c] = counted[-1], event[-1]
        return int((counted - before).sum())
