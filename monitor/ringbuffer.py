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
    atomically under the GIL, and the consumer checks again after its copy (a sequence lock).
    Before copying a block the producer *claims* its frames (:attr:`claimed`, the write counter
    plus the block); a slot is safe to read only while it is more than ``capacity`` frames
    behind the claim. Frames the producer may have overwritten during the consumer's copy are
    discarded and counted as dropped, never returned. Only the block actually in flight is kept
    clear, so one large block does not shrink the backlog afterwards, and a block larger than
    the ring keeps its newest ``capacity`` frames readable.

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
        self._bytes = memoryview(self._buf).cast("B")  # the same memory, byte-addressed
        self._frame_bytes = 4 * self.channels
        self.written = 0  # frames ever written (producer-owned)
        self.read_pos = 0  # frames ever consumed or skipped (consumer-owned)
        self.dropped = 0  # frames the consumer lost to overwriting (consumer-owned)
        self.claimed = 0  # frames the producer is writing or has written (producer-owned)

    # -- producer side ------------------------------------------------------------------------
    def write(self, data: np.ndarray) -> None:
        """Copy ``data`` (frames × channels) in. Real-time safe: no allocation of buffers,
        no lock, no waiting. A block larger than the ring keeps only its newest frames (the
        older ones count as dropped for the consumer)."""
        n = data.shape[0]
        base = self.written
        self.claimed = base + n  # before the copy: the consumer must keep clear of it
        if n > self.capacity:
            data = data[n - self.capacity:]
            base += n - self.capacity
        m = data.shape[0]
        start = base % self.capacity
        first = min(m, self.capacity - start)
        np.copyto(self._buf[start:start + first], data[:first])
        if first < m:
            np.copyto(self._buf[: m - first], data[first:])
        self.written += n

    def write_bytes(self, data) -> None:
        """Copy ``data``, a bytes-like object of whole frames (float32, frames × channels, C
        order; ``len(data)`` in bytes), in: what :meth:`write` does, without a numpy array.

        For PortAudio's raw input buffer (``sounddevice.RawInputStream``'s callback): wrapping
        each block in an ndarray and copying it with numpy cost the callback thread ~60 µs a
        block here (``python -m bench.callback_cost``), a memoryview slice assignment ~1 µs.
        """
        fb = self._frame_bytes
        n = len(data) // fb
        base = self.written
        self.claimed = base + n  # before the copy: the consumer must keep clear of it
        cap = self.capacity
        start = base % cap
        if n <= cap - start:  # the usual case: one piece
            self._bytes[start * fb:(start + n) * fb] = data
        else:
            src = memoryview(data)
            if n > cap:  # only the newest capacity frames are kept
                src = src[(n - cap) * fb:]
                start = (base + n - cap) % cap
            m = len(src) // fb
            first = min(m, cap - start)
            self._bytes[start * fb:(start + first) * fb] = src[:first * fb]
            if first < m:
                self._bytes[:(m - first) * fb] = src[first * fb:m * fb]
        self.written = base + n

    # -- consumer side ------------------------------------------------------------------------
    @property
    def available(self) -> int:
        """Frames waiting to be read (may exceed capacity when the reader fell behind)."""
        return self.written - self.read_pos

    def read(self, max_frames: int | None = None) -> np.ndarray:
        """Return a copy of up to ``max_frames`` of the oldest unread intact frames.

        Frames lost to overwriting are skipped and counted in :attr:`dropped`; they lie
        immediately before the frames returned, so ``read_pos`` before the call plus the
        increase of ``dropped`` is the stream position of the first frame returned.
        """
        end = self.written
        start = min(end, max(self.read_pos, self.claimed - self.capacity))
        if max_frames is not None:
            end = min(end, start + max_frames)
        n = end - start
        out = np.empty((n, self.channels), dtype=np.float32)
        if n > 0:
            i = start % self.capacity
            first = min(n, self.capacity - i)
            out[:first] = self._buf[i:i + first]
            if first < n:
                out[first:] = self._buf[: n - first]
        # The producer may have lapped us while we copied: slots within `capacity` of its
        # claim now (written or being written) may hold newer audio. Drop those.
        torn = max(0, min(n, self.claimed - self.capacity - start))
        self.dropped += (start - self.read_pos) + torn
        self.read_pos = max(self.read_pos, end)
        return out[torn:] if torn else out

    def clear(self) -> None:
        """Skip everything written so far (not counted as dropped)."""
        self.read_pos = self.written
