"""Generators: frequencies land in the right bin, levels are right, specs are checked."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.features import AnalysisParams, FeatureExtractor
from monitor.settings import ParameterError, Settings
from monitor.sources.generator import GeneratorSource, parse_spec


def analyse(spec: str, sr: float = 48000, seconds: float = 1.0, n_fft: int = 4096):
    gen = GeneratorSource(spec, sr, seed=1)
    y = np.concatenate([gen.render(1000) for _ in range(int(sr * seconds) // 1000)])[:, 0]
    params = AnalysisParams.from_settings(Settings(n_fft=n_fft, hop=n_fft // 4), sr)
    return y, FeatureExtractor(params).process(y)


@pytest.mark.parametrize("sr,freq", [(sr, f) for sr in (22050.0, 48000.0)
                                     for f in (50.0, 440.0, 1000.0, 3150.0, 10000.0, 12000.0)
                                     if f < sr / 2])
def test_sine_lands_in_its_bin(freq, sr):
    y, batch = analyse(f"sine:{freq}@-6", sr)
    k = np.argmax(batch.power_db, axis=1)
    hz_per_bin = sr / 4096
    assert np.all(np.abs(k * hz_per_bin - freq) <= hz_per_bin / 2 + 1e-9)
    assert np.all(np.abs(batch.peak_hz - freq) < 0.1 * hz_per_bin)
    assert abs(20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2))) + 6 + 3.0103) < 0.01


def test_tones_all_present():
    _, batch = analyse("tones:440,2000,5000@-12")
    spectrum = batch.power_db.mean(axis=0)
    freqs = batch.params.fft_freqs
    for f in (440, 2000, 5000):
        k = int(round(f / (48000 / 4096)))
        assert spectrum[k] > spectrum.mean() + 40, f


def test_sweep_rises_log_linearly():
    _, batch = analyse("sweep:100-8000:1", seconds=0.99)
    hz = batch.peak_hz
    times = batch.frame_times + 4096 / 2 / 48000  # frame centres
    expected = 100 * (8000 / 100) ** times
    inside = (expected > 150) & (expected < 7000)
    assert np.all(np.abs(np.log2(hz[inside] / expected[inside])) < 0.1)


def test_white_and_pink_noise_levels_and_slopes():
    y, batch = analyse("white@-20", seconds=4)
    assert abs(20 * np.log10(np.sqrt(np.mean(y ** 2))) + 20) < 0.2
    white = batch.power_db.mean(axis=0)
    y, batch = analyse("pink@-20", seconds=4)
    assert abs(20 * np.log10(np.sqrt(np.mean(y ** 2))) + 20) < 1.0
    pink = batch.power_db.mean(axis=0)
    freqs = batch.params.fft_freqs

    def band(spec, lo, hi):
        sel = (freqs >= lo) & (freqs < hi)
        return 10 * np.log10(np.mean(10 ** (spec[sel] / 10)))

    # White: flat. Pink: -3 dB per octave, so about -10 dB from 200-400 Hz to 2-4 kHz.
    assert abs(band(white, 200, 400) - band(white, 2000, 4000)) < 1.5
    assert 7 < band(pink, 200, 400) - band(pink, 2000, 4000) < 13


def test_pink_noise_is_continuous_across_block_sizes():
    a = GeneratorSource("pink", 48000, seed=5)
    b = GeneratorSource("pink", 48000, seed=5)
    ya = np.concatenate([a.render(4096) for _ in range(4)])
    # Different cuts consume the RNG differently, so compare statistics, not samples.
    yb = np.concatenate([b.render(n) for n in (1, 100, 4000, 12283)])
    assert ya.shape == yb.shape
    assert abs(np.std(ya) - np.std(yb)) < 0.2 * np.std(ya)


def test_silence_is_silent():
    y, batch = analyse("silence")
    assert not np.any(y)
    np.testing.assert_allclose(batch.power_db, -100.0, atol=1e-4)  # the amin floor


@pytest.mark.parametrize("spec", ["sine", "sine:abc", "sine:30000", "sweep:20-20000", "sweep:1-2:0",
                                  "tones:", "white:3", "noise", "sine:1000@+3", "sine:1000@x", ""])
def test_bad_specs_are_parameter_errors(spec):
    with pytest.raises(ParameterError):
        parse_spec(spec, 48000)


def test_spec_parsing():
    assert parse_spec("sine:1000", 48000) == {"kind": "sine", "db": -6.0, "freqs": [1000.0]}
    assert parse_spec("sweep:20-20000:10@-3", 48000) == {"kind": "sweep", "db": -3.0, "f0": 20.0,
                                                        "f1": 20000.0, "seconds": 10.0}


def test_sweep_repeats_without_a_click():
    gen = GeneratorSource("sweep:100-8000:1", 48000)
    y = np.concatenate([gen.render(1000) for _ in range(100)])[:, 0]
    steps = np.abs(np.diff(y.astype(np.float64)))
    # The largest sample-to-sample step where the sweep restarts is no larger than within it.
    assert steps[47900:48100].max() <= steps[40000:47900].max() + 1e-3
