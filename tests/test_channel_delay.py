"""Delay, polarity and level difference between channels against known answers."""

import numpy as np
import pytest

from monitor.channel_monitor import ChannelTap, channel_report
from monitor.dsp.channel_delay import channel_delay, level_difference_db

FS = 48000


def _noise(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("lag", (0, 1, 12, -37, 400))
@pytest.mark.parametrize("polarity", (1, -1))
def test_integer_delay_and_polarity(lag, polarity):
    x = _noise(24000 + 1000)
    a = x[500:500 + 24000]
    b = polarity * 0.5 * x[500 - lag:500 - lag + 24000]  # b[t] = a[t - lag]: b lags by `lag`
    d = channel_delay(a, b, FS)
    assert d.lag_samples == pytest.approx(lag, abs=0.01)
    assert d.delay_s == pytest.approx(lag / FS, abs=1e-6)
    assert d.polarity == polarity
    assert d.confidence > 0.95 and d.ambiguity < 0.1


def test_sub_sample_delay_of_band_limited_noise():
    n = 1 << 15
    spectrum = np.fft.rfft(_noise(n, 1))
    f = np.fft.rfftfreq(n)
    spectrum[f > 0.1] = 0  # low-passed: the correlation peak is smooth enough for a parabola
    a = np.fft.irfft(spectrum, n)
    b = np.fft.irfft(spectrum * np.exp(-2j * np.pi * f * 3.4), n)  # 3.4 samples later
    d = channel_delay(a, b, FS)
    assert d.lag_samples == pytest.approx(3.4, abs=0.1)


def test_unrelated_channels_have_no_confidence_and_silence_gives_none():
    d = channel_delay(_noise(24000, 2), _noise(24000, 3), FS)
    assert d.confidence < 0.05
    assert channel_delay(np.zeros(1000), _noise(1000), FS) is None
    assert level_difference_db(np.zeros(10), np.ones(10)) is None


def test_a_pure_tone_is_ambiguous():
    t = np.arange(24000) / FS
    d = channel_delay(np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 1000 * (t - 5 / FS)), FS)
    assert d.ambiguity > 0.9  # every 48 samples fits as well


def test_level_difference_and_the_tap_in_odd_blocks():
    x = _noise(FS, 4)
    block = np.stack([0.1 * x, -0.05 * np.roll(x, 7)], axis=1).astype(np.float32)
    assert level_difference_db(block[:, 0], block[:, 1]) == pytest.approx(-6.02, abs=0.01)
    tap = ChannelTap(FS)
    pos = 0
    for n in (1, 333, 4097, 17, 48000):
        tap.process(block[pos:pos + n])
        pos += n
    _, rms = tap.levels(0.5)
    expected = 10 * np.log10(np.mean(block[-24000:].astype(np.float64) ** 2, axis=0) / 0.5)
    assert rms == pytest.approx(expected, abs=1e-4)
    report = channel_report(tap, 1, 2)
    assert report["count"] == 2
    assert report["compare"]["lag_samples"] == pytest.approx(7, abs=0.01)
    assert report["compare"]["polarity"] == -1
    assert report["compare"]["level_difference_db"] == pytest.approx(-6.02, abs=0.05)


@pytest.mark.parametrize("freq, a_db, c_db", [(100.0, -19.1, -0.3), (1000.0, 0.0, 0.0), (10000.0, -2.5, -4.4)])
def test_weighted_channel_levels_follow_the_iec_table(freq, a_db, c_db):
    t = np.arange(FS) / FS
    tone = 10 ** (-10 / 20) * np.sin(2 * np.pi * freq * t)  # -10 dBFS (AES17)
    tap = ChannelTap(FS)
    tap.process(np.stack([tone, 0.5 * tone], axis=1).astype(np.float32))
    _, z = tap.levels(0.1)
    _, a = tap.levels(0.1, "A")
    _, c = tap.levels(0.1, "C")
    assert z == pytest.approx([-10.0, -16.02], abs=0.05)
    assert a - z == pytest.approx([a_db, a_db], abs=0.15)  # IEC 61672-1 table, rounded to 0.1 dB
    assert c - z == pytest.approx([c_db, c_db], abs=0.15)
