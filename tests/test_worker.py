"""The live pipeline: a real generator thread → ring → worker thread, settings changed live."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from monitor.pipeline import Pipeline
from monitor.settings import Settings
from monitor.sources import GeneratorSource
from monitor.worker import AnalysisWorker
from monitor.ringbuffer import RingBuffer


def wait_for(predicate, timeout: float = 10.0, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)  # polling a condition, with a deadline
    raise AssertionError("condition not met in time")


@pytest.fixture
def pipeline():
    settings = Settings(generator="sine:1000@-6", classifier=False)
    p = Pipeline(settings)
    p.start()
    yield p
    p.stop()


def collect(p: Pipeline, n_frames: int, params=None):
    got = []

    def enough():
        got.extend(b for b in p.worker.drain() if params is None or b.params == params)
        return sum(len(b) for b in got) >= n_frames

    wait_for(enough)
    return got


def test_live_generator_reaches_worker(pipeline):
    batches = collect(pipeline, 20)
    peak_hz = np.concatenate([b.peak_hz for b in batches])
    assert np.all(np.abs(peak_hz - 1000) < 2)
    firsts = [b.first_frame for b in batches]
    assert firsts == sorted(firsts)
    status = pipeline.status()
    assert status.dropped_frames == 0 and status.samplerate == 48000
    assert abs(status.ms_per_column - 512 / 48) < 1e-9


def test_live_reconfigure_changes_resolution_and_keeps_time_grid(pipeline):
    collect(pipeline, 5)
    new = pipeline.settings.replace(n_fft=8192, hop=1024, n_mels=64)
    pipeline.reconfigure(new)
    changed = []
    wait_for(lambda: changed.extend(b for b in pipeline.worker.drain() if b.params.n_fft == 8192)
             or changed)
    b = changed[0]
    assert b.power_db.shape[1] == 4097 and b.mel_db.shape[1] == 64
    # The first new frame starts on the new hop grid of the stream, after the change.
    assert b.frame_times[0] == pytest.approx(b.first_frame * 1024 / 48000)
    assert np.all(np.abs(b.peak_hz - 1000) < 1)


@pytest.mark.parametrize("mode,target,measure", [("peak", -1.0, "peak"), ("rms", -20.0, "rms")])
def test_normalisation_brings_level_to_target(mode, target, measure):
    sr = 48000.0
    settings = Settings(generator="sine:440@-30", normalize=mode, classifier=False)
    gen = GeneratorSource(settings.generator, sr)
    worker = AnalysisWorker(settings, RingBuffer(1 << 16, 1), sr)
    levels = []
    for _ in range(200):  # 4.3 s: past the 3 s level window
        batch = worker.process(gen.render(1024))
        if batch is not None:
            levels.append(batch.peak_dbfs if measure == "peak" else batch.rms_dbfs)
    last = np.concatenate(levels)[-20:]
    assert np.all(np.abs(last - target) < 0.2)
    expected_gain = target + 30 if mode == "peak" else target + 30 + 3.01
    assert worker.gain_db == pytest.approx(expected_gain, abs=0.2)


def test_nonfinite_and_clipping_are_counted():
    settings = Settings(classifier=False)
    worker = AnalysisWorker(settings, RingBuffer(1 << 16, 2), 48000.0)
    block = np.zeros((4096, 2), np.float32)
    block[10, 0] = np.nan
    block[20, 1] = -np.inf
    block[30, 0] = 1.0  # touches full scale once: not clipped
    block[40:43, 0] = 32767 / 32768  # a run at an int16 device's positive rail
    block[50, 1] = 1.5  # beyond full scale (a float device)
    batch = worker.process(block)
    assert worker.nonfinite == 2 and worker.clipped == 3 + 1
    assert np.all(np.isfinite(batch.power_db)) and np.all(np.isfinite(batch.mel_db))


def test_channel_selection_and_mono_mix():
    sr = 48000.0
    t = np.arange(8192) / sr
    block = np.stack([np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 3000 * t)], axis=1).astype(np.float32)
    for channel, hz in ((1, 500), (2, 3000)):
        worker = AnalysisWorker(Settings(channel=channel, classifier=False), RingBuffer(1 << 16, 2), sr)
        assert np.all(np.abs(worker.process(block).peak_hz - hz) < 2)
    worker = AnalysisWorker(Settings(classifier=False), RingBuffer(1 << 16, 2), sr)
    spectrum = worker.process(block).power_db.mean(axis=0)
    k500, k3000 = round(500 / (sr / 2048)), round(3000 / (sr / 2048))
    assert abs(spectrum[k500] - spectrum[k3000]) < 3  # both halves of the mix, at equal level


def test_stop_analyses_what_arrived_and_is_prompt():
    p = Pipeline(Settings(generator="white", classifier=False))
    p.start()
    wait_for(lambda: p.ring.written > 48000)
    stopper = threading.Thread(target=p.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert not stopper.is_alive(), "stop() hung"
    assert p.ring.available == 0


def test_blocks_larger_than_the_ring_margin_are_analysed(tmp_path):
    import soundfile as sf
    path = tmp_path / "slow.wav"
    sr = 8000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 1000 * np.arange(sr * 12) / sr)).astype(np.float32), sr)
    p = Pipeline(Settings(input=str(path), blocksize=20000, classifier=False))
    p.start()
    try:
        wait_for(lambda: p.worker.frames_in >= 40000, timeout=20)
    finally:
        p.stop()
    assert p.ring.dropped == 0


def test_an_idle_worker_analyses_the_same_frames_in_fewer_passes():
    """set_idle (the window paused or minimised): everything is still analysed, and the
    features equal those of passes at every block (the streaming STFT does not depend on how
    the audio is cut); back from idle, the sleeping thread goes on; stop() ends an idle wait."""
    settings = Settings(n_fft=1024, hop=256, n_mels=40)
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((48000, 1))).astype(np.float32)

    reference = AnalysisWorker(settings, RingBuffer(48000, 1), 48000)
    for start in range(0, audio.shape[0], 480):
        reference.process(audio[start:start + 480])
    expected = np.concatenate([b.mel_db for b in reference.drain()])

    ring = RingBuffer(48000, 1)
    worker = AnalysisWorker(settings, ring, 48000)
    worker.set_idle(True)
    assert worker.idle
    worker.start()
    try:
        for start in range(0, 24000, 480):
            ring.write(audio[start:start + 480])
        wait_for(lambda: worker.frames_in == 24000)
        worker.set_idle(False)
        assert not worker.idle
        ring.write(audio[24000:])
        wait_for(lambda: worker.frames_in == 48000)
        worker.set_idle(True)
    finally:
        stopper = threading.Thread(target=worker.stop)
        stopper.start()
        stopper.join(timeout=30)
    assert not stopper.is_alive(), "stop() hung in an idle wait"
    got = np.concatenate([b.mel_db for b in worker.drain()])
    np.testing.assert_array_equal(got, expected)
