"""Ring buffer: wrap-around, overflow accounting, a real producer thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from monitor.ringbuffer import RingBuffer


def ramp(start: int, n: int, channels: int = 2) -> np.ndarray:
    base = np.arange(start, start + n, dtype=np.float32)
    return np.stack([base + 0.5 * c for c in range(channels)], axis=1)


def test_wraps_without_loss():
    ring = RingBuffer(300, 2)
    got = []
    pos = 0
    for n in (30, 50, 70, 99, 1, 33):
        ring.write(ramp(pos, n))
        pos += n
        got.append(ring.read())
    out = np.concatenate(got)
    np.testing.assert_array_equal(out, ramp(0, pos))
    assert ring.dropped == 0


def test_overflow_drops_oldest_and_counts():
    ring = RingBuffer(100, 1)
    for i in range(5):
        ring.write(ramp(i * 40, 40, 1))  # 200 frames into 100
    out = ring.read()
    # No block is in flight: the newest `capacity` frames are all intact.
    assert out.shape[0] == 100
    np.testing.assert_array_equal(out[:, 0], np.arange(100, 200, dtype=np.float32))
    assert ring.dropped == 100
    assert ring.available == 0


def test_read_max_frames_and_clear():
    ring = RingBuffer(64, 1)
    ring.write(ramp(0, 10, 1))
    np.testing.assert_array_equal(ring.read(4)[:, 0], [0, 1, 2, 3])
    assert ring.available == 6
    ring.clear()
    assert ring.available == 0 and ring.dropped == 0
    assert ring.read().shape == (0, 1)


def test_block_larger_than_ring_keeps_newest():
    ring = RingBuffer(16, 1)
    ring.write(ramp(0, 40, 1))
    assert ring.written == 40
    np.testing.assert_array_equal(ring.read()[:, 0], np.arange(24, 40, dtype=np.float32))
    assert ring.dropped == 24


def test_reads_go_on_after_a_block_larger_than_the_ring():
    """Once, every later read returned nothing: the margin kept clear of the writer had grown
    to the whole ring."""
    ring = RingBuffer(16, 1)
    ring.write(ramp(0, 40, 1))
    ring.read()
    for start in (40, 45, 50):
        ring.write(ramp(start, 5, 1))
        np.testing.assert_array_equal(ring.read()[:, 0], np.arange(start, start + 5))
    assert ring.dropped == 24


def test_backlog_is_whole_again_after_one_large_block():
    """One large block used to shrink the usable backlog for good (the margin only grew)."""
    ring = RingBuffer(1000, 1)
    ring.write(ramp(0, 900, 1))
    assert ring.read().shape[0] == 900
    pos = 900
    for _ in range(99):  # 990 frames of backlog in small blocks: all of it must be readable
        ring.write(ramp(pos, 10, 1))
        pos += 10
    out = ring.read()
    np.testing.assert_array_equal(out[:, 0], np.arange(900, pos, dtype=np.float32))
    assert ring.dropped == 0


def as_portaudio_buffer(block: np.ndarray):
    """``block`` as the raw input stream's callback gets it: a cffi buffer over C memory."""
    import cffi

    ffi = cffi.FFI()
    raw = np.ascontiguousarray(block, dtype=np.float32).tobytes()
    mem = ffi.new("char[]", raw)
    _KEEP.append(mem)  # the buffer does not own its memory
    return ffi.buffer(mem, len(raw))


_KEEP: list = []


def write_raw(ring: RingBuffer, block: np.ndarray) -> None:
    ring.write_bytes(memoryview(np.ascontiguousarray(block)).cast("B"))


WRITES = {"ndarray": RingBuffer.write, "bytes": write_raw}


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("cut", [1, 7, 64, 99, 100, 101, 250, 333])
def test_bytes_written_read_as_arrays_written_for_every_cut(cut, channels):
    """write_bytes (PortAudio's raw buffer) and write (an ndarray) leave the same ring: same
    frames read, same counters, across wraps and blocks larger than the ring."""
    x = ramp(0, 2000, channels)
    rings = [RingBuffer(100, channels) for _ in range(2)]
    got: list = [[], []]
    for i, start in enumerate(range(0, x.shape[0], cut)):
        block = x[start:start + cut]
        rings[0].write(block)
        rings[1].write_bytes(as_portaudio_buffer(block))
        if i % 3 == 2:  # read now and then: some reads find dropped frames
            for ring, out in zip(rings, got):
                out.append(ring.read())
    for ring, out in zip(rings, got):
        out.append(ring.read())
    np.testing.assert_array_equal(np.concatenate(got[1]), np.concatenate(got[0]))
    for a in ("written", "read_pos", "dropped", "claimed"):
        assert getattr(rings[1], a) == getattr(rings[0], a), a
    assert rings[1].read_pos == x.shape[0]


def test_concurrent_producer_never_returns_torn_data():
    """A real producer thread racing the reader: every frame read is the right one, and
    read + dropped accounts for every frame written."""
    ring = RingBuffer(4096, 1)
    block = 256
    total = 1500 * block
    done = threading.Event()

    def produce():
        for start in range(0, total, block):
            ring.write(ramp(start, block, 1))
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    seen = 0
    last = -1.0
    while not (done.is_set() and ring.available == 0):
        out = ring.read()
        if out.shape[0]:
            values = out[:, 0]
            assert values[0] > last  # never goes back in time
            np.testing.assert_array_equal(np.diff(values), 1.0)  # contiguous within a read
            last = values[-1]
            seen += out.shape[0]
    thread.join(timeout=10)
    assert seen + ring.dropped == total


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_concurrent_blocks_of_every_size_including_larger_than_the_ring(write):
    """Block sizes from 1 frame to twice the capacity, raced by a reader that reads in small
    pieces: what is read is always the right frames, in order, and nothing is unaccounted."""
    ring = RingBuffer(1024, 2)
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 2048, size=600)
    sizes[::50] = 2048  # larger than the ring
    total = int(sizes.sum())
    done = threading.Event()

    def produce():
        pos = 0
        for n in sizes:
            write(ring, ramp(pos, int(n)))
            pos += int(n)
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    seen = 0
    while not (done.is_set() and ring.available == 0):
        first = ring.read_pos
        dropped = ring.dropped
        out = ring.read(300)
        if out.shape[0]:
            # The first frame returned sits right after the frames counted as dropped.
            assert out[0, 0] == first + (ring.dropped - dropped)
            np.testing.assert_array_equal(out, ramp(int(out[0, 0]), out.shape[0]))
            seen += out.shape[0]
    thread.join(timeout=10)
    assert seen + ring.dropped == total
    assert ring.read_pos == total
