"""The measure thread while nothing is drawn (``set_idle``): fewer, longer passes, and the same
results as a thread that passed at the end of every feed: the log rows (with the counts and
levels in them), ``latest()``, every detector event and its stream time.

Real consumers and a real measure thread are fed generated signals with a lost buffer, a
dropout, a clip, a splice and DC; nothing here times anything (the thread may pass whenever
it likes: the results do not depend on it).
"""

import json

import numpy as np
import pytest

from monitor.measurement import MeasurementConsumer
from monitor.measurement_feed import MeasurementFeed
from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from monitor.worker import AnalysisWorker

FS = 48000
BLOCKS = (480, 1024, 333, 4800, 12288)  # odd blocks, and the idle worker's 0.25 s passes


def _signal(seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * FS)) / FS
    x = (0.5 * np.sin(2 * np.pi * 997.3 * t) + 0.002 * np.sin(2 * np.pi * 50.01 * t)
         + 1e-4 * rng.standard_normal(t.size) + 0.003).astype(np.float32)
    x = np.concatenate((x[:60000], x[60480:]))  # a lost buffer: a splice
    x[90000:90040] = 0.0  # a dropout
    x[120000:120010] = 1.0  # a clip
    x[150000:] += np.float32(0.02)  # DC from here on: a DC warning
    return x


def _feeds(x):
    i, k = 0, 0
    while i < x.size:
        b = BLOCKS[k % len(BLOCKS)]
        k += 1
        yield x[i:i + b], (i + min(b, x.size - i)) / FS
        i += b


def _outputs(consumer) -> str:
    latest = consumer.latest()
    latest.pop("problem", None)
    events, _ = consumer.events.after(0)
    return json.dumps({"log": list(consumer.log), "latest": latest, "events": events},
                      sort_keys=True)


def _reference(x, analysing: bool) -> str:
    """Not idle, a pass after every feed (the finest a live thread can pass)."""
    c = MeasurementConsumer(FS, leq_period=1.0)
    c.analysing = analysing
    for block, t in _feeds(x):
        c.feed(block, FS, t)
        c.poll()
    return _outputs(c)


@pytest.mark.parametrize("analysing", [True, False])
@pytest.mark.parametrize("every", [3, 7, 10 ** 9])
def test_idle_passes_give_what_a_pass_after_every_feed_gives(analysing, every):
    x = _signal()
    expected = _reference(x, analysing)
    assert json.loads(expected)["events"]  # the splice, dropout, clip (and DC) were found
    c = MeasurementConsumer(FS, leq_period=1.0)
    c.analysing = analysing
    c.set_idle(True)
    for k, (block, t) in enumerate(_feeds(x), 1):
        c.feed(block, FS, t)
        if k % every == 0:
            c.poll()
    c.poll()
    got = _outputs(c)
    assert got == expected
    rows = json.loads(got)["log"]
    if analysing:
        assert len(rows) >= 7  # one every 0.5 s of audio, not one per (rare) idle pass


def test_the_idle_measure_thread_publishes_the_same_as_every_feed():
    """A real thread, idle, polling whenever it wakes: the same outputs once stopped."""
    x = _signal(3.0)
    expected = _reference(x, True)
    c = MeasurementConsumer(FS, leq_period=1.0)
    c.set_idle(True)
    c.start()
    for block, t in _feeds(x):
        c.feed(block, FS, t)
    c.stop()  # a last pass over everything fed
    assert _outputs(c) == expected


def test_the_worker_passes_idle_on_to_the_measurements():
    """set_idle on the worker reaches the feed and its consumer (also one built later) when
    the consumers are idle too (minimised), not otherwise (paused, headless)."""
    settings = Settings()
    feed = MeasurementFeed(settings, threaded=False)
    worker = AnalysisWorker(settings, RingBuffer(FS, 1), FS, [feed])
    worker.set_idle(True, 1.0, consumers=True)
    assert worker.idle
    block = _signal(0.1).reshape(-1, 1)
    worker.process(block)  # builds the consumer: it is idle from the start
    assert feed.consumer.idle
    worker.set_idle(False)
    assert not feed.consumer.idle
    worker.set_idle(True)  # paused: the worker only
    assert worker.idle and not feed.consumer.idle
    worker.set_idle(True, consumers=True)
    assert feed.consumer.idle
    feed.close()
