"""The command line: every error path is one line and exit code 2; headless output; features."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def assert_usage_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert lines, "no message"
    errors = [line for line in lines if "error" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], proc.stderr


def json_lines(proc: subprocess.CompletedProcess) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def tone_file(tmp_path):
    sr = 22050
    t = np.arange(int(sr * 3.0)) / sr
    y = (0.5 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    sf.write(path, y, sr)
    return str(path)


@pytest.mark.parametrize("args,needles", [
    (["--n-fft", "1000"], ["power of two"]),
    (["--n-fft", "128"], ["power of two"]),
    (["--n-fft", "32768"], ["power of two"]),
    (["--hop", "0"], ["hop"]),
    (["--n-fft", "512", "--hop", "513"], ["hop"]),
    (["--generator", "sine:1000", "--fmax", "30000"], ["Nyquist"]),
    (["--fmin", "5000", "--fmax", "1000"], ["fmin"]),
    (["--generator", "sine:1000", "--samplerate", "16000", "--n-fft", "256", "--n-mels", "200"],
     ["empty"]),
    (["--generator", "sine:abc"], ["generator"]),
    (["--generator", "wobble"], ["generator"]),
    (["--input", "/nonexistent/file.wav"], ["no such file"]),
    (["--db-range", "0:-100"], ["dB range"]),
    (["--db-range", "x"], ["FLOOR:CEIL"]),
    (["--history", "0"], ["history"]),
    (["--window", "kaiser"], ["window"]),
    (["--input", "a.wav", "--generator", "sine:100"], ["exclude"]),
    (["--no-realtime", "--generator", "sine:100"], ["--no-realtime"]),
    (["--screenshot", "x.png"], ["--duration"]),
    (["--loop", "--generator", "sine:100"], ["--loop"]),
    (["--duration", "-1"], ["--duration"]),
    (["--interval", "0"], ["--interval"]),
    (["--channel", "0"], ["channel"]),
    (["--samplerate", "10"], ["sample rate"]),
    (["--bogus"], ["unrecognized"]),
])
def test_bad_arguments_exit_2_with_one_line(args, needles):
    assert_usage_error(run("--headless", "--duration", "1", "--no-classifier", *args), *needles)


def test_unreadable_files(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    assert_usage_error(run("--headless", "--input", str(corrupt), "--no-classifier"), "cannot read")
    text = tmp_path / "notes.flac"
    text.write_text("not audio at all\n")
    assert_usage_error(run("--headless", "--input", str(text), "--no-classifier"), "cannot read")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    assert_usage_error(run("--headless", "--input", str(empty), "--no-classifier"), "no audio")
    assert_usage_error(run("--headless", "--input", str(tmp_path), "--no-classifier"), "cannot read")


def test_unknown_device_exits_2():
    proc = run("--headless", "--device", "no-such-device-xyz", "--duration", "1", "--no-classifier")
    assert_usage_error(proc)
    assert "no-such-device-xyz" in proc.stderr or "PortAudio" in proc.stderr


def test_help_documents_every_option():
    proc = run("--help")
    assert proc.returncode == 0
    for opt in ("--list-devices", "--device", "--samplerate", "--channels", "--channel", "--blocksize",
                "--latency", "--input", "--loop", "--generator", "--n-fft", "--hop", "--window",
                "--n-mels", "--fmin", "--fmax", "--scale", "--db-range", "--colormap", "--history",
                "--normalize", "--headless", "--interval", "--duration", "--no-realtime",
                "--save-features", "--screenshot", "--record", "--reset-settings", "--no-classifier",
                "--model", "--labels", "--events-csv"):
        assert opt in proc.stdout, opt


def test_headless_generator_json_lines():
    lines = json_lines(run("--headless", "--generator", "sine:1000@-6", "--duration", "1.6",
                           "--interval", "0.5", "--no-classifier"))
    assert len(lines) >= 3
    for line in lines:
        assert {"t", "rms_dbfs", "peak_dbfs", "peak_hz", "dropped_frames"} <= line.keys()
    steady = [line for line in lines if line["frames"]]
    assert steady
    for line in steady:
        assert abs(line["peak_hz"] - 1000) < 2
        assert abs(line["peak_dbfs"] + 6) < 0.1
        assert abs(line["rms_dbfs"] + 9.03) < 0.1
        assert line["dropped_frames"] == 0


def test_no_realtime_is_stream_time_and_complete(tone_file):
    lines = json_lines(run("--headless", "--input", tone_file, "--no-realtime", "--interval", "1",
                           "--no-classifier"))
    assert [line["t"] for line in lines] == [1.0, 2.0, 3.0]
    assert all(abs(line["peak_hz"] - 1500) < 2 for line in lines)
    n_frames = (int(22050 * 3.0) - 2048) // 512 + 1
    assert sum(line["frames"] for line in lines) == n_frames


def test_save_features_content(tone_file, tmp_path):
    out = tmp_path / "features.npz"
    proc = run("--headless", "--input", tone_file, "--no-realtime", "--no-classifier", "--n-fft", "1024",
               "--hop", "256", "--n-mels", "64", "--fmax", "8000", "--save-features", str(out))
    assert proc.returncode == 0, proc.stderr
    data = np.load(out)
    n = (int(22050 * 3.0) - 1024) // 256 + 1
    assert data["mel_db"].shape == (n, 64) and data["mel_db"].dtype == np.float32
    assert data["power_db"].shape == (n, 513)
    np.testing.assert_allclose(data["frame_times"], np.arange(n) * 256 / 22050)
    assert data["mel_freqs"].shape == (64,) and data["mel_freqs"].max() < 8000
    np.testing.assert_allclose(data["fft_freqs"], np.fft.rfftfreq(1024, 1 / 22050))
    assert float(data["sample_rate"]) == 22050 and int(data["n_fft"]) == 1024 and int(data["hop"]) == 256
    peak_bin = np.argmax(data["power_db"].mean(axis=0))
    assert abs(data["fft_freqs"][peak_bin] - 1500) <= 22050 / 1024
    peak_band = np.argmax(data["mel_db"].mean(axis=0))
    assert abs(data["mel_freqs"][peak_band] - 1500) < 150


def test_file_shorter_than_one_frame_still_works(tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.full(100, 0.1, np.float32), 16000)
    proc = run("--headless", "--input", str(short), "--no-realtime", "--no-classifier")
    assert proc.returncode == 0, proc.stderr
    assert "shorter than one frame" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_nonfinite_samples_are_counted_not_shown(tmp_path):
    sr = 16000
    y = (0.1 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    y[1000:1010] = np.nan
    y[5000] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    out = tmp_path / "f.npz"
    proc = run("--headless", "--input", str(path), "--no-realtime", "--no-classifier", "--interval", "5",
               "--save-features", str(out))
    lines = json_lines(proc)
    assert lines[-1]["nonfinite"] == 11
    data = np.load(out)
    assert np.all(np.isfinite(data["power_db"])) and np.all(np.isfinite(data["mel_db"]))


def test_record_while_monitoring_generator(tmp_path):
    out = tmp_path / "rec.wav"
    proc = run("--headless", "--generator", "sine:1000@-6", "--duration", "1.0", "--no-classifier",
               "--record", str(out))
    assert proc.returncode == 0, proc.stderr
    y, sr = sf.read(out, dtype="float32")
    assert sr == 48000 and y.size > 0.5 * sr
    assert abs(20 * np.log10(np.max(np.abs(y))) + 6) < 0.1
    # Never overwrite a recording.
    assert_usage_error(run("--headless", "--generator", "sine:1000", "--duration", "1", "--no-classifier",
                           "--record", str(out)), "overwrite")
    assert sf.info(out).frames == y.shape[0]


def test_record_formats_that_a_crash_would_spoil_are_one_line(tmp_path):
    for name, words in (("rec.ogg", "use .wav"), ("rec.flac", "unreadable")):
        assert_usage_error(run("--headless", "--generator", "sine:1000", "--duration", "0.5",
                               "--no-classifier", "--record", str(tmp_path / name)), words)
        assert not (tmp_path / name).exists()


def test_negative_db_range_without_equals_sign():
    lines = json_lines(run("--headless", "--generator", "sine:1000", "--db-range", "-80:-10",
                           "--duration", "0.6", "--no-classifier"))
    assert lines


def test_small_n_fft_lowers_default_mels_and_says_so():
    proc = run("--headless", "--generator", "sine:1000", "--n-fft", "256", "--duration", "0.6",
               "--no-classifier")
    assert json_lines(proc)
    assert "n_mels lowered from 128" in proc.stderr
    # An n_mels the user chose is never changed behind their back.
    assert_usage_error(run("--headless", "--generator", "sine:1000", "--n-fft", "256", "--n-mels", "128",
                           "--duration", "0.6", "--no-classifier"), "empty")


def test_output_paths_are_checked_before_running(tmp_path):
    for opt in ("--save-features", "--events-csv", "--record"):
        assert_usage_error(run("--headless", "--generator", "sine:1000", "--duration", "30", "--no-classifier",
                               opt, str(tmp_path / "missing-folder" / "out")), "cannot write")


def test_long_interval_loses_no_frames(tmp_path):
    """Batches are drained continuously, not only when a line is printed."""
    out = tmp_path / "f.npz"
    proc = run("--headless", "--generator", "white", "--duration", "3", "--interval", "10",
               "--no-classifier", "--n-fft", "256", "--hop", "64", "--n-mels", "32",
               "--save-features", str(out))
    assert proc.returncode == 0, proc.stderr
    times = np.load(out)["frame_times"]
    assert times.size > 3 * 48000 / 64 * 0.8  # more than the worker's queue holds (4096)
    np.testing.assert_allclose(np.diff(times), 64 / 48000)  # contiguous: nothing lost
    assert times[0] == 0.0


def test_recording_survives_a_kill(tmp_path):
    """The WAV header is rewritten every second: after kill -9 the file is readable and holds
    all but the last second."""
    out = tmp_path / "rec.wav"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--headless", "--generator",
                             "sine:440", "--no-classifier", "--duration", "60", "--record", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        # Wait (condition, with a deadline) until three JSON lines say 1.5 s were captured.
        for _ in range(3):
            assert proc.stdout.readline().startswith("{")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    info = sf.info(out)
    assert info.samplerate == 48000 and info.frames >= 48000 // 2
    y, _ = sf.read(out, dtype="float32")
    assert y.shape[0] == info.frames and abs(20 * np.log10(np.abs(y).max()) + 6) < 0.1


# -- the command line's own rules (issue: hostile inputs) ---------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["--input", "x.wav", "--samplerate", "16000"], "--samplerate does not apply to --input"),
    (["--input", "x.wav", "--device", "pulse", "--channels", "2"], "--device and --channels do not"),
    (["--input", ""], "non-empty"),
    (["--record", ""], "non-empty"),
    (["--events-csv", "a\nb.csv", "--headless"], "non-empty single line"),
    (["--screenshot", "x.xyz", "--duration", "1"], "must end in .png"),
    (["--no-classifier", "--threshold", "2"], "threshold must be from 0 to 1"),
    (["--hop", "1"], "hop must be from 32"),
    (["--db-range=-1e308:1e308"], "dB range"),
    (["--db-range=0:1e-300"], "dB range"),
    (["--fps", "1e308"], "refresh rate must be from 1 to 240"),
])
def test_conflicting_empty_and_extreme_values_are_one_line(args, needle):
    proc = run("--headless", "--duration", "0.2", *args)
    assert_usage_error(proc, needle)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_message_with_a_newline_stays_one_line(tmp_path):
    proc = run("--headless", "--generator", "sine:1000", "--model", str(tmp_path / "a\nb.onnx"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_headless_realtime_prints_a_short_files_end(tmp_path):
    for seconds, last in ((0.3, 0.3), (1.3, 1.3)):
        path = tmp_path / f"short{seconds}.wav"
        t = np.arange(int(48000 * seconds)) / 48000
        sf.write(path, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 48000)
        lines = json_lines(run("--headless", "--input", str(path), "--no-classifier"))
        assert lines and lines[-1]["t"] >= last - 0.05, lines
        assert sum(line["frames"] for line in lines) > 0


def test_closed_stdout_still_writes_the_outputs(tmp_path):
    """``spectromon --headless ... | head -1``: the reader goes away; the run ends and the
    features are still saved, with no traceback."""
    out = tmp_path / "f.npz"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--headless",
                             "--generator", "sine:1000", "--no-classifier", "--interval", "0.1",
                             "--save-features", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()  # as head -1 does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err
    assert np.load(out)["mel_db"].shape[0] > 0


def test_sighup_ends_headless_like_sigterm(tmp_path):
    out = tmp_path / "f.npz"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), "--headless",
                             "--generator", "sine:1000", "--no-classifier",
                             "--save-features", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, text=True)
    assert proc.stdout.readline().startswith("{")
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert np.load(out)["mel_db"].shape[0] > 0


def test_headless_without_an_input_exits_2_instead_of_playing_the_demo(tmp_path):
    """No usable input and none named: the window would show the demo; headless (and any run
    that records) must not pass a scripted test on it."""
    env = dict(os.environ, PULSE_SERVER=f"unix:{tmp_path / 'no-pulse-here'}")
    for extra in ([], ["--record", str(tmp_path / "r.wav")]):
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "--headless",
                               "--duration", "1", "--no-classifier", *extra], env=env,
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        if proc.returncode == 0 and "demo" not in proc.stderr:
            pytest.skip("this machine has a real input device")
        assert proc.returncode == 2, proc.stderr
        assert "demo" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.wav").exists()
