"""The classifier thread joins the blocks queued between two wakes into one before resampling
and framing: the patches, and so the real model's scores, are bit for bit those of the blocks
taken one at a time (the pre-joining behaviour)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from test_classifier import DATA

from monitor.classifier import SoundEventClassifier
from monitor.settings import Settings


def _clip(seconds: float = 6.0) -> tuple[np.ndarray, int]:
    name = min(DATA.glob("*.wav"))
    y, rate = sf.read(name, dtype="float32", always_2d=True)
    return np.resize(y.mean(axis=1), int(seconds * rate)), rate


def _scores(model, y, rate, block: int, drain_every: int, gap_at: int | None = None):
    """Patch scores (and patch start times) of ``y`` fed in ``block``s on this thread, the queue
    drained after every ``drain_every`` blocks; ``gap_at``: a block index skipped (a gap)."""
    clf = SoundEventClassifier(model, Settings(), start=False)
    for i, start in enumerate(range(0, y.size, block)):
        if i != gap_at:
            part = y[start:start + block]
            clf.feed(part, float(rate), (start + part.size) / rate)
        if i % drain_every == drain_every - 1:
            assert clf.drain()
    clf.flush()
    assert clf.drain() and clf.error is None
    assert clf._done == clf._fed  # every queued item counted as done
    return [(r.start, r.scores) for r in clf.results]


@pytest.mark.parametrize("gap_at", [None, 37])
def test_joined_blocks_give_bit_identical_scores(model, gap_at):
    y, rate = _clip()
    block = rate // 100  # 10 ms, as the worker feeds it live
    one_at_a_time = _scores(model, y, rate, block, 1, gap_at)
    joined = _scores(model, y, rate, block, 25, gap_at)
    assert len(one_at_a_time) == len(joined) >= 10
    for (t1, s1), (t2, s2) in zip(one_at_a_time, joined):
        assert t1 == t2
        assert np.array_equal(s1, s2)


def test_patches_scored_in_one_run_equal_each_alone(model):
    """The float graph takes any number of patches (``model.batched``); each row of a batch is
    the patch's scores alone, so a backlog scored at once classifies as patch by patch."""
    from monitor.classifier.frontend import log_mel_patches

    y, rate = _clip(4.0)
    import soxr

    patches = log_mel_patches(soxr.resample(y, rate, 16000).astype(np.float32))
    assert model.batched and len(patches) >= 5
    batch = model.scores_batch(patches)
    alone = np.stack([model.scores(p) for p in patches])
    assert batch.shape == (len(patches), len(model.labels)) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, alone, rtol=0, atol=1e-6)
    assert np.array_equal(model.scores_batch(patches[:1]), alone[:1])


def test_thread_is_woken_when_a_patch_is_complete(model):
    """feed wakes the classifier thread when the audio fed completes the next patch (and at a
    new stream), not every 0.1 s: a classifier drained only when woken finds each patch at
    most 4 blocks (40 ms, the resampler's holdback) after one drained at every block does,
    with the same scores, waking ~2-3 times a second instead of 10-18."""
    y, rate = _clip(6.0)
    block = rate // 100
    every = SoundEventClassifier(model, Settings(), start=False)
    woken = SoundEventClassifier(model, Settings(), start=False)
    wakes = 0
    behind = 0  # consecutive blocks with a patch that woken has not found yet
    t0 = 0.0
    for i, start in enumerate(range(0, y.size, block)):
        part = y[start:start + block]
        if i == 300:
            t0 = 0.5  # a gap: a new stream starts
        end = t0 + (start + part.size) / rate
        for clf in (every, woken):
            clf.feed(part, float(rate), end)
        assert every.drain()
        if woken._wake.is_set():
            woken._wake.clear()
            wakes += 1
            assert woken.drain()
        behind = behind + 1 if len(woken.results) < len(every.results) else 0
        assert behind <= 4, i
    woken.flush()
    every.flush()
    assert woken.drain() and every.drain()
    assert len(every.results) == len(woken.results) >= 10
    assert wakes <= 3.5 * y.size / rate, wakes
    for a, b in zip(every.results, woken.results):
        assert a.start == b.start and np.array_equal(a.scores, b.scores)
