"""The long-term spectral average: every level equals an offline mean/max of the same spectra."""

import numpy as np
import pytest

from monitor.dsp.features import AnalysisParams, FeatureExtractor
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.dsp.ltsa import LTSA, power_mean_db


def _rows(seconds=30.0, sr=8000.0):
    params = AnalysisParams(sr, 256, 64, "hann", 32, 0.0, sr / 2, False, "slaney")
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(1)
    # a tone sweeping slowly, bursts of noise, and a stretch of digital silence
    x = 0.5 * np.sin(2 * np.pi * (300 + 20 * t) * t) + 0.05 * rng.standard_normal(t.size)
    x[int(10 * sr):int(11 * sr)] = 0.0
    x = x.astype(np.float32)
    ex = FeatureExtractor(params)
    rows = FrequencyRows(params, "log")
    return rows.rows(ex.process(x))


@pytest.mark.parametrize("k", [1, 7, 64])
def test_every_level_is_the_offline_mean_and_max(k):
    rows = _rows()
    ltsa = LTSA(rows.shape[1], frames_per_bin=k, keep_bins=1 << 20)
    # pushed in uneven pieces, as the display tick does
    edges = np.cumsum(np.random.default_rng(2).integers(1, 40, size=400))
    for a, b in zip(np.r_[0, edges], edges):
        ltsa.push(rows[a:b])
    pushed = min(int(edges[-1]), rows.shape[0])
    assert ltsa.frames == pushed
    for level in range(len(ltsa.levels)):
        fpb = k << level
        n = pushed // fpb
        assert ltsa.bins(level) == n
        blocks = rows[:n * fpb].reshape(n, fpb, -1)
        want_mean = power_mean_db(blocks, axis=1)
        want_max = blocks.max(axis=1)
        lv = ltsa.levels[level]
        np.testing.assert_allclose(lv.mean[:n], want_mean, atol=2e-3, rtol=0)
        np.testing.assert_array_equal(lv.max[:n], want_max)


def test_silence_is_minus_infinity_and_view_fits_the_width():
    rows = np.full((1000, 4), -np.inf, np.float32)
    rows[:500] = -20.0
    ltsa = LTSA(4, frames_per_bin=10, keep_bins=32)
    ltsa.push(rows)
    v = ltsa.view(width=30)
    assert v is not None and len(v) <= 30 and v.frames_per_bin * len(v) <= 1000
    assert v.first_frame == 0
    # bins of level 2 (40 frames): 12 full bins of -20 dB, one half (-23.01), then silence
    assert v.frames_per_bin == 40
    np.testing.assert_allclose(v.mean_db[:12], -20.0, atol=1e-4)
    np.testing.assert_allclose(v.mean_db[12], -20.0 - 10 * np.log10(2), atol=1e-4)
    assert np.isneginf(v.mean_db[13:]).all() and v.max_db[12, 0] == -20.0
    # the finest levels are no longer stored beyond keep_bins
    assert not ltsa.levels[0].stored and ltsa.levels[0].count == 100


def test_silence_pushed_in_chunks_equals_silence_pushed_at_once():
    a, b = LTSA(3, frames_per_bin=5), LTSA(3, frames_per_bin=5)
    a.push(np.full((10000, 3), -np.inf, np.float32))
    b.push_silence(10000, chunk=333)
    assert a.frames == b.frames == 10000
    assert [lv.count for lv in a.levels] == [lv.count for lv in b.levels]
    assert np.isneginf(b.levels[0].mean[:b.levels[0].count]).all()


def test_memory_stays_bounded_whatever_the_session_length():
    """Pushing 40 × keep_bins bins leaves at most 2 · keep_bins bins stored (the levels finer
    than that are dropped), and the coarse levels still hold the whole session."""
    keep, n_rows, k = 64, 8, 4
    ltsa = LTSA(n_rows, k, keep_bins=keep)
    frames = np.zeros((k * keep, n_rows), np.float32)
    most = 0
    for _ in range(40):
        ltsa.push(frames)
        most = max(most, ltsa.stored_bins)
    assert ltsa.bins(0) == 40 * keep
    assert keep < most <= 2 * keep
    view = ltsa.view(keep)
    assert view is not None and len(view) * view.frames_per_bin == ltsa.frames
