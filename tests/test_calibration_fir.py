"""The time-domain microphone correction (monitor/dsp/correction_filter.py) and the levels it
corrects: the designed FIR against the file's curve, its delay, block-partition independence,
and LZeq/LCpeak of sines through the real MeasurementConsumer."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.calibration import MicCalibration
from monitor.dsp.correction_filter import StreamingFIR, design_correction, fir_response_db
from monitor.measurement import MeasurementConsumer

# A UMIK-1-like curve (mic response, dB): the low-frequency roll-off is the hard part.
UMIK_HZ = np.array([10, 15, 20, 30, 50, 100, 200, 1000, 3000, 6000, 8000, 10000, 12000, 15000,
                    18000, 20000.0])
UMIK_DB = np.array([-4, -2.5, -1.6, -0.8, -0.3, 0, 0, 0, 0.3, 1.0, 1.5, 2.2, 3.0, 4.0, 2.0, -3.0])
UMIK = MicCalibration(UMIK_HZ, UMIK_DB, source="umik.txt")


@pytest.mark.parametrize("fs,taps", [(16000, 2047), (44100, 8191), (48000, 8191), (96000, 16383)])
def test_the_fir_matches_the_file_within_0_1_db_from_20_hz(fs, taps):
    fir = design_correction(UMIK.correction_db, fs, check_hz=UMIK_HZ)
    assert fir.n_taps == taps  # the fewest of 1023, 2047, … that meet 0.1 dB
    assert np.array_equal(fir.taps, fir.taps[::-1])  # symmetric: linear phase
    assert fir.delay_samples == (taps - 1) // 2
    # At the file's own points (20 Hz … Nyquist), exact evaluation of the taps' response.
    points = UMIK_HZ[(UMIK_HZ >= 20) & (UMIK_HZ <= fs / 2)]
    error = fir_response_db(fir.taps, points, fs) - UMIK.correction_db(points)
    assert np.max(np.abs(error)) <= 0.1
    assert fir.max_error_db <= 0.1
    # Between the points too (a grid the design did not check): the response is smooth, the
    # error stays within the same 0.1 dB.
    between = np.geomspace(20.5, fs / 2 * 0.999, 1500)
    error = fir_response_db(fir.taps, between, fs) - UMIK.correction_db(between)
    assert np.max(np.abs(error)) <= 0.1


def test_fewer_taps_are_said_when_they_miss_the_tolerance():
    fir = design_correction(UMIK.correction_db, 48000, max_taps=4095, check_hz=UMIK_HZ)
    assert fir.n_taps == 4095 and 0.1 < fir.max_error_db < 0.3  # 0.18 dB at 20 Hz
    assert fir.delay_s == pytest.approx(2047 / 48000)


def test_the_filter_is_exact_convolution_with_the_delay_taken_out():
    fs = 8000
    fir = design_correction(UMIK.correction_db, fs, check_hz=UMIK_HZ)
    d = fir.delay_samples
    x = np.random.default_rng(3).standard_normal(9000)
    y = StreamingFIR(fir).process(x)
    assert y.size == x.size - d  # the last `delay` samples wait for the input after them
    reference = np.convolve(x, fir.taps)[d:x.size]  # causal convolution, advanced by the delay
    np.testing.assert_allclose(y, reference, rtol=0, atol=1e-12 * np.max(np.abs(reference)))
    # An impulse comes out centred on its own sample: the group delay is taken out exactly.
    impulse = np.zeros(4 * fir.n_taps)
    impulse[1500] = 1.0
    h = StreamingFIR(fir).process(impulse)
    assert int(np.argmax(np.abs(h))) == 1500
    np.testing.assert_allclose(h[1500 - d:1500 + d + 1], fir.taps, atol=1e-15)
    # The end of a stream: flush gives the last `delay` samples, the input after it as zero.
    f = StreamingFIR(fir)
    tail = np.concatenate((f.process(x), f.flush()))
    np.testing.assert_allclose(tail, np.convolve(x, fir.taps)[d:d + x.size], rtol=0,
                               atol=1e-12 * np.max(np.abs(reference)))
    short = StreamingFIR(fir)
    assert short.process(x[:100]).size == 0 and short.flush().size == 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_block_partition_gives_the_same_output(seed):
    fs = 48000
    fir = design_correction(UMIK.correction_db, fs, check_hz=UMIK_HZ)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(3 * fs)
    whole = StreamingFIR(fir).process(x)
    cuts = np.unique(np.concatenate(([0, x.size], rng.integers(0, x.size, 40),
                                     [1, 2, 3, 4096, 4097, 60000])))
    streaming = StreamingFIR(fir)
    parts = np.concatenate([streaming.process(x[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])
    assert parts.size == whole.size == x.size - fir.delay_samples
    # The FFT sizes differ between partitions: equal to rounding (measured 3e-15 relative).
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-12 * np.max(np.abs(whole)))


def _sine(fs, f, dbfs, seconds):
    t = np.arange(int(fs * seconds)) / fs
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _levels(consumer: MeasurementConsumer, x: np.ndarray, fs: float, restart_at: int | None = None) -> dict:
    for start in range(0, x.size, 1000):
        if start == restart_at:
            consumer.reset_levels()  # Restart Leq: the filters keep their state
        consumer.feed(x[start:start + 1000], fs, (start + 1000) / fs)
        consumer.poll()
    return consumer.latest()["levels"]


# The mic reads 3 dB low from 500 Hz to 2 kHz, 0 dB at 100 Hz and below, 2 dB high at 10 kHz.
MINUS_3 = MicCalibration(np.array([100.0, 500.0, 2000.0, 10000.0]), np.array([0.0, -3.0, -3.0, 2.0]),
                         source="minus3.txt")


@pytest.mark.parametrize("fs", [44100, 48000])
def test_a_sine_where_the_file_says_minus_3_db_reads_3_db_higher_in_lzeq(fs):
    x = _sine(fs, 1000.0, -20.0, 4.0)
    plain = _levels(MeasurementConsumer(fs), x, fs)
    corrected = _levels(MeasurementConsumer(fs, calibration=MINUS_3), x, fs)
    assert plain["lzeq_db"] == pytest.approx(-20.0, abs=0.02)
    assert corrected["lzeq_db"] == pytest.approx(-17.0, abs=0.1)
    assert corrected["laeq_db"] == pytest.approx(-17.0, abs=0.1)  # A(1 kHz) = 0 dB
    # LCpeak includes the correction: a sine's peak is its Leq + 3.01 dB. Measured after a
    # Restart Leq at 1 s: from the stream's start the C filter's own transient reads 0.3 dB high
    # (with or without the file).
    steady = _levels(MeasurementConsumer(fs, calibration=MINUS_3), x, fs, restart_at=fs // 1000 * 1000)
    assert steady["lzeq_db"] == pytest.approx(-17.0, abs=0.1)
    assert steady["lcpeak_db"] == pytest.approx(-17.0 + 3.01, abs=0.1)
    # The 10 kHz tone, where the mic reads 2 dB high, reads 2 dB lower.
    y = _sine(fs, 10000.0, -20.0, 4.0)
    assert _levels(MeasurementConsumer(fs, calibration=MINUS_3), y, fs)["lzeq_db"] == \
        pytest.approx(-22.0, abs=0.1)


def test_the_measurement_says_how_the_levels_were_corrected_and_a_new_file_restarts_leq():
    fs = 48000
    consumer = MeasurementConsumer(fs, calibration=MINUS_3)
    x = _sine(fs, 1000.0, -20.0, 2.0)
    _levels(consumer, x, fs)
    out = consumer.latest()
    fir = out["calibration_fir"]
    assert fir["taps"] == consumer.correction_fir.n_taps and fir["from_hz"] == 20.0
    assert fir["delay_ms"] == pytest.approx(1e3 * (fir["taps"] - 1) / 2 / fs, abs=1e-3)
    assert fir["max_error_db"] <= 0.1
    # The levels lag the input by the delay: x.size - delay samples integrated.
    assert out["levels"]["period_s"] == pytest.approx((x.size - consumer.correction_fir.delay_samples) / fs,
                                                      abs=1e-3)
    consumer.stop()  # the end: the last `delay` samples are integrated too
    assert consumer.latest()["levels"]["period_s"] == pytest.approx(x.size / fs, abs=1e-6)
    assert consumer.latest()["levels"]["lzeq_db"] == pytest.approx(-17.0, abs=0.1)
    consumer = MeasurementConsumer(fs, calibration=MINUS_3)
    _levels(consumer, x, fs)
    consumer.set_calibration(None)  # the file taken away: a new Leq period, uncorrected
    _levels(consumer, x, fs)
    levels = consumer.latest()["levels"]
    assert levels["lzeq_db"] == pytest.approx(-20.0, abs=0.02)
    assert levels["period_s"] == pytest.approx(x.size / fs, abs=1e-3)
    assert "calibration_fir" not in consumer.latest()
