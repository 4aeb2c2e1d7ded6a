"""The window's instrument docks offscreen, on real sources: the measurement panel, the octave
bars, the channel meters, Calibrate, weighting, the devices panel and the exports."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from monitor.gui.instrument_panels import spectrum_offsets_db
from monitor.gui.main_window import MainWindow
from monitor.gui.measurements_view import FIGURES, METHODS
from monitor.session import Session
from monitor.settings_store import SettingsStore

REPO = Path(__file__).resolve().parent.parent
WAIT_MS = 20000


@pytest.fixture
def store(tmp_path) -> SettingsStore:
    return SettingsStore(path=str(tmp_path / "spectromon.ini"))


@pytest.fixture
def make_window(qtbot, store):
    made = []

    def make(**given) -> MainWindow:
        session = Session({"classifier": False, **given})
        session.start()
        window = MainWindow(session, store=store)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        window.instruments.docks[0].raise_()  # the Measurements tab: its figures run while shown
        made.append((window, session))
        return window

    yield make
    for window, session in made:
        window.close()
        session.close()


def _measured(qtbot, window, after=0):
    feed = window.session.measurement
    qtbot.waitUntil(lambda: feed.updates > after and window.instruments.measurements.refresh() is not None
                    and window.instruments.measurements.values["level"].text() != "—", timeout=WAIT_MS)
    window.update_status()
    return feed


def test_panel_shows_the_figures_of_a_tone(qtbot, make_window):
    window = make_window(generator="sine:1000@-6")
    _measured(qtbot, window)
    values = window.instruments.measurements.values
    assert values["level"].text() == "-6.00 dBFS"  # the generator's @-6 is AES17 dBFS
    assert values["fundamental"].text() == "1000.000 Hz"
    thd = float(values["thd"].text().split()[0])
    assert thd < 0.001
    assert values["clipping"].text() == "0 events, 0 samples"
    assert values["laeq"].text() == "-6.0 dB"
    assert "7-term Blackman-Harris" in window.instruments.measurements.window_label.text()
    assert "calibration file: none" in window.instruments.measurements.calibration_label.text()
    for key, _label, method in FIGURES:
        assert METHODS[method] in values[key].toolTip()
    # The octave bars put the tone in its band.
    window.instruments.refresh(1.0)
    assert window.instruments.octave.loudest_band_hz() == 1000.0
    assert window.instruments.octave.levels.max() == pytest.approx(-6.0, abs=0.1)


def test_readme_states_every_method_of_the_panel():
    readme = (REPO / "README.md").read_text()
    assert "## Measurements" in readme
    for text in METHODS.values():
        assert text in readme, text[:40]


def test_calibrate_sets_and_saves_the_offset_of_this_input(qtbot, make_window, store):
    window = make_window(generator="sine:1000@-20")
    _measured(qtbot, window)
    assert window.instruments.calibrate(94.0)
    key = window.pipeline.source.description
    offset = dict(window.settings.spl_offsets)[key]
    assert offset == pytest.approx(114.0, abs=0.05)
    assert dict(store.load()["spl_offsets"])[key] == pytest.approx(114.0, abs=0.05)
    feed = window.session.measurement
    qtbot.waitUntil(lambda: feed.latest().get("level_db_spl") is not None, timeout=WAIT_MS)
    window.instruments.measurements.refresh()
    assert window.instruments.measurements.values["level"].text() == "94.00 dB SPL"
    assert "SPL offset +114.00 dB" in window.instruments.measurements.calibration_label.text()


def test_calibrate_without_a_tone_says_why(qtbot, make_window):
    window = make_window(generator="white@-60")
    _measured_any(qtbot, window)
    assert not window.instruments.calibrate(94.0)
    assert "no calibrator tone" in window.session.problems.get("calibrate").text


def _measured_any(qtbot, window):
    feed = window.session.measurement
    qtbot.waitUntil(lambda: feed.updates > 0, timeout=WAIT_MS)


def test_weighting_a_lowers_the_spectrum_at_100_hz(qtbot, make_window):
    rows_hz = np.array([100.0, 1000.0, 10000.0])
    a = spectrum_offsets_db(rows_hz, "A")
    assert a == pytest.approx([-19.1, 0.0, -2.5], abs=0.1)  # IEC 61672-1 table
    assert spectrum_offsets_db(rows_hz, "C") == pytest.approx([-0.3, 0.0, -4.4], abs=0.1)
    window = make_window(generator="sine:100@-6", scale="linear")
    assert window.change_settings({"weighting": "A"})
    qtbot.waitUntil(lambda: window.waterfall.history.latest is not None, timeout=WAIT_MS)
    rows = window.waterfall.rows
    offsets = window.instruments.row_offsets(rows)
    k = int(np.argmin(np.abs(rows.row_hz - 100.0)))
    from monitor.dsp.weighting import weighting_db

    # The row's own centre (93.75 Hz at n_fft 2048), not exactly 100 Hz.
    assert offsets[k] == pytest.approx(float(weighting_db("A", rows.row_hz[k])), abs=1e-3)
    assert -21.0 < offsets[k] < -18.0
    assert "dB(A)" in window.spectrum.level_units


def test_two_channels_of_a_file_delay_polarity_and_clip_lights(qtbot, make_window, tmp_path):
    fs = 48000
    x = 0.1 * np.random.default_rng(1).standard_normal(fs * 4 + 30)
    left, right = x[30:], -x[:-30]  # right lags by 30 samples, inverted
    right = right.copy()
    right[::4800] = 1.0  # runs of 2 samples at the positive rail: clipped
    right[1::4800] = 1.0
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), fs, subtype="FLOAT")
    window = make_window(input=str(path), loop=True)
    channels = window.instruments.channels
    window.instruments.docks[2].raise_()  # the Channels tab: its meters run while on screen
    qtbot.waitUntil(lambda: len(channels.bars.states) == 2 and "INVERTED" in channels.compare.text(),
                    timeout=WAIT_MS)
    assert "+30.0 samples" in channels.compare.text()
    assert channels.figures.text().startswith("1: ")
    qtbot.waitUntil(lambda: channels.bars.states[1].clipping, timeout=WAIT_MS)
    assert not channels.bars.states[0].clipping


def test_channel_meters_read_nothing_behind_their_tab(qtbot, make_window):
    # Behind the Controls' tab the channel meters and their comparison (a cross-correlation
    # of 0.5 s) are neither computed nor drawn; raised, they run.
    window = make_window(generator="sine:1000@-6")
    channels = window.instruments.channels
    qtbot.waitUntil(lambda: window._ticks > 30 and window.frames_seen > 10, timeout=WAIT_MS)
    assert channels.bars.states == []
    window.instruments.docks[2].raise_()
    qtbot.waitUntil(lambda: len(channels.bars.states) == 1, timeout=WAIT_MS)
    assert channels.figures.text().startswith("1: -6.0")  # AES17: the sine @-6 reads -6 dB RMS


def test_exports_from_the_window_parse_back_and_never_overwrite(qtbot, make_window, tmp_path):
    window = make_window(generator="sine:1000@-6")
    _measured(qtbot, window, after=1)
    qtbot.waitUntil(lambda: window.waterfall.history.head > 20, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.spectrum.peak_hold.values is not None, timeout=WAIT_MS)
    ins = window.instruments
    spectrum = ins.export_spectrum(str(tmp_path / "s.csv"))
    with open(spectrum, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["frequency_hz", "level_dBFS", "peak_hold_dBFS"]
    data = np.array([[float(v) if v else -np.inf for v in r] for r in rows[1:]])
    assert abs(data[np.argmax(data[:, 1]), 0] - 1000.0) < 50
    log = ins.export_log(str(tmp_path / "log.csv"))
    with open(log, newline="") as f:
        logged = list(csv.DictReader(f))
    assert float(logged[-1]["level_dbfs"]) == pytest.approx(-6.02, abs=0.05)
    gram = ins.export_spectrogram(str(tmp_path / "g.npz"))
    with np.load(gram) as z:
        assert z["power_db"].shape == (z["times_s"].size, z["frequencies_hz"].size)
        assert np.all(np.diff(z["times_s"]) > 0)
    png = ins.export_png(str(tmp_path / "w.png"))
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = Path(spectrum).read_bytes()
    assert ins.export_spectrum(spectrum) is None  # exists: refused, said
    assert "will not overwrite" in window.session.problems.get("export").text
    assert Path(spectrum).read_bytes() == before


@pytest.mark.pulse
def test_devices_panel_lists_probes_and_switches(qtbot, make_window, pulse_mic):
    window = make_window(generator="sine:1000")
    devices = window.instruments.devices
    devices.fill()
    names = [d["name"] for d in devices.devices]
    assert "pulse" in names
    assert devices.devices[names.index("pulse")]["rates"] is None  # probed when selected
    devices.table.selectRow(names.index("pulse"))
    pulse = devices.devices[names.index("pulse")]
    assert 48000 in pulse["rates"] and "48k" in devices.table.item(names.index("pulse"), 5).text()
    assert not devices.rescan()  # audio flows: a rescan would stop it
    devices.rate_box.setCurrentIndex(devices.rate_box.findData(48000.0))
    devices.channels_box.setValue(1)
    assert devices.use_selected()
    assert window.pipeline.source.kind == "microphone"
    assert window.pipeline.samplerate == 48000.0


def test_every_figure_formats_when_any_value_is_missing():
    """Digital silence: DC exactly 0 has no dB; nothing may fail to format."""
    from monitor.gui.measurements_view import format_measurement

    full = {"fundamental_hz": 1000.0, "level_dbfs": -6.0, "thd_percent": 1.0, "thd_db": -40.0,
            "thdn_percent": 1.0, "thdn_db": -40.0, "sinad_db": 40.0, "snr_db": 50.0, "enob_bits": 6.0,
            "noise_dbfs": -90.0, "noise_dbfs_a": -92.0, "dc_offset": 0.0, "dc_dbfs": -50.0,
            "hum_hz": 50.0, "hum_dbfs": -80.0, "hum_harmonics_dbfs": [-80.0, None]}
    for key in full:
        format_measurement({**full, key: None})
    assert format_measurement({**full, "dc_dbfs": None})["dc"].startswith("+0.00e+00 FS")
    assert set(format_measurement({}).values()) >= {"—"}


def test_measurement_settings_from_the_panel_reach_the_measurements(qtbot, make_window, tmp_path, store):
    window = make_window(generator="sine:1000@-6")
    form = window.instruments.measurements.settings_form
    form.bands.setCurrentIndex(form.bands.findData(6))
    assert window.settings.band_fraction == 6
    feed = window.session.measurement
    qtbot.waitUntil(lambda: (feed.latest().get("bands") or {}).get("fraction") == 6, timeout=WAIT_MS)
    form.weighting.setCurrentIndex(form.weighting.findData("C"))
    assert window.settings.weighting == "C" and store.load()["weighting"] == "C"
    # A calibration file that does not parse, chosen in the window: refused, said, nothing changed.
    bad = tmp_path / "bad.txt"
    bad.write_text("not a calibration\n")
    form.changed.emit({"calibration": str(bad)})
    assert window.settings.calibration is None
    assert "bad.txt" in window.session.problems.get("change").text
    good = tmp_path / "mic.txt"
    good.write_text("20 0\n1000 1.0\n20000 0\n")
    form.changed.emit({"calibration": str(good)})
    assert window.settings.calibration == str(good) and form.calibration.text() == "mic.txt"
    after = feed.updates
    qtbot.waitUntil(lambda: feed.updates > after + 1 and feed.latest().get("calibration") == "mic.txt",
                    timeout=WAIT_MS)
    assert feed.latest()["level_dbfs"] == pytest.approx(-7.0, abs=0.05)  # mic reads 1 dB high


@pytest.mark.pulse
def test_devices_panel_rescan_while_lost_then_the_input_comes_back_by_itself(qtbot, pulse_mic, store):
    """Server stopped: the panel's Rescan is allowed (the input is lost) and reads the list;
    server started: the session's upkeep reopens the same input by itself."""
    session = Session({"device": "pulse", "samplerate": 48000.0, "channels": 1, "classifier": False})
    session.start()
    window = MainWindow(session, store=store)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.frames_seen > 0, timeout=WAIT_MS)
        devices = window.instruments.devices
        assert not devices.rescan()
        pulse_mic.kill()
        qtbot.waitUntil(lambda: window.pipeline.input_lost, timeout=WAIT_MS)
        assert devices.rescan(), devices.message.text()
        assert devices.message.text() == "device list read again"
        pulse_mic.start()
        seen = window.frames_seen
        qtbot.waitUntil(lambda: not window.pipeline.input_lost and window.frames_seen > seen + 10,
                        timeout=30_000)
        assert window.pipeline.source.kind == "microphone"
        devices.fill()
        assert "pulse" in [d["name"] for d in devices.devices]
    finally:
        window.close()
        session.close()


def test_figures_are_computed_only_while_a_panel_shows_them(qtbot, make_window):
    """Behind the Controls' tab the tone, distortion and band figures stop (a third of the
    measurement thread's CPU); the detectors and the levels go on; raised, the figures resume."""
    window = make_window(generator="sine:1000@-6")
    feed = _measured(qtbot, window)
    window.controls_dock.raise_()
    qtbot.waitUntil(lambda: not feed.analysing, timeout=WAIT_MS)
    updates, checked = feed.updates, feed.consumer._checked
    qtbot.waitUntil(lambda: feed.consumer._checked > checked + 2 * 48000, timeout=WAIT_MS)
    # Two seconds of audio checked: four figures if measuring; at most the one of the pass in
    # flight when the flag fell.
    assert feed.updates - updates <= 1
    assert feed.latest()["levels"]["lzeq_db"] == pytest.approx(-6.0, abs=0.1)
    window.instruments.docks[0].raise_()
    qtbot.waitUntil(lambda: feed.updates > updates, timeout=WAIT_MS)


def test_an_empty_measurement_log_is_said_not_written(qtbot, store, tmp_path):
    session = Session({"classifier": False, "generator": "sine:1000@-6"})
    session.open_measurement().analysing = False  # as the window sets it: the tab not shown
    session.start()
    window = MainWindow(session, store=store)  # the Controls in front, as it opens
    qtbot.addWidget(window)
    window.show()
    try:
        window.instruments.refresh(0.0)
        assert not session.measurement.analysing and session.measurement.log() == []
        assert window.instruments.export_log(str(tmp_path / "log.csv")) is None
        assert not (tmp_path / "log.csv").exists()
        assert "no measurements to export yet" in session.problems.get("export").text
    finally:
        window.close()
        session.close()


def test_the_level_meter_reads_the_chosen_weighting(qtbot, make_window):
    """A 100 Hz sine at -6 dBFS: the RMS bar reads -9.03 flat, 19.1 dB less A-weighted
    (IEC 61672-1) and 0.3 dB less C-weighted; the bar's label says which. The curve is applied
    per FFT bin: at n_fft 2048 the tone's Hann main lobe (+-47 Hz) spans a steep part of the A
    curve and reads 0.2 dB high (class 1 allows +-1 dB at 100 Hz)."""
    window = make_window(generator="sine:100@-6")
    qtbot.waitUntil(lambda: window.waterfall.history.head > 8, timeout=WAIT_MS)
    window.timer.stop()  # the display's tick drains the worker too: every frame comes here
    readings = {}
    for weighting in ("Z", "A", "C"):
        window.change_settings({"weighting": weighting})
        assert window.meters.weighting == weighting
        # The frame RMS of a 100 Hz tone in 2048 samples (4.3 periods) swings from -9.17 to
        # -8.85 dB with the tone's phase, which moves 24 deg a hop: the power mean of 45
        # consecutive frames (three turns of the phase) is the tone's RMS exactly.
        batches = []
        qtbot.waitUntil(lambda: batches.extend(window.pipeline.worker.drain())
                        or sum(len(b) for b in batches) >= 45, timeout=WAIT_MS)
        db = np.concatenate([window.instruments.meter_rms(b) for b in batches])[:45]
        readings[weighting] = float(10 * np.log10(np.mean(10 ** (db.astype(np.float64) / 10))))
    assert readings["Z"] == pytest.approx(-9.03, abs=0.05)
    assert readings["A"] - readings["Z"] == pytest.approx(-19.1, abs=0.3)
    assert readings["C"] - readings["Z"] == pytest.approx(-0.3, abs=0.1)
