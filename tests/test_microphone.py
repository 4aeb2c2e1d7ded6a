"""Real capture through PortAudio from a PulseAudio virtual microphone.

Known tones are played into the null sink with paplay; the monitor's MicrophoneSource opens the
ALSA ``pulse`` device through sounddevice, and the analysis worker must find the tone's
frequency in the right FFT bin and its level within 1 dB.
"""

from __future__ import annotations

import numpy as np
import pytest

from monitor.pipeline import Pipeline
from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from conftest import RATE, wait_until, write_tone

pytestmark = pytest.mark.pulse

SETTINGS = Settings(device="pulse", samplerate=RATE, channels=1, classifier=False)
TONE_SECONDS = 2.0
TONE_LEVEL_DBFS = -12.0  # peak; a sine's RMS is 3.01 dB below its peak


def _mic():
    from monitor.sources.microphone import MicrophoneSource

    return MicrophoneSource(device="pulse", samplerate=RATE, channels=1)


def _capture_tone(pulse_mic, path) -> tuple[Pipeline, np.ndarray, np.ndarray]:
    """Play ``path`` into the virtual mic while a pipeline captures; return its frames' RMS
    (dBFS) and peak frequency (Hz)."""
    pipeline = Pipeline(SETTINGS, source=_mic())
    rms, peak_hz = [], []
    try:
        pipeline.start()
        wait_until(lambda: pipeline.ring.written > 0, 10, "the first audio callback")
        pulse_mic.play(path)  # returns once the whole file has been played
        # The stream's tail (capture latency) is still on its way; wait for it to be analysed.
        target = pipeline.ring.written + RATE // 4
        wait_until(lambda: pipeline.worker.frames_in >= target, 10, "the tail of the tone")
    finally:
        pipeline.stop()
    for batch in pipeline.worker.drain():
        rms.append(batch.rms_dbfs)
        peak_hz.append(batch.peak_hz)
    return pipeline, np.concatenate(rms), np.concatenate(peak_hz)


@pytest.mark.parametrize("freq", [1000.0, 440.0])
def test_tone_frequency_and_level(pulse_mic, tmp_path, freq):
    pulse_mic.pactl("set-sink-volume", "vsink", "100%")
    pulse_mic.pactl("set-source-volume", "vsink.monitor", "100%")
    path = write_tone(tmp_path / f"tone{freq:g}.wav", freq, TONE_LEVEL_DBFS, TONE_SECONDS)

    pipeline, rms, peak_hz = _capture_tone(pulse_mic, path)

    # The frames that lie wholly inside the tone: those a full window away from its first and
    # last audible frame (frames straddling an edge mix tone and silence).
    expected_rms = TONE_LEVEL_DBFS - 10 * np.log10(2)
    audible = np.flatnonzero(rms > expected_rms - 30)
    assert audible.size, f"no tone arrived (loudest frame {rms.max():.1f} dBFS)"
    edge = SETTINGS.n_fft // SETTINGS.hop
    inside = np.zeros(rms.size, bool)
    inside[audible[0] + edge:audible[-1] - edge + 1] = True
    hop_seconds = SETTINGS.hop / RATE
    assert inside.sum() * hop_seconds > 0.8 * TONE_SECONDS, (
        f"only {inside.sum()} frames carried the tone")
    assert np.median(rms[inside]) == pytest.approx(expected_rms, abs=1.0)
    # Nearly every frame, not only the median: a paplay underrun on a busy machine may leave a
    # gap, which is the player's fault, not the monitor's; a capture fault shows in many frames.
    level_ok = np.abs(rms[inside] - expected_rms) < 1.0
    assert level_ok.mean() >= 0.95, f"levels {np.round(rms[inside][~level_ok], 1)}"
    bin_hz = RATE / SETTINGS.n_fft
    freq_ok = np.abs(peak_hz[inside] - freq) <= bin_hz
    assert freq_ok.mean() >= 0.95, (
        f"peak frequencies {np.unique(np.round(peak_hz[inside][~freq_ok]))} are not within one "
        f"bin ({bin_hz:.1f} Hz) of {freq:g} Hz")
    assert np.median(peak_hz[inside]) == pytest.approx(freq, abs=bin_hz / 4)
    # Nothing was lost between the callback and the worker.
    status = pipeline.status()
    assert status.dropped_frames == 0
    assert status.nonfinite == 0
    assert status.samplerate == RATE and status.channels == 1
    assert status.problem is None


def test_callback_writes_into_ring(pulse_mic):
    source = _mic()
    ring = RingBuffer(RATE, 1)
    source.start(ring)
    try:
        wait_until(lambda: ring.written > 0, 10, "the first callback")
        first = ring.written
        wait_until(lambda: ring.written >= first + RATE // 10, 10, "0.1 s more audio")
        assert source.active
        assert source.error is None
    finally:
        source.stop()
    assert not source.active
    stopped_at = ring.written
    # After stop() the callback no longer writes (give it the chance: read what is there).
    block = ring.read()
    assert block.shape == (stopped_at, 1)
    assert ring.written == stopped_at


def test_slow_reader_drops_are_counted(pulse_mic):
    """Through PulseAudio an overflow is never flagged: the ring's own drop count is the
    overload signal. A reader that falls a full ring behind must see it."""
    source = _mic()
    capacity = RATE // 20  # 50 ms
    ring = RingBuffer(capacity, 1)
    source.start(ring)
    try:
        wait_until(lambda: ring.written > 3 * capacity, 10, "three ring lengths of audio")
    finally:
        source.stop()
    written = ring.written
    block = ring.read()
    assert ring.dropped > 0
    assert ring.dropped + block.shape[0] == written
    assert block.shape[0] <= capacity


def test_status_flags_are_counted(pulse_mic):
    """The callback counts PortAudio's status flags; here a real source's callback gets the
    flags a driver would pass (PulseAudio itself never raises them, see above)."""
    import sounddevice as sd

    source = _mic()
    ring = RingBuffer(RATE, 1)
    source._ring = ring  # the ring start() would attach; the stream is not needed for this
    block = memoryview(np.zeros((256, 1), np.float32)).cast("B")  # bytes, as PortAudio's buffer
    source._callback(block, 256, None, sd.CallbackFlags())
    source._callback(block, 256, None, sd.CallbackFlags(sd._lib.paInputOverflow))
    source._callback(block, 256, None,
                     sd.CallbackFlags(sd._lib.paInputOverflow | sd._lib.paInputUnderflow))
    assert source.overflows == 2
    assert source.underflows == 1
    assert ring.written == 3 * 256
    pipeline = Pipeline(SETTINGS, source=source)
    assert pipeline.status().overflows == 2
