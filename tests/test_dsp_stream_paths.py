"""The streaming feature path's branches: the kept STFT buffer (compacted only when full), the
empty-block return, the one-chunk path and the peak frequency from the dB rows."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.db import power_to_db
from monitor.dsp.features import AnalysisParams, FeatureExtractor
from monitor.dsp.levels import peak_frequency_db
from monitor.dsp.stft import StreamingSTFT
from monitor.settings import Settings

SR = 48000


def _signal(seconds: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(int(SR * seconds)) / SR
    return (0.05 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 1234.5 * t)).astype(np.float32)


def _stream(fe: FeatureExtractor, y: np.ndarray, sizes) -> dict:
    parts = {k: [] for k in ("power_db", "mel_db", "peak_dbfs", "rms_dbfs", "peak_hz")}
    firsts, i, sizes = [], 0, list(sizes)
    while i < y.size:
        size = sizes[len(firsts) % len(sizes)] if sizes else y.size
        batch = fe.process(y[i:i + size])
        i += size
        firsts.append((batch.first_frame, len(batch)))
        for k in parts:
            parts[k].append(getattr(batch, k))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["firsts"] = firsts
    return out


@pytest.mark.parametrize("sizes", [[1], [256], [511, 513], [100, 1, 700], [4097], [2048 * 5 + 3],
                                   [7, 3000, 1, 9000]])
def test_streaming_equals_offline_for_blocks_of_every_kind(sizes):
    # 1-sample blocks, blocks straddling hops, blocks larger than n_fft and than the kept
    # buffer (4 n_fft): every way must give the offline frames exactly.
    y = _signal()
    params = AnalysisParams.from_settings(Settings(n_fft=2048, hop=512, n_mels=128), SR)
    offline = _stream(FeatureExtractor(params), y, [])
    streamed = _stream(FeatureExtractor(params), y, sizes)
    for key in ("power_db", "peak_dbfs", "rms_dbfs", "peak_hz"):
        np.testing.assert_array_equal(streamed[key], offline[key], err_msg=key)
    np.testing.assert_allclose(streamed["mel_db"], offline["mel_db"], rtol=0, atol=1e-4)
    # Frames numbered without gaps; an empty batch carries the next frame's index.
    expected = 0
    for first, n in streamed["firsts"]:
        assert first == expected
        expected += n
    assert expected == (y.size - 2048) // 512 + 1


def test_empty_batches_are_read_only_and_carry_the_next_frame():
    params = AnalysisParams.from_settings(Settings(n_fft=2048, hop=512, n_mels=128), SR)
    fe = FeatureExtractor(params)
    y = _signal(0.1)
    a = fe.process(y[:100])
    b = fe.process(y[100:200])
    assert len(a) == len(b) == 0 and a.first_frame == b.first_frame == 0
    assert not a.power_db.flags.writeable and a.power_db.shape == (0, 1025)
    full = fe.process(y[200:2048])
    assert len(full) == 1 and full.first_frame == 0
    c = fe.process(y[2048:2100])
    assert len(c) == 0 and c.first_frame == 1
    assert full.power_db.flags.writeable  # a new batch's arrays are its own


def test_frames_survive_until_the_next_call_across_a_compaction():
    # The kept buffer (4 n_fft) fills up and is compacted at a later call: each call's frames
    # are the stream's samples at k * hop.
    y = np.arange(20000, dtype=np.float32)
    stft = StreamingSTFT(256, 64, dtype=np.float64)
    got = []
    for i in range(0, y.size, 300):
        frames = stft.frames(y[i:i + 300])
        got.extend(frames.copy())
        assert frames.dtype == np.float64 and not frames.flags.writeable
    got = np.array(got)
    assert got.shape[0] == (y.size - 256) // 64 + 1
    np.testing.assert_array_equal(got[:, 0], np.arange(got.shape[0]) * 64.0)
    np.testing.assert_array_equal(got[:, -1], np.arange(got.shape[0]) * 64.0 + 255)


def test_a_hop_change_keeps_the_stream_grid():
    # A new extractor seeked to the samples so far (what the worker does on a change of hop).
    y = _signal()
    old = AnalysisParams.from_settings(Settings(n_fft=2048, hop=512, n_mels=128), SR)
    new = AnalysisParams.from_settings(Settings(n_fft=2048, hop=256, n_mels=128), SR)
    fe = FeatureExtractor(old)
    for i in range(0, 10000, 256):
        fe.process(y[i:i + 256])
    fe = FeatureExtractor(new)
    fe.stft.seek(10000)
    streamed = _stream(fe, y[10000:], [256])
    ref = FeatureExtractor(new).process(y)
    first = -(-10000 // 256)
    assert streamed["firsts"][0][0] == first
    n = streamed["power_db"].shape[0]
    np.testing.assert_array_equal(streamed["power_db"], ref.power_db[first:first + n])
    np.testing.assert_array_equal(streamed["peak_hz"], ref.peak_hz[first:first + n])


@pytest.mark.parametrize("n_bins", [3, 5, 1025])
def test_one_row_peak_frequency_db_equals_the_vectorised_one(n_bins):
    rng = np.random.default_rng(n_bins)
    power = (rng.random((200, n_bins)) ** 8).astype(np.float32)
    power[0] = 0.0  # silence: the floor everywhere
    power[1, 0] = 1.0  # peak at DC, power[2, -1] at Nyquist: not refined
    power[2, -1] = 1.0
    db = power_to_db(power)
    together = peak_frequency_db(db, 44100.0, 2 * (n_bins - 1))
    one_by_one = np.concatenate([peak_frequency_db(db[i:i + 1], 44100.0, 2 * (n_bins - 1))
                                 for i in range(db.shape[0])])
    np.testing.assert_array_equal(together, one_by_one)
    assert together[1] == 0.0 and together[2] == 22050.0


@pytest.mark.parametrize("f0", [440.0, 1000.3, 3100.7, 15000.25])
def test_peak_frequency_db_of_a_tone(f0):
    n_fft = 2048
    t = np.arange(n_fft) / SR
    frame = 0.5 * np.sin(2 * np.pi * f0 * t)
    power = np.abs(np.fft.rfft(frame * np.hanning(n_fft + 1)[:-1])) ** 2
    hz = peak_frequency_db(power_to_db(power[None, :].astype(np.float32)), SR, n_fft)[0]
    assert hz == pytest.approx(f0, abs=0.1 * SR / n_fft)
