"""Single-producer / single-consumer audio ring buffer that never blocks the producer."""

from __future__ import annotations

import numpy as np

__all__ = ["RingBuffer"]


class RingBuffer:
    """Fixed-size multichannel float32 ring buffer, lock-free for one producer and one consumer.

    The producer (the audio callback) only copies into preallocated memory and then advances
    a frame counter; it never waits. The consumer reads what is new; if it fell more than
    ``capacity`` frames behind, the oldest audio was overwritten: it skips to the oldest frame
    still intact and counts the skipped frames in :attr:`dropped`.

    Correctness without a lock rests on two facts: the counters are Python ints, replaced
    atomically under the GIL, and the consumer checks the write counter again after its copy
    (a sequence lock): frames the producer may have overwritten during the copy are discarded
    and counted as dropped, never returned.

    Parameters
    ----------
    capacity : int
        Frames held.
    channels : int
        Samples per frame.
    """

    def __init__(self, capacity: int, channels: int = 1) -> None:
        if capacity < 1 or channels < 1:
            raise ValueError("capacity and channels must be positive")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self._buf = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self.written = 0  # frames ever written (producer-owned)
        self.read_pos = 0  # frames ever consumed or skipped (consumer-owned)
        self.dropped = 0  # frames the consumer lost to overwriting (consumer-owned)
        self.max_block = 0  # largest block written: the margin kept clear of the writer

    # -- producer side ------------------------------------------------------------------------
    def write(self, data: np.ndarray) -> None:
        """Copy ``data`` (frames × channels) in. Real-time safe: no allocation of buffers,
        no lock, no waiting. A block larger than the ring keeps only its newest frames."""
        n = data.shape[0]
        if n > self.capacity:
            skip = n - self.capacity
            data = data[skip:]
            self.written += skip
            n = self.capacity
        if n > self.max_block:  # before the copy: the reader must keep clear of it
            self.max_block = n
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        np.copyto(self._buf[start:start + first], data[:first])
        if first < n:
            np.copyto(self._buf[: n - first], data[first:])
        self.written += n

    # -- consumer side ------------------------------------------------------------------------
    @property
    def available(self) -> int:
        """Frames waiting to be read (may exceed capacity when the reader fell behind)."""
        return self.written - self.read_pos

    def read(self, max_frames: int | None = None) -> np.ndarray:
        """Return a copy of up to ``max_frames`` of the oldest unread intact frames."""
        end = self.written
        start = max(self.read_pos, end + self.max_block - self.capacity)
        if max_frames is not None:
            end = min(end, start + max_frames)
        n = max(0, end - start)
        out = np.empty((n, self.channels), dtype=np.float32)
        if n > 0:
            i = start % self.capacity
            first = min(n, self.capacity - i)
            out[:first] = self._buf[i:i + first]
            if first < n:
                out[first:] = self._buf[: n - first]
        # The producer may have lapped us while we copied. Frames older than the write counter
        # minus capacity hold newer audio, and the producer's block in flight (at most
        # max_block frames, not yet counted in `written`) is being overwritten: drop those.
        oldest_safe = self.written + self.max_block - self.capacity
        torn = max(0, min(n, oldest_safe - start))
        self.dropped += (start - self.read_pos) + torn
        self.read_pos = max(self.read_pos, end)
        return out[torn:] if torn else out

    def clear(self) -> None:
        """Skip everything written so far (not counted as dropped)."""
        self.read_pos = self.written
