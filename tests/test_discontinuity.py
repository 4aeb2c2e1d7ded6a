"""The discontinuity detector against signals with a known break (and none), the stream times
of every detector's events, and their log."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from monitor.detector_events import DetectorEvents
from monitor.dsp.detectors import DropoutDetector
from monitor.dsp.discontinuity import DiscontinuityDetector, levinson
from monitor.export import LOG_COLUMNS, measurement_row
from monitor.measurement import MeasurementConsumer

ODD = (1, 17, 480, 1023, 4097, 3, 333)


def _events(x, fs, sizes=(2400,), **kw):
    det = DiscontinuityDetector(fs, **kw)
    out, pos = [], 0
    for n in itertools.cycle(sizes):
        if pos >= x.size:
            break
        det.process(x[pos:pos + n])
        out += det.last_events.tolist()
        pos += n
    assert det.events == len(out) and det.samples == x.size
    return out


def _sine(fs, f, seconds, amplitude=0.5, phase=0.3):
    t = np.arange(int(round(seconds * fs))) / fs
    return amplitude * np.sin(2 * np.pi * f * t + phase)


def test_levinson_solves_the_normal_equations():
    rng = np.random.default_rng(0)
    x = np.convolve(rng.standard_normal(8000), [1.0, 0.6, -0.3, 0.2], "same")
    p = 8
    r = np.array([x[:x.size - i] @ x[i:] for i in range(p + 1)])
    toeplitz = np.array([[r[abs(i - j)] for j in range(p)] for i in range(p)])
    assert np.allclose(levinson(r, p), np.linalg.solve(toeplitz, r[1:]), rtol=1e-10, atol=1e-12)
    assert not levinson(np.zeros(p + 1), p).any()  # silence: no predictor


CASES = [(fs, f, length) for fs in (44100, 48000, 96000)
         for f in (50.0, 997.0, 3001.0, 0.93 * fs / 8)
         for length in (64, 200, 512)]


@pytest.mark.parametrize("fs,f,length", CASES)
def test_a_removed_or_repeated_buffer_is_one_event_at_its_sample(fs, f, length):
    # Every case breaks the waveform by at least 0.002 (the closest to whole periods: 3001 Hz,
    # 64 samples at 96 kHz, a phase jump of 0.0042 rad), above the floor of 2^-10.
    x = _sine(fs, f, 1.5)
    s = int(0.9 * fs) + 7
    removed = np.concatenate((x[:s], x[s + length:]))
    repeated = np.concatenate((x[:s + length], x[s:]))
    for y, at in ((removed, s), (repeated, s + length)):
        events = _events(y, fs)
        assert len(events) == 1, events
        assert abs(events[0] - at) <= 3  # the first flagged sample: within 3 samples (0.07 ms)


def test_a_sine_a_sweep_and_noise_never_fire():
    """Gaussian noise: |e| > 12 sigma has probability 2 Q(12) = 3.6e-33 per sample; a sine and
    a slow sweep are predicted to rounding; so none of these 110 s may hold an event."""
    fs = 48000
    rng = np.random.default_rng(7)
    for f in (20.0, 440.0, 1000.0, 5000.0, 15000.0):
        assert _events(_sine(fs, f, 3.0, amplitude=0.9), fs) == [], f
    seconds = 20.0
    t = np.arange(int(seconds * fs)) / fs
    k = math.log(1000.0)
    sweep = 0.5 * np.sin(2 * np.pi * 20.0 * seconds / k * (np.exp(t / seconds * k) - 1.0))
    assert _events(sweep, fs) == []  # 20 Hz - 20 kHz
    white = 0.3 * rng.standard_normal(t.size)
    assert _events(white, fs) == []
    spectrum = np.fft.rfft(rng.standard_normal(t.size))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))  # 1/f power: pink
    pink = np.fft.irfft(spectrum, t.size)
    assert _events(0.3 * pink / pink.std(), fs) == []
    assert _events(np.zeros(t.size), fs) == []  # digital silence


def test_a_quiet_16_bit_tone_never_fires():
    """Quantisation noise (a few LSB of error) stays under the floor of 32 LSB."""
    fs = 44100
    for amplitude in (1e-4, 1e-3, 1e-2):  # 3, 33 and 328 LSB
        x = np.round(_sine(fs, 440.0, 10.0, amplitude) * 32768) / 32768
        assert _events(x, fs) == [], amplitude


def test_what_it_cannot_see():
    fs = 48000
    rng = np.random.default_rng(2)
    noise = 0.3 * rng.standard_normal(3 * fs)
    s = 2 * fs
    assert _events(np.concatenate((noise[:s], noise[s + 256:])), fs) == []  # a splice in white noise
    # Steps into and out of exact zeros are the dropout detector's, not this one's.
    x = _sine(fs, 997.0, 2.0)
    x[fs:fs + 100] = 0.0
    assert _events(x, fs) == []
    dropouts = DropoutDetector()
    dropouts.process(x)
    assert dropouts.events == 1 and dropouts.last_events.tolist() == [fs]
    # Before the predictor and its scale are filled (fit + window + one hop) nothing is decided.
    y = _sine(fs, 997.0, 1.0)
    early = 1000
    assert _events(np.concatenate((y[:early], y[early + 100:])), fs) == []


@hsettings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=40), st.integers(0, 2 ** 31))
def test_events_do_not_depend_on_the_blocking(sizes, seed):
    fs = 8000
    rng = np.random.default_rng(seed)
    x = _sine(fs, 440.0, 1.5) + 0.001 * rng.standard_normal(int(1.5 * fs))
    for s in (5000, 9000):
        # Half a period more than whole periods: a phase jump of 180 degrees (a cut of whole
        # periods leaves no break to find).
        cut = round((int(rng.integers(1, 10)) + 0.5) * fs / 440.0)
        x = np.concatenate((x[:s], x[s + cut:]))
    whole = _events(x, fs, sizes=(x.size,))
    assert len(whole) == 2
    assert _events(x, fs, sizes=sizes) == whole


def test_a_restart_forgets_the_stretch_before():
    """Samples skipped (the measurement fell behind) must not read as a splice."""
    fs = 48000
    x = _sine(fs, 997.0, 2.0)
    det = DiscontinuityDetector(fs)
    det.process(x[:fs])
    det.restart()
    det.process(x[fs + 300:])  # 300 samples skipped
    assert det.events == 0 and det.samples == x.size - 300
    y = x[fs + 300:].copy()
    y = np.concatenate((y[:fs // 2], y[fs // 2 + 200:]))  # a real break after the restart
    det = DiscontinuityDetector(fs)
    det.process(x[:fs])
    det.restart()
    det.process(y)
    assert det.last_events.tolist() == [pytest.approx(fs + fs // 2, abs=3)]


# -- the measurement consumer: stream times of every detector's events --------------------------

def _feed(consumer, x, fs, sizes=ODD, t0=0.0):
    pos = 0
    for n in itertools.cycle(sizes):
        if pos >= x.size:
            break
        block = x[pos:pos + n].astype(np.float32)
        pos += block.size
        consumer.feed(block, fs, t0 + pos / fs)
        if pos % 7 == 0:
            consumer.poll()


def test_consumer_stamps_each_detectors_events_with_their_stream_time():
    fs = 48000
    x = _sine(fs, 997.0, 3.0, amplitude=0.3)
    x[int(0.5 * fs):int(0.5 * fs) + 40] = 1.0  # clipping from 0.5 s
    x[int(1.0 * fs):int(1.0 * fs) + 100] = 0.0  # a dropout from 1.0 s
    s = int(2.0 * fs)
    x = np.concatenate((x[:s], x[s + 300:]))  # a lost buffer at 2.0 s
    x[int(2.5 * fs):] += 0.05  # a DC offset from 2.5 s (-26 dBFS)
    consumer = MeasurementConsumer(fs)
    _feed(consumer, x, fs, t0=10.0)  # a stream that began at 10 s of the worker's time
    consumer.poll()
    out = consumer.latest()
    assert out["clipping"]["events"] == 1 and out["dropouts"]["events"] == 1
    # The jumps to and from the rail and the DC step are discontinuities too.
    assert out["discontinuities"]["events"] == 4
    events, seq = consumer.events.after(0)
    assert seq == consumer.events.total == len(events)
    times = {kind: [t for t, k in events if k == kind] for kind in ("clipping", "dropout", "discontinuity", "dc")}
    assert times["clipping"] == [pytest.approx(10.5, abs=1 / fs)]
    assert times["dropout"] == [pytest.approx(11.0, abs=1 / fs)]
    assert times["discontinuity"] == [pytest.approx(t, abs=4 / fs) for t in (10.5, 10.5 + 40 / fs, 12.0, 12.5)]
    assert out["discontinuities"]["last_time_s"] == pytest.approx(12.5, abs=4 / fs)
    # DC: at the first measurement whose span holds enough of the offset.
    assert len(times["dc"]) == 1 and 12.5 < times["dc"][0] <= 13.0
    assert out["detector_events"]["dropped"] == 0 and out["detector_events"]["kept"] == 7
    assert consumer.events.after(seq) == ([], seq)  # nothing new
    assert [k for _, k in consumer.events.newer_than(11.5)] == ["discontinuity", "discontinuity", "dc"]


def test_a_new_source_restarts_the_stream_times():
    """The worker's stream time starts again at 0 with a new source: the events follow it."""
    fs = 8000
    consumer = MeasurementConsumer(fs, n_fft=1024, averages=1)
    x = _sine(fs, 300.0, 1.0, amplitude=0.3)
    x[4000:4010] = 1.0
    _feed(consumer, x, fs, t0=50.0)
    _feed(consumer, x, fs, t0=0.0)
    consumer.poll()
    events, _ = consumer.events.after(0)
    assert [t for t, k in events if k == "clipping"] == [pytest.approx(50.5), pytest.approx(0.5)]


def test_the_log_keeps_the_newest_and_counts_what_it_drops():
    log = DetectorEvents(kept=10)
    log.add("clipping", [0.1 * i for i in range(25)])
    assert log.total == 25 and log.dropped == 15
    events, seq = log.after(0)
    assert len(events) == 10 and events[0][0] == pytest.approx(1.5) and seq == 25
    log.add("dc", [9.0])
    assert log.after(seq) == ([(9.0, "dc")], 26)
    assert log.summary()["last_time_s"] == {"clipping": 2.4, "dropout": None, "discontinuity": None, "dc": 9.0}
    with pytest.raises(ValueError):
        log.add("hum", [1.0])


def test_the_log_export_has_the_discontinuities():
    assert "discontinuity_events" in LOG_COLUMNS
    row = measurement_row({"discontinuities": {"events": 3, "last_time_s": 1.0}})
    assert row["discontinuity_events"] == 3


def test_headless_measure_and_log_report_the_discontinuities(tmp_path):
    """Through the command line: a 16-bit file with one lost buffer, analysed offline."""
    import csv
    import json
    import subprocess

    import soundfile as sf
    from conftest import main_cmd

    fs = 44100
    x = _sine(fs, 440.0, 4.0, amplitude=0.25)
    s = int(2.2 * fs)
    x = np.concatenate((x[:s], x[s + 128:]))
    path, log = tmp_path / "lost.wav", tmp_path / "log.csv"
    sf.write(path, x, fs, subtype="PCM_16")
    proc = subprocess.run(main_cmd("--headless", "--input", str(path), "--no-realtime", "--measure",
                                   "--no-classifier", "--interval", "1", "--export-log", str(log)),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    m = [json.loads(line) for line in proc.stdout.splitlines()][-1]["measure"]
    assert m["discontinuities"]["events"] == 1
    assert m["discontinuities"]["last_time_s"] == pytest.approx(s / fs, abs=4 / fs)
    assert m["detector_events"]["last_time_s"]["discontinuity"] == pytest.approx(s / fs, abs=4 / fs)
    assert m["clipping"]["events"] == 0 and m["dropouts"]["events"] == 0
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["discontinuity_events"] == "1"


@hsettings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=30), st.integers(0, 2 ** 31))
def test_clip_and_dropout_positions_do_not_depend_on_the_blocking(sizes, seed):
    from monitor.dsp.clipping import POSITIVE_RAIL, ClipCounter

    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(np.arange(6000) * 0.05) + 0.01 * rng.standard_normal(6000)
    starts = {}
    for kind, value, length in (("clip", POSITIVE_RAIL, 5), ("clip", -1.0, 40), ("zero", 0.0, 50),
                                ("zero", 0.0, 33), ("clip", POSITIVE_RAIL, 1)):
        at = int(rng.integers(100, 5800 - length))
        while any(abs(at - a) < 150 for a in starts):
            at = int(rng.integers(100, 5800 - length))
        x[at:at + length] = value
        starts[at] = (kind, length)

    def positions(cut):
        clips, drops = ClipCounter(), DropoutDetector()
        found = {"clip": [], "zero": []}
        pos = 0
        for n in itertools.cycle(cut):
            if pos >= x.size:
                break
            block = x[pos:pos + n].astype(np.float32)
            clips.process(block)
            drops.process(block)
            found["clip"] += clips.last_events.tolist()
            found["zero"] += drops.last_events.tolist()
            pos += n
        return found

    expected = {"clip": sorted(a for a, (k, n) in starts.items() if k == "clip" and n >= 2),
                "zero": sorted(a for a, (k, n) in starts.items() if k == "zero")}
    assert positions((x.size,)) == expected
    assert positions(sizes) == expected


def test_a_cut_of_whole_periods_is_no_break():
    """480 Hz at 48 kHz: 100 samples a period; cutting 200 leaves the waveform seamless."""
    fs = 48000
    x = _sine(fs, 480.0, 1.5)
    s = int(0.9 * fs) + 7
    assert _events(np.concatenate((x[:s], x[s + 200:])), fs) == []
    events = _events(np.concatenate((x[:s], x[s + 250:])), fs)  # half a period more: one
    assert len(events) == 1 and abs(events[0] - s) <= 3


def test_the_dc_warning_runs_without_the_figures():
    """With the figures off (no panel shows them) the DC warning is still checked at every
    interval, with the same offset the figures would give, and its onset time-stamped."""
    from monitor.dsp.power_spectrum import dc_offset, power_spectrum

    fs = 48000
    x = _sine(fs, 50.0, 3.0, amplitude=0.9)  # 50 Hz: a plain mean would read -36 dBFS of DC
    x[int(2.0 * fs):] += 0.05
    span = x[:40000]
    assert dc_offset(span, 8192, 4) == pytest.approx(power_spectrum(span, fs, 8192, 4).dc, abs=1e-15)
    for analysing in (True, False):
        consumer = MeasurementConsumer(fs)
        consumer.analysing = analysing
        _feed(consumer, x, fs, sizes=(4800,))
        while consumer.poll():
            pass
        out = consumer.latest()
        assert out["dc_warnings"] == 1, analysing
        (t, kind), = [e for e in consumer.events.after(0)[0] if e[1] == "dc"]
        assert 2.0 < t <= 3.0, (analysing, t)  # at the first measurement that holds it
        assert ("thd_percent" in out) == analysing  # the figures only while analysing
