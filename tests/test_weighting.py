"""A, C, Z weighting against the IEC 61672-1 table; the IIR against a sample loop and the curve."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from monitor.dsp.weighting import (
    LevelIntegrator,
    SOSFilter,
    bin_gains,
    leq_db,
    peak_db,
    sos_response,
    weighting_db,
    weighting_power_gain,
    weighting_sos,
)

TABLE = np.loadtxt(Path(__file__).parent / "data" / "iec61672_weighting.tsv", comments="#", skiprows=5)
NOMINAL, A_DB, C_DB = TABLE.T
EXACT = 1000.0 * 10.0 ** (np.arange(-20, 14) / 10.0)  # base-10 mid-band frequencies of the rows
# IEC 61672-1:2002 Table 2, class 1 tolerance limits (+, -) in dB at the same nominal frequencies.
CLASS1_PLUS = np.array([3.5, 3.0, 2.5, 2.5, 2.5, 2.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.4,
                        1.4, 1.4, 1.4, 1.1, 1.4, 1.6, 1.6, 1.6, 1.6, 1.6, 2.1, 2.1, 2.1, 2.6, 3.0, 3.5, 4.0])
CLASS1_MINUS = np.array([np.inf, np.inf, 4.5, 2.5, 2.0, 2.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4,
                         1.4, 1.4, 1.4, 1.4, 1.1, 1.4, 1.6, 1.6, 1.6, 1.6, 1.6, 2.1, 2.6, 3.1, 3.6, 6.0, 17.0,
                         np.inf])
RATES = (44100, 48000, 96000)


def _within_class1(error_db, rows):
    return np.all((error_db <= CLASS1_PLUS[rows]) & (error_db >= -CLASS1_MINUS[rows]))


def test_table_rows_are_the_base_10_frequencies():
    assert TABLE.shape == (34, 3)
    assert np.allclose(NOMINAL, EXACT, rtol=0.03)


@pytest.mark.parametrize("kind, table", (("A", A_DB), ("C", C_DB)))
def test_analytic_weighting_matches_table_at_exact_frequencies(kind, table):
    assert np.max(np.abs(weighting_db(kind, EXACT) - table)) <= 0.05
    assert _within_class1(weighting_db(kind, NOMINAL) - table, slice(None))
    assert weighting_db(kind, [1000.0])[0] == pytest.approx(0.0, abs=1e-12)


def test_z_is_flat_and_dc_is_removed():
    f = np.fft.rfftfreq(8192, 1 / 48000)
    assert np.all(weighting_power_gain("Z", f) == 1.0)
    for kind in "AC":
        gain = weighting_power_gain(kind, f)
        assert gain[0] == 0.0 and np.all(np.diff(gain[:10]) > 0)
    assert weighting_db("a", [1000.0])[0] == pytest.approx(0.0)
    gains = bin_gains("A", 8192, 48000)
    assert gains.shape == (4097,)
    assert 20 * np.log10(gains[np.argmin(np.abs(f - 1000.0))]) == pytest.approx(0.0, abs=0.01)
    assert 20 * np.log10(gains[np.argmin(np.abs(f - 100.0))]) == pytest.approx(-19.1, abs=0.3)
    with pytest.raises(ValueError, match="weighting"):
        weighting_db("B", [1000.0])


def _sample_loop(sos, x):
    y = np.asarray(x, dtype=np.float64)
    for b0, b1, b2, _, a1, a2 in sos:
        s1 = s2 = 0.0
        out = np.empty_like(y)
        for i, u in enumerate(y):
            v = b0 * u + s1
            s1, s2 = b1 * u - a1 * v + s2, b2 * u - a2 * v
            out[i] = v
        y = out
    return y


@pytest.mark.parametrize("kind", ("A", "C"))
def test_block_filter_equals_the_sample_loop_across_odd_blocks(kind):
    sos = weighting_sos(kind, 48000)
    x = np.random.default_rng(7).standard_normal(4000)
    filt = SOSFilter(sos)
    cuts = [0, 1, 7, 300, 301, 2000, 4000]
    y = np.concatenate([filt.process(x[a:b]) for a, b in itertools.pairwise(cuts)])
    assert np.max(np.abs(y - _sample_loop(sos, x))) < 1e-10


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("kind, table", (("A", A_DB), ("C", C_DB)))
def test_iir_response_within_class1_and_close_below_4khz(fs, kind, table):
    rows = NOMINAL < fs / 2
    response = 20 * np.log10(np.abs(sos_response(weighting_sos(kind, fs), EXACT[rows], fs)))
    assert _within_class1(response - table[rows], rows)
    low = EXACT[rows] <= 4000
    assert np.max(np.abs(response[low] - weighting_db(kind, EXACT[rows][low]))) < 0.1


@pytest.mark.parametrize("fs", RATES)
def test_filtered_sines_read_the_weighting(fs):
    t = np.arange(2 * fs) / fs
    for f, a_db in ((100.0, -19.1), (1000.0, 0.0), (3162.2777, 1.2)):
        meter = LevelIntegrator(fs)
        meter.process(np.sin(2 * np.pi * f * t[:fs]))  # settle the filters
        meter.reset()
        meter.process(np.sin(2 * np.pi * f * t[fs:]))
        assert meter.leq_db("A") == pytest.approx(a_db, abs=0.06)
        assert meter.leq_db("Z") == pytest.approx(0.0, abs=1e-3)
    assert meter.duration_s == pytest.approx(1.0)


def test_leq_and_peak_of_a_full_scale_sine():
    x = np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)
    assert leq_db(x) == pytest.approx(0.0, abs=1e-3)
    assert peak_db(x) == pytest.approx(3.01, abs=0.01)
    meter = LevelIntegrator(48000)
    meter.process(x[:24000])  # switching a sine on overshoots the C filter (+0.3 dB): settle first
    meter.reset()
    for a, b in ((24000, 25001), (25001, 25002), (25002, 48000)):  # odd blocks
        meter.process(x[a:b])
    assert meter.lcpeak_db() == pytest.approx(3.01, abs=0.05)
    assert meter.leq_db("C") == pytest.approx(0.0, abs=0.05)


def test_integrator_before_audio_reads_none():
    meter = LevelIntegrator(44100)
    assert meter.leq_db("A") is None and meter.lcpeak_db() is None
    meter.process(np.zeros(100))
    assert meter.leq_db("Z") is None


@pytest.mark.parametrize("fs", (44100, 48000, 96000))
def test_weighted_rms_from_the_power_spectrum_reads_the_curve(fs):
    """WeightedRMS (the level meter's A/C reading) on the STFT's own power spectrum: flat it
    is the frame RMS; a tone reads the curve at its frequency (n_fft 8192: the Hann main lobe
    reads 0.06 dB high at 100 Hz, where the A curve is steep; within 0.1 dB from there up)."""
    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.dsp.levels import WeightedRMS

    params = AnalysisParams(fs, 8192, 2048, "hann", 128, 0.0, fs / 2, False, "slaney")
    t = np.arange(fs) / fs
    for f in (100.0, 1000.0, 8000.0):
        batch = FeatureExtractor(params).process((0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32))
        flat = WeightedRMS(8192, fs, "hann", "Z").dbfs(batch.power_db)
        assert np.allclose(flat, batch.rms_dbfs, atol=0.02)
        for kind in ("A", "C"):
            weighted = WeightedRMS(8192, fs, "hann", kind).dbfs(batch.power_db)
            expected = flat + weighting_db(kind, np.array([f]))[0]
            assert np.allclose(weighted, expected, atol=0.1), (kind, f)


@pytest.mark.parametrize("wide", (True, False))
@pytest.mark.parametrize("kind", ("A", "C"))
def test_block_prefix_sum_equals_the_sample_loop_in_long_and_short_calls(kind, wide):
    """The states at the block starts come from a prefix sum over the blocks (powers of A^L
    in extended precision); without extended precision from the block-by-block recurrence.
    Both read what the sample loop reads, in one long call (312 blocks) and in polls."""
    sos = weighting_sos(kind, 48000)
    x = np.random.default_rng(8).standard_normal(20000)
    ref = _sample_loop(sos, x)
    for cuts in ([0, 20000], [0, 63, 64, 4864, 9664, 9665, 20000]):
        filt = SOSFilter(sos)
        if not wide:
            filt._wide = False
        y = np.concatenate([filt.process(x[a:b]) for a, b in itertools.pairwise(cuts)])
        assert np.max(np.abs(y - ref)) < 1e-10
