"""Fractional-octave bands: edges against IEC 61260-1, pink noise flat, a sine in its band."""

from pathlib import Path

import numpy as np
import pytest

from monitor.dsp.octave import band_centres, band_edges, band_levels, nominal_frequency
from monitor.dsp.power_spectrum import HANN, power_spectrum

TABLE = np.loadtxt(Path(__file__).parent / "data" / "iec61260_third_octave.tsv", comments="#", skiprows=5)
RATES = (44100, 48000, 96000)


def _pink(n, seed, rms=0.1):
    """Pink noise made in the frequency domain: |X(f)| = 1/sqrt(f) exactly, random phases."""
    rng = np.random.default_rng(seed)
    spectrum = np.exp(2j * np.pi * rng.random(n // 2 + 1))
    spectrum[1:] /= np.sqrt(np.arange(1, n // 2 + 1))
    spectrum[0] = 0.0
    x = np.fft.irfft(spectrum, n)
    return rms * x / np.std(x)


def test_third_octave_centres_and_edges_match_iec_61260():
    centres = band_centres(3, 10.0, 20000.0)
    lower, upper = band_edges(centres, 3)
    n, nominal, exact, lo, hi = TABLE.T
    assert centres.size == n.size
    assert np.allclose(centres, exact, atol=1e-4, rtol=0)
    assert np.allclose(lower, lo, atol=1e-4, rtol=0) and np.allclose(upper, hi, atol=1e-4, rtol=0)
    assert np.array_equal(nominal_frequency(centres, 3), nominal)


def test_octave_and_fine_bands_follow_the_formulas():
    octaves = band_centres(1, 31.5, 16000.0)
    assert np.allclose(octaves, 1000.0 * 10 ** (0.3 * np.arange(-5, 5)))
    assert list(nominal_frequency(octaves, 1)) == [31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]
    lower, upper = band_edges(octaves, 1)
    thirds_lo, thirds_hi = band_edges(band_centres(3, 25.0, 20000.0), 3)  # 3 per octave
    assert np.allclose(lower, thirds_lo[::3]) and np.allclose(upper, thirds_hi[2::3])
    for b in (6, 12, 24):  # even b: no band centred on 1 kHz, two bands meet there
        centres = band_centres(b, 500.0, 2000.0)
        lo, hi = band_edges(centres, b)
        assert np.allclose(lo[1:], hi[:-1])
        assert np.any(np.isclose(hi, 1000.0))
        assert np.allclose(np.log10(centres[1:] / centres[:-1]), 0.3 / b)
    with pytest.raises(ValueError, match="fraction"):
        band_centres(5)


def test_partial_bins_are_split_by_fraction():
    n_fft, fs = 1024, 1024.0  # 1 Hz bins
    flat = np.ones(n_fft // 2 + 1)
    bands = band_levels(flat, fs, n_fft, 3, 20.0, 400.0)
    assert np.allclose(bands.power, bands.upper_hz - bands.lower_hz)  # 1 per Hz
    assert np.allclose(bands.bins, bands.upper_hz - bands.lower_hz)


@pytest.mark.parametrize("fs", RATES)
def test_pink_noise_is_flat_per_third_octave(fs):
    ps = power_spectrum(_pink(2 ** 21, 8), fs, 8192, coefficients=HANN)
    bands = band_levels(ps.power, fs, 8192, 3)
    deviation = bands.level_dbfs - np.median(bands.level_dbfs)
    resolved = bands.bins >= 1.0
    assert np.all(np.abs(deviation[resolved]) < 0.5), dict(zip(bands.nominal_hz, deviation.round(2)))
    if fs < 96000:  # at 5.4 Hz bins even the 20 Hz band (4.6 Hz wide) reads flat
        assert np.all(np.abs(deviation) < 0.5)
    assert bands.upper_hz[-1] <= fs / 2


@pytest.mark.parametrize("fs", RATES)
def test_sine_level_lands_in_its_band(fs):
    for b, f, leak in ((1, 1000.0, 1e-6), (3, 1000.0, 1e-6), (6, band_centres(6, 1000.0, 1000.0)[0], 1e-3)):
        x = 0.25 * np.sin(2 * np.pi * f * np.arange(fs) / fs)
        ps = power_spectrum(x, fs, 8192, coefficients=HANN)
        bands = band_levels(ps.power, fs, 8192, b)
        k = int(np.argmax(bands.power))
        assert bands.lower_hz[k] < f < bands.upper_hz[k]
        assert bands.level_dbfs[k] == pytest.approx(20 * np.log10(0.25), abs=0.05)
        assert np.delete(bands.power, k).sum() < leak * bands.power[k]
        if b == 3:
            assert bands.nominal_hz[k] == 1000.0
