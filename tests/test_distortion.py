"""Distortion, noise, DC and hum measurements against analytic signals with known answers."""

import numpy as np
import pytest

from monitor.dsp.distortion import measure_distortion
from monitor.dsp.power_spectrum import BH7, cosine_window, enbw_bins, power_spectrum
from monitor.dsp.weighting import weighting_power_gain

RATES = (44100, 48000, 96000)
SINE_DB16 = 6.02 * 16 + 1.76


def _t(fs, seconds=1.0):
    return np.arange(int(fs * seconds)) / fs


def _band_fraction(fs, band=(20.0, 20000.0)):
    return (min(band[1], fs / 2) - band[0]) / (fs / 2)


def test_bh7_window_noise_bandwidth_and_scaling():
    w = cosine_window(BH7, 8192)
    assert enbw_bins(w) == pytest.approx(2.63, abs=0.01)
    rng = np.random.default_rng(1)
    noise = 0.1 * rng.standard_normal(48000 * 4)
    ps = power_spectrum(noise, 48000, 8192)
    assert ps.power.sum() == pytest.approx(0.01, rel=0.02)  # white noise: bins sum to variance
    sine = 0.5 * np.sin(2 * np.pi * 1234.5 * _t(48000))
    assert power_spectrum(sine, 48000).power.sum() == pytest.approx(0.125, rel=1e-9)


@pytest.mark.parametrize("fs", RATES)
def test_thd_of_one_percent_second_harmonic(fs):
    t = _t(fs)
    a = 10 ** (-6 / 20)
    x = a * np.sin(2 * np.pi * 1000 * t) + 0.01 * a * np.sin(2 * np.pi * 2000 * t + 0.7)
    x += 10 ** (-120 / 20) * np.random.default_rng(2).standard_normal(t.size)
    r = measure_distortion(x, fs, frames=4)
    assert r.frames == 4
    assert r.thd_percent == pytest.approx(1.00, abs=0.02)
    assert r.thd_db == pytest.approx(-40.0, abs=0.02)
    assert r.level_dbfs == pytest.approx(-6.0, abs=0.01)
    assert r.harmonics_dbfs[0] == pytest.approx(-46.0, abs=0.02)
    assert r.fundamental_hz == pytest.approx(1000.0, abs=0.01)
    assert r.thdn_percent >= r.thd_percent


@pytest.mark.parametrize("fs", RATES)
def test_third_and_fifth_harmonics_add_as_powers(fs):
    t = _t(fs)
    x = 0.8 * np.sin(2 * np.pi * 440 * t) + 0.8 * 0.003 * np.sin(2 * np.pi * 1320 * t) \
        + 0.8 * 0.004 * np.sin(2 * np.pi * 2200 * t + 1.0)
    r = measure_distortion(x, fs)
    assert r.thd_percent == pytest.approx(0.5, abs=0.005)  # sqrt(0.3^2 + 0.4^2) %


@pytest.mark.parametrize("fs", RATES)
def test_frequency_of_997_3_hz_within_0_05_hz(fs):
    rng = np.random.default_rng(3)
    for phase in (0.0, 1.0, 2.5):
        x = 0.5 * np.sin(2 * np.pi * 997.3 * _t(fs) + phase) + 1e-4 * rng.standard_normal(fs)
        r = measure_distortion(x, fs, n_fft=8192, frames=1)
        assert abs(r.fundamental_hz - 997.3) < 0.05


@pytest.mark.parametrize("fs", RATES)
def test_snr_of_sine_plus_white_noise(fs):
    rng = np.random.default_rng(4)
    sigma = 1e-3
    x = 0.5 * np.sin(2 * np.pi * 1000 * _t(fs, 2.0)) + sigma * rng.standard_normal(2 * fs)
    r = measure_distortion(x, fs)
    expected = 10 * np.log10(0.125 / (sigma ** 2 * _band_fraction(fs)))
    assert r.snr_db == pytest.approx(expected, abs=0.2)
    assert r.sinad_db == pytest.approx(expected, abs=0.2)  # no harmonics: SINAD = SNR
    r_full = measure_distortion(x, fs, band=None)
    assert r_full.snr_db == pytest.approx(10 * np.log10(0.125 / sigma ** 2), abs=0.2)


@pytest.mark.parametrize("fs", RATES)
def test_sinad_and_enob_of_16_bit_full_scale_sine(fs):
    x = np.round(32767 * np.sin(2 * np.pi * 997 * _t(fs, 2.0) + 0.2)) / 32768
    full = measure_distortion(x, fs, band=None)
    assert full.sinad_db == pytest.approx(SINE_DB16, abs=0.5)
    assert full.enob_bits == pytest.approx(16.0, abs=0.1)
    banded = measure_distortion(x, fs)
    assert banded.sinad_db == pytest.approx(SINE_DB16 - 10 * np.log10(_band_fraction(fs)), abs=0.5)


@pytest.mark.parametrize("fs", RATES)
def test_noise_floor_flat_and_a_weighted_without_tone(fs):
    rng = np.random.default_rng(5)
    sigma = 1e-4
    r = measure_distortion(sigma * rng.standard_normal(2 * fs), fs)
    assert r.fundamental_hz is None and r.thd_percent is None and r.hum_hz is None
    expected = 10 * np.log10(sigma ** 2 * _band_fraction(fs) / 0.5)
    assert r.noise_dbfs == pytest.approx(expected, abs=0.2)
    f = np.linspace(20.0, min(20000.0, fs / 2), 200001)
    a_fraction = np.trapezoid(weighting_power_gain("A", f), f) / (fs / 2)
    assert r.noise_dbfs_a == pytest.approx(10 * np.log10(sigma ** 2 * a_fraction / 0.5), abs=0.2)


@pytest.mark.parametrize("fs", RATES)
def test_dc_offset(fs):
    x = 0.01 + 0.3 * np.sin(2 * np.pi * 1000 * _t(fs))
    r = measure_distortion(x, fs)
    assert r.dc_offset == pytest.approx(0.01, abs=1e-6)
    assert r.dc_dbfs == pytest.approx(-40.0, abs=0.01)
    assert r.thd_percent < 1e-4  # DC is not distortion


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("mains", (50.0, 60.0))
def test_hum_found_with_harmonics(fs, mains):
    rng = np.random.default_rng(6)
    t = _t(fs, 2.0)
    f = mains * 1.002  # the grid is a little fast
    x = 1e-4 * rng.standard_normal(t.size) + 0.01 * np.sin(2 * np.pi * f * t) \
        + 0.003 * np.sin(2 * np.pi * 3 * f * t + 1.0)
    n_fft = 8192 if fs < 96000 else 16384  # mains harmonics resolved: n_fft >= 7 fs / 50
    r = measure_distortion(x, fs, n_fft=n_fft)
    assert r.fundamental_hz is None  # hum is not a test tone
    assert r.hum_hz == pytest.approx(f, abs=0.1)
    assert r.hum_harmonics_dbfs[0] == pytest.approx(-40.0, abs=0.1)
    assert r.hum_harmonics_dbfs[1] is None
    assert r.hum_harmonics_dbfs[2] == pytest.approx(20 * np.log10(0.003), abs=0.1)
    assert r.hum_dbfs == pytest.approx(10 * np.log10(0.01 ** 2 + 0.003 ** 2), abs=0.1)


def test_tone_with_hum_measures_both():
    fs = 48000
    t = _t(fs)
    x = 0.5 * np.sin(2 * np.pi * 1000 * t) + 0.001 * np.sin(2 * np.pi * 50 * t)
    r = measure_distortion(x, fs)
    assert r.fundamental_hz == pytest.approx(1000.0, abs=0.01)
    assert r.hum_hz == pytest.approx(50.0, abs=0.1)
    assert r.hum_dbfs == pytest.approx(-60.0, abs=0.1)
    assert r.snr_db == pytest.approx(-6.02 + 60.0, abs=0.1)  # hum is noise to the tone


def test_short_input_is_refused():
    with pytest.raises(ValueError, match="n_fft"):
        measure_distortion(np.zeros(100), 48000)


def test_thd_is_none_when_no_harmonic_is_in_the_band():
    fs = 48000
    r = measure_distortion(0.5 * np.sin(2 * np.pi * 15000 * _t(fs)), fs)
    assert r.fundamental_hz == pytest.approx(15000.0, abs=0.01)
    assert r.thd_percent is None and r.harmonics_dbfs == ()
    assert r.sinad_db is not None


def test_a_tone_on_a_mains_harmonic_is_not_read_as_hum():
    fs = 48000
    t = _t(fs)
    r = measure_distortion(0.5 * np.sin(2 * np.pi * 250 * t) + 0.001 * np.sin(2 * np.pi * 50 * t), fs)
    assert r.fundamental_hz == pytest.approx(250.0, abs=0.01)
    assert r.hum_harmonics_dbfs[4] is None  # 5 x 50 Hz is the tone
    assert r.hum_dbfs == pytest.approx(-60.0, abs=0.1)
