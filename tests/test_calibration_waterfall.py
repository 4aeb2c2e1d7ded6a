"""The microphone calibration in the waterfall: the real worker corrects every power spectrum
(power dB, mel dB, peak frequency) by the file's curve, follows setting changes through the
pipeline and the session, and hands its consumers (the classifier) the audio uncorrected."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.features import AnalysisParams, FeatureExtractor
from monitor.errors import ParameterError
from monitor.pipeline import Pipeline
from monitor.ringbuffer import RingBuffer
from monitor.session import Session
from monitor.settings import Settings
from monitor.worker import AnalysisWorker

FS = 48000.0
# The mic reads 6 dB low above 2.1 kHz, right below 1.9 kHz: +6 dB of correction up there.
STEP = "* test microphone\n20 0\n1900 0\n2100 -6\n20000 -6\n"


def expected_correction_db(f_hz: np.ndarray) -> np.ndarray:
    """The file's correction written out: 0 dB to 1.9 kHz, +6 dB from 2.1 kHz, linear in
    log10(f) between (and held beyond the ends)."""
    f = np.maximum(f_hz, 20.0)
    between = 6.0 * (np.log10(f) - np.log10(1900.0)) / (np.log10(2100.0) - np.log10(1900.0))
    return np.where(f <= 1900.0, 0.0, np.where(f >= 2100.0, 6.0, between))


@pytest.fixture
def step_file(tmp_path):
    path = tmp_path / "step.txt"
    path.write_text(STEP)
    return str(path)


def _run(settings: Settings, x: np.ndarray, blocks: int = 1000):
    worker = AnalysisWorker(settings, RingBuffer(1 << 16, 1), FS)
    batches = [worker.process(x[i:i + blocks, None]) for i in range(0, x.shape[0], blocks)]
    return worker, [b for b in batches if b is not None]


def _cat(batches, name):
    return np.concatenate([getattr(b, name) for b in batches])


def test_white_noise_reads_the_correction_in_every_bin(step_file):
    x = (0.1 * np.random.default_rng(7).standard_normal(int(FS))).astype(np.float32)
    base = Settings(classifier=False, n_fft=2048, n_mels=64)
    plain_worker, plain = _run(base, x)
    cal_worker, cal = _run(base.replace(calibration=step_file), x)
    assert plain[0].params.calibration is None and cal[0].params.calibration == "step.txt"
    assert cal_worker.calibration.source == "step.txt" and plain_worker.calibration is None
    params = cal[0].params
    diff = _cat(cal, "power_db") - _cat(plain, "power_db")
    # The same frames, each bin's power times a float32 gain: equal to the analytic correction to
    # float32 rounding (three roundings of 6e-8 relative: 1e-6 dB; allowed 1e-4 dB).
    np.testing.assert_allclose(diff, np.broadcast_to(expected_correction_db(params.fft_freqs), diff.shape),
                               rtol=0, atol=1e-4)
    # Mel bands wholly below 1.9 kHz unchanged, wholly above 2.1 kHz +6 dB (float32 sums: 1e-4 dB).
    weights = params.mel_weights()
    f = params.fft_freqs
    top = np.array([f[w > 0].max() for w in weights])
    bottom = np.array([f[w > 0].min() for w in weights])
    mel_diff = _cat(cal, "mel_db") - _cat(plain, "mel_db")
    assert np.abs(mel_diff[:, top < 1900.0]).max() < 1e-4
    assert np.abs(mel_diff[:, bottom > 2100.0] - 6.0).max() < 1e-4
    assert (top < 1900.0).sum() > 10 and (bottom > 2100.0).sum() > 10
    # The frame levels (the PK/RMS meters) stay digital: dBFS of the samples as they are.
    np.testing.assert_array_equal(_cat(cal, "rms_dbfs"), _cat(plain, "rms_dbfs"))


def test_two_sines_the_corrected_one_becomes_the_peak(step_file):
    t = np.arange(int(FS)) / FS
    x = (0.5 * np.sin(2 * np.pi * 1000 * t) + 0.35 * np.sin(2 * np.pi * 5000 * t)).astype(np.float32)
    base = Settings(classifier=False, n_fft=4096)
    _, plain = _run(base, x)
    _, cal = _run(base.replace(calibration=step_file), x)
    assert np.all(np.abs(_cat(plain, "peak_hz") - 1000.0) < 1.0)  # -6 dBFS beats -9.1 dBFS
    assert np.all(np.abs(_cat(cal, "peak_hz") - 5000.0) < 1.0)  # ... until it reads -3.1
    p, c = _cat(plain, "power_db"), _cat(cal, "power_db")
    k1, k5 = round(1000 / cal[0].params.hz_per_bin), round(5000 / cal[0].params.hz_per_bin)
    assert np.abs(c[:, k1] - p[:, k1]).max() < 1e-4
    assert np.abs(c[:, k5] - p[:, k5] - 6.0).max() < 1e-4


def test_streaming_equals_offline_with_a_calibration(step_file):
    x = (0.1 * np.random.default_rng(3).standard_normal(30000)).astype(np.float32)
    params = AnalysisParams.from_settings(Settings(), FS)
    gain = np.full(params.n_fft // 2 + 1, 2.0, np.float32)

    def stream(cuts):
        ex = FeatureExtractor(params, gain)
        return np.concatenate([ex.process(x[a:b]).power_db for a, b in zip(cuts[:-1], cuts[1:])])

    whole = stream([0, x.size])
    np.testing.assert_array_equal(stream([0, 1, 999, 5000, 5001, 17777, x.size]), whole)
    np.testing.assert_allclose(whole, FeatureExtractor(params).process(x).power_db + 10 * np.log10(2.0),
                               atol=1e-4)


class _Heard:
    follows_channel = False

    def __init__(self):
        self.blocks = []

    def feed(self, mono, samplerate, stream_time):
        self.blocks.append(np.array(mono))


def test_the_consumers_hear_the_audio_uncorrected(step_file):
    x = (0.1 * np.random.default_rng(5).standard_normal(20000)).astype(np.float32)
    heard = _Heard()
    worker = AnalysisWorker(Settings(classifier=False, calibration=step_file), RingBuffer(1 << 16, 1),
                            FS, consumers=[heard])
    worker.process(x[:, None])
    np.testing.assert_array_equal(np.concatenate(heard.blocks), x)


def test_the_pipeline_follows_a_new_file_none_and_a_new_n_fft(step_file, tmp_path):
    other = tmp_path / "flat3.txt"
    other.write_text("20 -3\n20000 -3\n")
    p = Pipeline(Settings(generator="white@-20", classifier=False, calibration=step_file))
    p.start()
    try:
        def next_batch(pred):
            import time
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                for b in p.worker.drain():
                    if pred(b):
                        return b
                p.worker._stop.wait(0.01)  # polling the worker's output, with a deadline
            raise AssertionError("no batch of the new settings in time")

        assert next_batch(lambda b: b.params.calibration == "step.txt").power_db.shape[1] == 1025
        p.reconfigure(p.settings.replace(calibration=str(other)))
        assert next_batch(lambda b: b.params.calibration == "flat3.txt")
        assert p.worker.calibration.source == "flat3.txt"
        p.reconfigure(p.settings.replace(n_fft=4096, hop=1024))
        b = next_batch(lambda b: b.params.n_fft == 4096)
        assert b.params.calibration == "flat3.txt" and b.power_db.shape[1] == 2049
        assert p.worker._extractor.power_gain.shape == (2049,)
        p.reconfigure(p.settings.replace(calibration=None))
        assert next_batch(lambda b: b.params.calibration is None and b.params.n_fft == 4096)
        assert p.worker._extractor.power_gain is None
        bad = tmp_path / "bad.txt"
        bad.write_text("not a calibration file\n")
        with pytest.raises(ParameterError, match="bad.txt"):
            p.reconfigure(p.settings.replace(calibration=str(bad)))
        assert p.settings.calibration is None and p.worker.settings.calibration is None
    finally:
        p.stop()


def test_the_session_reads_the_file_for_the_waterfall_even_without_measurements(step_file, tmp_path):
    session = Session({"generator": "white@-20", "classifier": False})
    session.start()
    try:
        assert session.change({"calibration": step_file})
        assert session.pipeline.worker.settings.calibration == step_file
        bad = tmp_path / "bad.txt"
        bad.write_text("1000 0\n900 0\n")
        assert not session.change({"calibration": str(bad)})
        assert "bad.txt, line 2" in session.problems.get("change").text
        assert session.settings.calibration == step_file
    finally:
        session.close()
    # A saved file that no longer reads is dropped and said; the command line's is refused.
    bad = tmp_path / "gone.txt"
    saved = Session({"generator": "white@-20", "classifier": False}, {"calibration": str(bad)})
    saved.start()
    try:
        assert saved.settings.calibration is None and saved.pipeline.worker.calibration is None
        assert "saved calibration dropped" in saved.problems.get("saved:calibration").text
    finally:
        saved.close()
    given = Session({"generator": "white@-20", "classifier": False, "calibration": str(bad)})
    with pytest.raises(ParameterError, match="gone.txt"):
        given.start()
    given.close()


def test_headless_exports_and_levels_are_mic_corrected(step_file, tmp_path):
    import json
    import subprocess

    from conftest import main_cmd

    gram = tmp_path / "g.npz"
    proc = subprocess.run(main_cmd("--headless", "--generator", "sine:5000@-20", "--measure",
                                   "--no-classifier", "--duration", "2.6", "--leq-period", "1",
                                   "--history", "1", "--calibration", step_file,
                                   "--export-spectrogram", str(gram)),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout.splitlines()[-1])["measure"]
    assert m["level_dbfs"] == pytest.approx(-14.0, abs=0.05)  # +6 dB above 2.1 kHz
    last = m["levels"]["last_period"]  # the steady second period, corrected in the time domain
    assert last["lzeq_db"] == pytest.approx(-14.0, abs=0.1)
    from monitor.dsp.weighting import weighting_db

    # C(5 kHz) = -1.2 dB (IEC 61672-1; the IIR is within 0.1 dB of it there); peak = RMS + 3.01.
    assert last["lceq_db"] == pytest.approx(-14.0 + float(weighting_db("C", 5000.0)), abs=0.12)
    assert last["lcpeak_db"] == pytest.approx(last["lceq_db"] + 3.01, abs=0.05)
    with np.load(gram) as npz:
        assert str(npz["calibration"]) == "step.txt"
        power, f = npz["power_db"], npz["frequencies_hz"]
    k = int(np.argmin(np.abs(f - 5000.0)))
    # The tone's line: a sine of amplitude a has one-sided lobe power a² N Σw² / 4 (Parseval), so
    # its level re a full-scale sine is 10 log10(4 · lobe / (N Σw²)).
    from monitor.dsp.windows import get_window

    window = get_window("hann", 2048)
    lobe = np.sum(10 ** (power[-1, k - 3:k + 4].astype(np.float64) / 10))
    line = 10 * np.log10(4 * lobe / (2048 * np.sum(window ** 2)))
    assert line == pytest.approx(-14.0, abs=0.1)
