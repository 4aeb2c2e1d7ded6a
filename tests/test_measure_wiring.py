"""The measurements wired through the command line, the session and the exports (real
subprocesses, real files)."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import numpy as np
import pytest
from conftest import main_cmd

from monitor.errors import ParameterError
from monitor.export import default_name, write_spectrum_csv
from monitor.outputs import open_exclusive
from monitor.session import Session
from monitor.settings import Settings

RUN_TIMEOUT = 60


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)


def _lines(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _one_error_line(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("spectromon:")]
    assert len(ours) == 1, proc.stderr
    return ours[0]


def test_headless_measure_reads_a_generated_sine(tmp_path):
    spectrum, log, gram = tmp_path / "s.csv", tmp_path / "log.csv", tmp_path / "g.npz"
    proc = _run("--headless", "--generator", "sine:1000@-6", "--measure", "--no-classifier",
                "--duration", "2.6", "--interval", "0.5", "--bands", "3", "--history", "1", "--leq-period", "1",
                "--export-spectrum", str(spectrum), "--export-log", str(log),
                "--export-spectrogram", str(gram))
    lines = _lines(proc)
    m = lines[-1]["measure"]
    assert m["level_dbfs"] == pytest.approx(-6.02, abs=0.05)
    assert m["fundamental_hz"] == pytest.approx(1000.0, abs=0.01)
    assert m["thd_percent"] < 0.001 and m["sinad_db"] > 100
    # The first period holds the C filter's overshoot at the tone's abrupt start (+0.3 dB);
    # the second is the steady tone: peak = RMS + 3.01 dB.
    last = m["levels"]["last_period"]
    assert last["period_s"] == 1.0  # to the sample
    assert last["lcpeak_db"] == pytest.approx(-6.02 + 3.01, abs=0.05)
    assert last["laeq_db"] == pytest.approx(-6.02, abs=0.05)  # A(1 kHz) = 0 dB
    k = m["bands"]["nominal_hz"].index(1000.0)
    assert m["bands"]["level_dbfs"][k] == pytest.approx(-6.02, abs=0.1)
    assert m["bands"]["fraction"] == 3
    # The exports parse back.
    with open(spectrum, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["frequency_hz", "level_dB", "peak_hold_dB"]
    values = np.array([[float(v) if v else -np.inf for v in r] for r in rows[1:]])
    assert values.shape == (1025, 3)  # n_fft 2048
    top = values[np.argmax(values[:, 1])]
    assert abs(top[0] - 1000.0) <= 48000 / 2048
    assert np.all(values[:, 2] >= values[:, 1])
    with open(log, newline="") as f:
        logged = list(csv.DictReader(f))
    assert len(logged) >= 2
    assert float(logged[-1]["level_dbfs"]) == pytest.approx(-6.02, abs=0.05)
    assert logged[-1]["window"] == "7-term Blackman-Harris"
    with np.load(gram) as z:
        assert z["power_db"].shape == (z["times_s"].size, z["frequencies_hz"].size)
        assert z["frequencies_hz"].size == 1025 and z["frequencies_hz"][-1] == 24000.0
        assert z["times_s"][-1] - z["times_s"][0] == pytest.approx(1.0, abs=0.05)  # --history 1
        assert np.all(np.diff(z["times_s"]) > 0)


def test_an_export_never_overwrites(tmp_path):
    target = tmp_path / "exists.csv"
    target.write_text("keep me\n")
    line = _one_error_line(_run("--headless", "--generator", "sine:1000", "--duration", "0.5",
                                "--no-classifier", "--export-spectrum", str(target)))
    assert "will not overwrite" in line
    assert target.read_text() == "keep me\n"
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ParameterError, match="will not overwrite|link"):
        write_spectrum_csv(link, np.arange(3.0), np.zeros(3))
    assert not (tmp_path / "elsewhere.csv").exists()  # the link was not followed
    with pytest.raises(ParameterError, match="will not overwrite|link"):
        open_exclusive(target)
    name = default_name("spectrum", "csv", when=0)
    assert name.startswith(("spectromon-spectrum-19", "spectromon-spectrum-20"))
    assert name.endswith(".csv") and len(name) == len("spectromon-spectrum-YYYYmmdd-HHMMSS.csv")


@pytest.mark.parametrize("args, words", [
    (("--weighting", "B"), "invalid choice"),
    (("--bands", "5"), "bands per octave must be one of 1, 3, 6, 12, 24"),
    (("--measure-n-fft", "3000"), "measurement n_fft must be a power of two"),
    (("--harmonics", "1"), "harmonics must be from 2 to 50"),
    (("--spl-offset", "nan"), "SPL offset"),
    (("--leq-period", "0"), "Leq period must be from 1"),
])
def test_bad_measurement_options_are_one_line_and_exit_2(args, words):
    line = _one_error_line(_run("--headless", "--generator", "sine:1000", "--duration", "0.5",
                                "--no-classifier", "--measure", *args))
    assert words in line


def test_a_calibration_file_that_does_not_parse(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text('"Sens Factor =-1.2dB"\n1000 0.5\n900 0.1\n')
    line = _one_error_line(_run("--headless", "--generator", "sine:1000", "--duration", "0.5",
                                "--no-classifier", "--measure", "--calibration", str(bad)))
    assert "bad.txt, line 3" in line and "unsorted" in line
    # Saved (the window's choice), it is dropped and said, and the run goes on.
    session = Session({"generator": "sine:1000", "classifier": False}, {"calibration": str(bad)})
    feed = session.open_measurement()
    try:
        assert feed.calibration is None
        assert "saved calibration dropped" in session.problems.get("saved:calibration").text
    finally:
        session.close()


def test_a_calibration_file_and_spl_offset_apply(tmp_path):
    cal = tmp_path / "umik.txt"
    cal.write_text('"Sens Factor =-1.2dB"\n20 0\n1000 2.0\n20000 0\n')
    proc = _run("--headless", "--generator", "sine:1000@-20", "--measure", "--no-classifier",
                "--duration", "1.6", "--calibration", str(cal), "--spl-offset", "100")
    m = _lines(proc)[-1]["measure"]
    assert m["calibration"] == "umik.txt"
    assert m["level_dbfs"] == pytest.approx(-22.0, abs=0.05)  # the mic reads 2 dB high at 1 kHz
    assert m["level_db_spl"] == pytest.approx(78.0, abs=0.05)
    assert m["levels"]["laeq_db_spl"] == pytest.approx(78.0, abs=0.1)  # time domain: corrected too
    assert m["calibration_fir"]["taps"] >= 1023 and m["calibration_fir"]["max_error_db"] <= 0.1


def test_session_calibrate_sets_the_offset_of_this_input():
    session = Session({"generator": "sine:1000@-20", "classifier": False})
    feed = session.open_measurement()
    session.start()
    try:
        assert feed.wait_for_update(0, timeout=20.0)
        offset = feed.calibrate(94.0)
        assert offset == pytest.approx(114.0, abs=0.05)
        from monitor.measurement_feed import with_offset

        key = session.pipeline.source.description
        assert session.change({"spl_offsets": with_offset(session.settings.spl_offsets, key, offset)})
        assert feed.spl_offset == pytest.approx(114.0, abs=0.05)
        assert dict(session.saved_choices()["spl_offsets"])[key] == pytest.approx(114.0, abs=0.05)
        after = feed.updates
        assert feed.wait_for_update(after, timeout=20.0)
        assert feed.latest()["level_db_spl"] == pytest.approx(94.0, abs=0.05)
    finally:
        session.close()


def test_spl_offsets_row_validates():
    Settings(spl_offsets=(("input pulse", 100.0),)).validate()
    with pytest.raises(ParameterError):
        Settings(spl_offsets=(("input pulse", float("nan")),)).validate()


def test_offline_measurements_are_complete_and_repeatable(tmp_path):
    import soundfile as sf

    fs = 44100
    t = np.arange(6 * fs) / fs
    a = 10 ** (-12 / 20)
    x = a * np.sin(2 * np.pi * 997.3 * t) + 0.01 * a * np.sin(2 * np.pi * 2 * 997.3 * t)
    path = tmp_path / "tone.wav"
    sf.write(path, x, fs, subtype="FLOAT")
    runs = []
    for _ in range(2):
        lines = _lines(_run("--headless", "--input", str(path), "--no-realtime", "--measure",
                            "--no-classifier", "--interval", "1"))
        runs.append([line["measure"] for line in lines])
    assert runs[0] == runs[1]  # same stream times, same figures
    m = runs[0][-1]
    assert m["samples_missed"] == 0 and m["dropped_feeds"] == 0
    assert m["fundamental_hz"] == pytest.approx(997.3, abs=0.05)
    assert m["thd_percent"] == pytest.approx(1.0, abs=0.02)
    assert m["samplerate_hz"] == fs


def test_the_window_refuses_a_bad_calibration_file_with_exit_2(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1000\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(main_cmd("--generator", "sine:1000", "--no-classifier", "--duration", "1",
                                   "--calibration", str(bad)), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL, env=env, check=False)
    line = _one_error_line(proc)
    assert "bad.txt, line 1" in line


def test_measurements_follow_the_channel_chosen_for_analysis(tmp_path):
    import soundfile as sf

    fs = 48000
    t = np.arange(3 * fs) / fs
    x = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t), 0.1 * np.sin(2 * np.pi * 2000 * t)], axis=1)
    path = tmp_path / "two.wav"
    sf.write(path, x, fs, subtype="FLOAT")
    for args, hz, level in (((), 1000.0, -6.02), (("--channel", "2"), 2000.0, -20.0)):
        lines = _lines(_run("--headless", "--input", str(path), "--no-realtime", "--measure",
                            "--no-classifier", *args))
        m = lines[-1]["measure"]
        assert m["fundamental_hz"] == pytest.approx(hz, abs=0.01)
        # The mix halves channel 1's tone (-6.02 - 6.02 dB); channel 2 alone is -20 dBFS.
        assert m["level_dbfs"] == pytest.approx(level - (6.02 if not args else 0.0), abs=0.05)
        assert m["channels"]["count"] == 2
