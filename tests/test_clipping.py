"""Clipping counted at a device's real rails, against a sample-by-sample reference."""

from __future__ import annotations

import numpy as np

from monitor.dsp.clipping import NEGATIVE_RAIL, POSITIVE_RAIL, ClipCounter


def reference(x: np.ndarray) -> int:
    """Plain loop: a sample is clipped if beyond full scale, or if a neighbour in its channel
    is at the same rail as it is."""
    def rail(v):
        return 1 if v >= 32767 / 32768 else -1 if v <= -1.0 else 0

    count = 0
    for c in range(x.shape[1]):
        col = [rail(v) for v in x[:, c]]
        for i, r in enumerate(col):
            beyond = abs(x[i, c]) > 1.0
            run = r != 0 and ((i > 0 and col[i - 1] == r) or (i + 1 < len(col) and col[i + 1] == r))
            count += beyond or run
    return count


def test_int16_rails_as_portaudio_maps_them():
    assert POSITIVE_RAIL == np.float32(32767 / 32768) and POSITIVE_RAIL < 1.0
    x = np.array([0, 32767, 32767, 0, -32768, -32768, -32768, 0, 32767, 0, 32766, 32766],
                 np.float32)[:, None] / 32768
    counter = ClipCounter()
    assert counter.process(x) == 5  # the runs; a single touch and 32766 are not clipping
    assert x[4, 0] == NEGATIVE_RAIL


def test_hard_clipped_tone_counts_every_sample_at_either_rail():
    t = np.arange(48000) / 48000
    tone = np.clip(np.round(2.0 * 32768 * np.sin(2 * np.pi * 500 * t)), -32768, 32767)
    x = (tone / 32768).astype(np.float32)[:, None]
    expected = np.count_nonzero((tone == 32767) | (tone == -32768))
    assert expected > 30000
    counter = ClipCounter()
    counter.process(x)
    assert counter.count == expected
    assert np.count_nonzero(np.abs(x) >= 1.0) < expected  # the old test saw one rail only


def test_runs_across_blocks_and_channels_match_the_reference():
    rng = np.random.default_rng(3)
    levels = np.array([0.0, 0.5, POSITIVE_RAIL, 1.0, 1.25, -1.0, -1.5, -0.99], np.float32)
    x = levels[rng.integers(0, levels.size, size=(5000, 3))]
    expected = reference(x)
    for sizes in ([5000], [1] * 50 + [4950], list(rng.integers(1, 40, size=400))):
        counter = ClipCounter()
        pos = 0
        for n in sizes:
            counter.process(x[pos:pos + n])
            pos += n
        counter.process(x[pos:])
        assert counter.count == expected, sizes[:5]


def test_events_and_per_channel_counts_in_any_blocking():
    """Events are runs at one rail holding a clipped sample; per-channel counts add up."""
    rng = np.random.default_rng(5)
    levels = np.array([0.0, 0.3, POSITIVE_RAIL, -1.0, 1.5], np.float32)
    x = levels[rng.integers(0, levels.size, size=(3000, 2))]

    def events(col):
        lab = [1 if v >= POSITIVE_RAIL else -1 if v <= -1.0 else 0 for v in col] + [0]
        n, start = 0, 0
        for i in range(1, len(lab)):
            if lab[i] != lab[i - 1]:
                run = col[start:i]
                if lab[i - 1] and (i - start >= 2 or np.any(np.abs(run) > 1.0)):
                    n += 1
                start = i
        return n

    expected = events(x[:, 0]) + events(x[:, 1])
    for sizes in ([3000], [1] * 3000, list(rng.integers(1, 30, size=300))):
        counter = ClipCounter()
        pos = 0
        for n in sizes:
            counter.process(x[pos:pos + n])
            pos += n
        counter.process(x[pos:])
        assert counter.events == expected
        assert counter.per_channel.tolist() == [reference(x[:, :1]), reference(x[:, 1:])]
        assert counter.count == counter.per_channel.sum()


def test_event_positions_count_quiet_blocks_too():
    """Where each event began, from the counter's first frame, in any blocking: quiet blocks
    (the fast path that never reaches a rail) advance the position like any other."""
    x = np.full((20000, 1), 0.25, np.float32)
    starts = [3, 4500, 12001, 19990]
    for s in starts:
        x[s:s + 5] = 1.0
    for sizes in ([20000], [1000] * 20, [7, 993, 2500, 333, 16167], [256] * 79):
        counter = ClipCounter()
        found, pos = [], 0
        for n in sizes:
            counter.process(x[pos:pos + n])
            found += counter.last_events.tolist()
            pos += n
        assert counter.frames == x.shape[0], sizes
        assert found == starts, sizes
