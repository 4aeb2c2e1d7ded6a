"""The measurement consumer and its detectors, fed generated signals in odd block sizes."""

import itertools
import json
import threading

import numpy as np
import pytest

from monitor.calibration import MicCalibration
from monitor.dsp.clipping import RAIL, ClipCounter
from monitor.dsp.detectors import DropoutDetector
from monitor.measurement import MAX_LAG_SECONDS, MeasurementConsumer

ODD = (1, 17, 480, 1023, 4097, 3, 333)


def _feed(consumer, x, fs, sizes=ODD):
    pos = 0
    for n in itertools.cycle(sizes):
        if pos >= x.size:
            break
        block = x[pos:pos + n].astype(np.float32)
        pos += block.size
        consumer.feed(block, fs, pos / fs)


def _blocks(x, sizes=ODD):
    pos = 0
    for n in itertools.cycle(sizes):
        if pos >= x.size:
            return
        yield x[pos:pos + n]
        pos += n


def _test_tone(fs, seconds=2.0):
    t = np.arange(int(fs * seconds)) / fs
    a = 10 ** (-6 / 20)
    return a * np.sin(2 * np.pi * 1000 * t) + 0.01 * a * np.sin(2 * np.pi * 2000 * t + 0.7)


@pytest.mark.parametrize("fs", (44100, 48000, 96000))
def test_measures_a_tone_fed_in_odd_blocks(fs):
    consumer = MeasurementConsumer(fs)
    _feed(consumer, _test_tone(fs), fs)
    assert consumer.poll()
    out = consumer.latest()
    json.dumps(out, allow_nan=False)  # finite numbers or None only
    assert out["thd_percent"] == pytest.approx(1.0, abs=0.02)
    assert out["level_dbfs"] == pytest.approx(-6.02, abs=0.02)
    assert out["fundamental_hz"] == pytest.approx(1000.0, abs=0.01)
    assert out["frames_averaged"] == 4 and out["n_fft"] == 8192
    assert out["clipping"]["events"] == 0 and out["dropouts"]["events"] == 0
    assert out["dropped_feeds"] == 0 and out["samples_missed"] == 0 and out["problem"] is None
    k = out["bands"]["nominal_hz"].index(1000.0)
    assert out["bands"]["level_dbfs"][k] == pytest.approx(-6.02, abs=0.05)
    assert out["levels"]["lzeq_db"] == pytest.approx(-6.02, abs=0.05)
    assert out["levels"]["laeq_db"] == pytest.approx(-6.02, abs=0.05)


def test_thread_named_measure_publishes_every_interval():
    fs = 48000
    consumer = MeasurementConsumer(fs, interval=0.25)
    consumer.start()
    try:
        assert any(t.name == "measure" for t in threading.enumerate())
        x = _test_tone(fs, 1.0)
        updates = 0
        for second in range(3):
            _feed(consumer, x, fs)
            assert consumer.wait_for_update(updates, timeout=10.0)
            updates = consumer.updates
    finally:
        consumer.stop()
    assert not any(t.name == "measure" for t in threading.enumerate())
    assert consumer.updates >= 3
    assert consumer.latest()["thd_percent"] == pytest.approx(1.0, abs=0.02)


def test_noise_without_tone_gives_none_not_nan():
    fs = 48000
    consumer = MeasurementConsumer(fs)
    _feed(consumer, 1e-4 * np.random.default_rng(1).standard_normal(fs), fs)
    consumer.poll()
    out = consumer.latest()
    json.dumps(out, allow_nan=False)
    assert out["fundamental_hz"] is None and out["thd_percent"] is None and out["hum_hz"] is None
    assert out["noise_dbfs"] == pytest.approx(20 * np.log10(1e-4) + 3.01 + 10 * np.log10(19980 / 24000), abs=0.3)


def _clip_reference(x, min_run=2):
    events = samples = 0
    run, label = 0, 0
    for v in list(x) + [0.0]:
        lab = 1 if v >= RAIL else (-1 if v <= -1.0 else 0)
        if lab and lab == label:
            run += 1
        else:
            if label and run >= min_run:
                events, samples = events + 1, samples + run
            run, label = (1, lab) if lab else (0, 0)
    return events, samples


def test_clip_detector_matches_a_sample_loop_in_any_blocking():
    rng = np.random.default_rng(2)
    x = np.clip(1.3 * np.sin(2 * np.pi * 0.003 * np.arange(20000)) * rng.uniform(0.5, 1.0, 20000), -1, RAIL)
    x[100] = x[5000] = RAIL  # lone full-scale samples: no clip
    for sizes in (ODD, (1,), (20000,), (2, 5)):
        det = ClipCounter()
        for block in _blocks(x, sizes):
            det.process(block)
        assert (det.events, det.samples) == _clip_reference(x)
    assert det.events > 10


def test_int16_positive_full_scale_counts_as_the_rail():
    det = ClipCounter()
    det.process(np.array([0.5, 32767 / 32768, 32767 / 32768, 0.1, -1.0, -1.0, -1.0, 0.0, 32766 / 32768, 32766 / 32768]))
    assert (det.events, det.samples) == (2, 5)


def test_dropouts_inside_signal_only():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.zeros(1000), 0.1 * rng.standard_normal(5000)])  # leading silence: no dropout
    x = np.where(x == 0, 0, x)
    for start, length in ((2000, 100), (3000, 100), (4000, 10), (4500, 257)):  # 10 < 32: no dropout
        x[start:start + length] = 0.0
    x = np.concatenate([x, np.zeros(500)])  # trailing silence: not (yet) a dropout
    for sizes in (ODD, (1,), (6500,), (50,)):
        det = DropoutDetector(32)
        for block in _blocks(x, sizes):
            det.process(block)
        assert (det.events, det.samples) == (3, 457)


def test_zeros_of_a_near_silent_16_bit_input_are_no_dropouts():
    quiet = np.round(0.4 * np.random.default_rng(4).standard_normal(48000)) / 32768  # ~1 LSB noise
    det = DropoutDetector(8)
    for block in _blocks(quiet):
        det.process(block)
    assert det.events == 0
    quiet[1000:1100] = 0.0
    quiet[999] = 0.25  # a gap in real signal
    det = DropoutDetector(8)
    for block in _blocks(quiet):
        det.process(block)
    assert det.events == 1


def test_consumer_counts_clipping_dropouts_and_dc():
    fs = 48000
    t = np.arange(fs) / fs
    x = np.clip(1.5 * np.sin(2 * np.pi * 100 * t), -1.0, 1.0) * 0.999 + 0.05
    x = np.clip(x, -1.0, 1.0)
    x[20000:20100] = 0.0
    consumer = MeasurementConsumer(fs)
    _feed(consumer, x.astype(np.float32), fs)
    consumer.poll()
    out = consumer.latest()
    assert out["clipping"]["events"] == 100  # the positive half of each of the 100 cycles
    assert out["dropouts"] == {"events": 1, "samples": 100}
    assert out["dc_warning"] is True and out["dc_warnings"] == 1


def test_refused_feeds_and_missed_samples_are_counted_and_said():
    fs = 48000
    consumer = MeasurementConsumer(fs)
    consumer.feed(np.zeros(100, dtype=np.float32), 44100, 0.0)
    assert consumer.dropped_feeds == 1 and "44100 Hz" in consumer.problem
    consumer = MeasurementConsumer(fs, interval=0.1)  # ring: 20480 + MAX_LAG_SECONDS of samples
    ring = 20480 + int(MAX_LAG_SECONDS * fs)
    x = _test_tone(fs, MAX_LAG_SECONDS + 2.0).astype(np.float32)
    consumer.feed(x, fs, float(x.size) / fs)  # one block larger than the ring
    consumer.poll()
    out = consumer.latest()
    assert out["samples_missed"] == x.size - ring
    assert "fell behind" in out["problem"]
    assert out["thd_percent"] == pytest.approx(1.0, abs=0.02)  # the newest audio is still measured


def test_spl_offset_and_calibration_apply():
    fs = 48000
    flat_plus_3 = MicCalibration(np.array([20.0, 20000.0]), np.array([3.0, 3.0]), source="mic.txt")
    consumer = MeasurementConsumer(fs)
    before = consumer.latest()
    assert before["feeds"] == 0 and before["levels"]["laeq_db"] is None and "thd_percent" not in before
    consumer.set_calibration(flat_plus_3, 114.0)  # as the Calibrate action would, live
    _feed(consumer, _test_tone(fs), fs)
    consumer.poll()
    out = consumer.latest()
    assert out["level_dbfs"] == pytest.approx(-9.02, abs=0.02)  # the mic reads 3 dB high
    assert out["level_db_spl"] == pytest.approx(114.0 - 9.02, abs=0.02)
    assert out["thd_percent"] == pytest.approx(1.0, abs=0.02)
    assert out["calibration"] == "mic.txt"
    # The time-domain levels are mic-corrected too (the FIR of monitor.dsp.correction_filter).
    assert out["levels"]["lzeq_db_spl"] == pytest.approx(114.0 - 9.02, abs=0.05)


def test_digital_silence_measures_nothing_and_says_so_in_none():
    fs = 48000
    consumer = MeasurementConsumer(fs)
    _feed(consumer, np.zeros(fs), fs)
    consumer.poll()
    out = consumer.latest()
    json.dumps(out, allow_nan=False)
    assert out["level_dbfs"] is None and out["noise_dbfs"] is None and out["dc_dbfs"] is None
    assert out["levels"]["laeq_db"] is None and out["dropouts"]["events"] == 0
    assert set(out["bands"]["level_dbfs"]) == {None}


def test_16_bit_wav_through_soundfile_reads_its_sinad_and_its_clipping(tmp_path):
    import soundfile as sf

    fs = 48000
    t = np.arange(2 * fs) / fs
    path = tmp_path / "tone.wav"
    sf.write(path, np.sin(2 * np.pi * 997 * t) * 32767 / 32768, fs, subtype="PCM_16")
    data, rate = sf.read(path, dtype="float32")
    consumer = MeasurementConsumer(rate, band=None)
    _feed(consumer, data, rate)
    consumer.poll()
    out = consumer.latest()
    assert out["sinad_db"] == pytest.approx(6.02 * 16 + 1.76, abs=0.5)
    assert out["clipping"]["events"] == 0  # single samples at the rail are peaks, not clips
    sf.write(path, np.clip(1.5 * np.sin(2 * np.pi * 100 * t), -1, 1), fs, subtype="PCM_16")
    data, _ = sf.read(path, dtype="float32")
    assert data.max() == np.float32(32767 / 32768)  # int16's positive rail
    consumer = MeasurementConsumer(rate)
    _feed(consumer, data, rate)
    consumer.poll()
    assert consumer.latest()["clipping"]["events"] == 2 * 200  # both rails, every cycle, 2 s
