"""Microphone calibration files (parse, bounds, round trip, log interpolation) and the SPL offset."""

import numpy as np
import pytest

from monitor.calibration import (
    MAX_BYTES,
    MicCalibration,
    format_calibration,
    load_calibration,
    parse_calibration,
    spl_offset_db,
)
from monitor.dsp.distortion import measure_distortion
from monitor.errors import ParameterError

UMIK = """"Sens Factor =-1.378dB, AGain =18dB, SERNO: 7023270"
* miniDSP UMIK-1 style file
10.054\t-3.9671\t0.0
100.0\t-0.25\t0.0
1000.0\t0.0\t0.0

20000.0\t-1.5\t0.0
"""


def test_parses_umik_header_comments_and_phase():
    cal = parse_calibration(UMIK, "umik.txt")
    assert cal.sens_factor_db == pytest.approx(-1.378)
    assert list(cal.frequencies_hz) == [10.054, 100.0, 1000.0, 20000.0]
    assert list(cal.response_db) == [-3.9671, -0.25, 0.0, -1.5]
    assert cal.phase_deg is not None and cal.source == "umik.txt"


def test_two_columns_commas_and_other_comment_styles():
    cal = parse_calibration("; REW\n# x\n// y\n20, 1.0\n20000;-2\n")
    assert cal.phase_deg is None and cal.sens_factor_db is None
    assert list(cal.response_db) == [1.0, -2.0]


def test_interpolation_is_linear_on_a_log_frequency_axis():
    cal = MicCalibration(np.array([100.0, 1000.0]), np.array([0.0, 2.0]))
    assert cal.response_at([10 ** 2.5])[0] == pytest.approx(1.0)  # log midpoint, not 550 Hz
    assert list(cal.response_at([0.0, 50.0, 1e5])) == [0.0, 0.0, 2.0]  # held at the ends
    assert cal.correction_db([1000.0])[0] == -2.0
    assert cal.power_gain([1000.0])[0] == pytest.approx(10 ** -0.2)


def test_round_trip_through_a_file(tmp_path):
    rng = np.random.default_rng(9)
    freqs = np.unique(np.round(np.geomspace(10, 24000, 600) * (1 + 1e-3 * rng.random(600)), 4))
    cal = MicCalibration(freqs, rng.normal(0, 2, freqs.size), rng.uniform(-180, 180, freqs.size), -0.75)
    path = tmp_path / "mic.cal"
    path.write_text(format_calibration(cal))
    back = load_calibration(path)
    assert np.array_equal(back.frequencies_hz, cal.frequencies_hz)
    assert np.array_equal(back.response_db, cal.response_db)
    assert np.array_equal(back.phase_deg, cal.phase_deg)
    assert back.sens_factor_db == -0.75 and back.source == "mic.cal"


@pytest.mark.parametrize("text, words", [
    ("100 0\n90 1\n", "line 2: unsorted frequency 90 Hz"),
    ("100 0\n100 1\n", "line 2: duplicate frequency 100 Hz"),
    ("100 0\n200 nan\n", "line 2: non-finite"),
    ("100 0\n200 inf\n", "line 2: non-finite"),
    ("100 0\nhello world\n", "line 2: expected 'frequency dB \\[phase\\]'"),
    ("100 0 1 2\n", "line 1: expected"),
    ("0 1\n", "line 1: frequency must be above 0 Hz"),
    ("* only comments\n", "no 'frequency dB' lines"),
])
def test_bad_files_give_one_clear_line(text, words):
    with pytest.raises(ParameterError, match=words) as info:
        parse_calibration(text, "bad.txt")
    assert "\n" not in str(info.value) and "bad.txt" in str(info.value)


def test_oversized_binary_and_missing_files_are_refused(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("1000 0\n" * (MAX_BYTES // 7 + 1))
    with pytest.raises(ParameterError, match="larger than 1 MiB"):
        load_calibration(big)
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x00\x01\x02 1000 0\n")
    with pytest.raises(ParameterError, match="not a text file"):
        load_calibration(binary)
    with pytest.raises(ParameterError, match="cannot read"):
        load_calibration(tmp_path / "missing.txt")


def test_calibrator_offset_turns_measured_levels_into_spl():
    fs = 48000
    t = np.arange(fs) / fs
    tone = measure_distortion(0.1 * np.sin(2 * np.pi * 1000 * t), fs)  # a 94 dB calibrator reads -20 dBFS
    offset = spl_offset_db(tone.level_dbfs, 94.0, tone.fundamental_hz)
    assert offset == pytest.approx(114.0, abs=0.01)
    louder = measure_distortion(0.2 * np.sin(2 * np.pi * 440 * t), fs)
    assert louder.level_dbfs + offset == pytest.approx(94.0 + 20 * np.log10(2), abs=0.01)
    assert spl_offset_db(-10.0, 114.0) == 124.0


@pytest.mark.parametrize("args, words", [
    ((None,), "no calibrator tone"),
    ((float("nan"),), "no calibrator tone"),
    ((-20.0, 94.0, 500.0), "500.0 Hz"),
    ((-20.0, 300.0), "60-150 dB SPL"),
    ((6.0,), "above full scale"),
])
def test_calibrate_refuses_what_is_no_calibrator(args, words):
    with pytest.raises(ParameterError, match=words):
        spl_offset_db(*args)
