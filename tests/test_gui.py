"""The window, offscreen (pytest-qt): real Qt, real pipeline on a generator source.

Every control is checked by what it changes in the drawn picture (the uint8 image pyqtgraph
shows, its colours, the grabbed widget pixels), never by timing.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from PyQt6 import QtCore, QtGui  # noqa: E402

from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.dsp.frequency_rows import FrequencyRows  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.gui.waterfall_history import WaterfallHistory  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WAIT_MS = 15000  # generous: two shared cores; a timeout means a real failure


@pytest.fixture
def store(tmp_path) -> SettingsStore:
    """A private INI file: the user's real settings are never touched."""
    return SettingsStore(path=str(tmp_path / "spectromon.ini"))


@pytest.fixture
def make_window(qtbot, store):
    windows = []

    def make(spec: str = "sine:1000", **fields) -> MainWindow:
        session = Session({"generator": spec, "classifier": False, **fields})
        session.start()
        window = MainWindow(session, store=store)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        windows.append(window)
        return window

    yield make
    for w in windows:
        w.close()
        assert w.wait_stopped(30), "the audio did not stop"


def wait_columns(qtbot, window: MainWindow, n: int = 30) -> None:
    """Wait until the waterfall has ``n`` columns more than now, drawn."""
    start = window.waterfall.history.head
    history = window.waterfall.history

    def enough():
        wf = window.waterfall
        return wf.history is not history or wf.history.head >= start + n

    qtbot.waitUntil(enough, timeout=WAIT_MS)
    # A history reset (new params) starts from zero: wait for columns in the new one too.
    qtbot.waitUntil(lambda: window.waterfall.history.head >= n, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.waterfall.draws > 0 and not window.waterfall._dirty,
                    timeout=WAIT_MS)


def bright_row(window: MainWindow) -> int:
    """Row of the brightest colour index in the newest columns of the displayed image."""
    img = window.waterfall.displayed_image()
    return int(np.argmax(img[:, -8:].astype(int).sum(axis=1)))


def grabbed_bright_hz(window: MainWindow) -> float:
    """Frequency of the brightest pixel row near the right edge of the grabbed waterfall plot."""
    canvas = window.waterfall.canvas
    image = canvas.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    h, w, stride = image.height(), image.width(), image.bytesPerLine()
    data = np.frombuffer(image.constBits().asstring(stride * h), np.uint8)
    rgb = data.reshape(h, stride)[:, :3 * w].reshape(h, w, 3).astype(float)
    right = canvas.view_to_widget(-0.15, 0).x()
    lum = rgb[:, int(right) - 6:int(right) - 2].sum(axis=(1, 2))
    y_px = int(np.argmax(lum))
    y_view = canvas.widget_to_view(int(right) - 4 + 0.5, y_px + 0.5)[1]
    return float(window.waterfall.rows.hz_at(y_view))


# -- the picture is right ---------------------------------------------------------------------

@pytest.mark.parametrize("scale", ["linear", "log", "mel"])
def test_sine_draws_a_bright_row_at_1khz(make_window, qtbot, scale):
    window = make_window("sine:1000", scale=scale)
    wait_columns(qtbot, window)
    rows = window.waterfall.rows
    assert rows.scale == scale
    row = bright_row(window)
    # The bright row holds 1 kHz: its frequency span contains it (within one bin / band).
    lo, hi = rows.hz_at(row), rows.hz_at(row + 1)
    tolerance = 48000 / 2048 if scale != "mel" else 0.0
    assert lo - tolerance <= 1000 <= hi + tolerance, (scale, row, lo, hi)
    assert window.waterfall.displayed_image()[row, -8:].min() > 200  # -6 dBFS in -100..0 dB
    # And on screen: the brightest pixel row of the grabbed plot is at 1 kHz on the axis.
    hz = grabbed_bright_hz(window)
    # Within 0.1 octave, or two screen pixels where a pixel spans more (linear axis, short plot).
    rows_per_px = rows.n_rows / max(1.0, window.waterfall.canvas.plot_rect().height())
    px_hz = abs(float(rows.hz_at(0.5 + 2 * rows_per_px)) - float(rows.hz_at(0.5)))
    assert abs(np.log2(hz / 1000)) < 0.1 or abs(hz - 1000) <= px_hz, (scale, hz, px_hz)


def test_frequency_rows_put_1khz_where_each_scale_says():
    params = AnalysisParams.from_settings(Settings(), 48000)
    rows = {s: FrequencyRows(params, s) for s in ("linear", "log", "mel")}
    assert rows["linear"].n_rows == 1025 and rows["log"].n_rows == 512
    assert rows["mel"].n_rows == 128
    for r in rows.values():
        y = r.y_at(1000.0)
        assert abs(r.hz_at(y) - 1000) < 1e-6
    assert len({int(r.y_at(1000.0)) for r in rows.values()}) == 3  # three different mappings


@pytest.mark.parametrize("scale,expected", [("linear", {"0", "2k", "10k", "20k"}),
                                            ("log", {"100", "1k", "10k"}),
                                            ("mel", {"1k", "5k", "10k"})])
def test_frequency_axis_labels_are_round_hz(qtbot, scale, expected):
    from monitor.gui.axes import FrequencyAxis, format_hz

    rows = FrequencyRows(AnalysisParams.from_settings(Settings(), 48000), scale)
    axis = FrequencyAxis("left", rows)
    ticks = axis.tickValues(0, rows.n_rows, 500)[0][1]
    labels = axis.tickStrings(ticks, 1.0, 1.0)
    assert expected <= set(labels), labels
    assert len(labels) >= 4
    px = np.asarray(ticks) * 500 / rows.n_rows
    assert np.diff(px).min() >= FrequencyAxis.MIN_SPACING_PX["left"] - 1e-6  # no overlap
    assert [format_hz(f) for f in (125, 1000, 2500, 12000)] == ["125", "1k", "2.5k", "12k"]


def test_waterfall_alone_scrolls_and_caps_its_width(qtbot):
    """The reusable widget: fed FeatureBatches directly, no window or pipeline."""
    settings = Settings(hop=16, history=60.0)
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    assert wf.history.width <= WaterfallHistory.MAX_COLUMNS + 4 and wf.history.merge > 1
    ex = FeatureExtractor(params)
    gen = GeneratorSource("sine:1000", 48000)
    new = sum(wf.push(ex.process(gen.render(4800)[:, 0])) for _ in range(20))
    assert new == wf.history.head > 0
    assert wf.history.frames == 20 * 4800 // 16 - (params.n_fft // 16 - 1)
    wf.draw(wf.latest_time)
    before = wf.canvas.image_to_view(0, 0)[0]  # view time of the picture's left edge
    wf.draw(wf.latest_time + 0.5)
    assert wf.canvas.image_to_view(0, 0)[0] == pytest.approx(before - 0.5)  # scrolls by time


# -- every control changes what is drawn ------------------------------------------------------

def test_n_fft_changes_the_rows(make_window, qtbot):
    window = make_window(scale="linear")
    wait_columns(qtbot, window)
    assert window.waterfall.displayed_image().shape[0] == 1025
    window.controls.n_fft_combo.setCurrentIndex(window.controls.n_fft_combo.findData(512))
    assert window.settings.n_fft == 512 and window.pipeline.worker.settings.n_fft == 512
    qtbot.waitUntil(lambda: window.waterfall.history.params.n_fft == 512, timeout=WAIT_MS)
    wait_columns(qtbot, window)
    assert window.waterfall.displayed_image().shape[0] == 257
    assert window.spectrum.rows is window.waterfall.rows


def test_scale_changes_the_row_mapping(make_window, qtbot):
    window = make_window(scale="log")
    wait_columns(qtbot, window)
    log_row = bright_row(window)
    window.controls.scale_combo.setCurrentIndex(window.controls.scale_combo.findData("mel"))
    assert window.settings.scale == "mel"
    wait_columns(qtbot, window)
    mel_row = bright_row(window)
    assert window.waterfall.displayed_image().shape[0] == 128
    assert mel_row != log_row
    assert window.waterfall.rows.hz_at(mel_row) <= 1000 <= window.waterfall.rows.hz_at(mel_row + 1)


def test_colormap_changes_pixel_colours(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    window.set_paused(True)  # same indices before and after: only the colours may change
    indices = window.waterfall.displayed_image().copy()
    inferno = window.waterfall.rendered_rgb().copy()
    before = window.waterfall.plot.grab().toImage()
    window.controls.colormap_combo.setCurrentIndex(
        window.controls.colormap_combo.findData("grayscale"))
    assert window.settings.colormap == "grayscale"
    gray = window.waterfall.rendered_rgb()
    np.testing.assert_array_equal(window.waterfall.displayed_image(), indices)
    assert not np.array_equal(gray, inferno)
    assert np.all(gray[..., 0] == gray[..., 1])  # grey: R == G == B
    assert window.waterfall.plot.grab().toImage() != before


def test_db_range_changes_levels(make_window, qtbot):
    window = make_window("tones:1000,5000@-30")
    wait_columns(qtbot, window)
    window.set_paused(True)  # the frozen picture is re-coloured too
    wf = window.waterfall
    row = wf.rows.row_of(1000.0)
    col = wf.history.width - 4
    db = wf.readout(-0.05, row + 0.5)
    level = float(wf._frozen_db[row, col])
    assert -32 < level < -29
    before = int(wf.displayed_image()[row, col])
    window.controls.db_ceil_spin.setValue(-20.0)
    window.controls.db_floor_spin.setValue(-50.0)
    after = int(wf.displayed_image()[row, col])
    assert (window.settings.db_floor, window.settings.db_ceil) == (-50.0, -20.0)
    assert before == pytest.approx((level + 100) / 100 * 255, abs=1)
    assert after == pytest.approx((level + 50) / 30 * 255, abs=1)
    assert db is not None
    # The spectrum keeps its own range (issue 10: a -20 dB ceiling cut its peaks off).
    lo, hi = window.spectrum.view_range()[1]
    assert hi >= level + 6 and lo != pytest.approx(-50.0)


def test_history_changes_width(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    wide = window.waterfall.displayed_image().shape[1]
    window.controls.history_spin.setValue(5.0)
    assert window.settings.history == 5.0
    narrow = window.waterfall.displayed_image().shape[1]
    assert abs(wide / narrow - 2) < 0.05
    # The picture is kept: the newest columns still show the tone.
    assert window.waterfall.displayed_image()[bright_row(window), -4:].min() > 200
    x_range = window.waterfall.canvas.view_range()[0]
    assert x_range[0] == pytest.approx(-5.0, abs=0.05)


def test_hop_changes_columns_per_second(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    w512 = window.waterfall.history.width
    window.controls.hop_spin.setValue(1024)
    qtbot.waitUntil(lambda: window.waterfall.history.params.hop == 1024, timeout=WAIT_MS)
    assert abs(w512 / window.waterfall.history.width - 2) < 0.05


def test_history_is_kept_unless_its_rows_change(make_window, qtbot):
    """Window, n_mels and htk do not move the rows of a log scale: the picture stays. On the
    mel scale n_mels makes other rows: a new history."""
    window = make_window(scale="log")
    wait_columns(qtbot, window)
    history = window.waterfall.history
    head = history.head
    window.controls.window_combo.setCurrentIndex(
        window.controls.window_combo.findData("hamming"))
    window.controls.n_mels_spin.setValue(64)
    qtbot.waitUntil(lambda: history.params.window == "hamming" and history.params.n_mels == 64,
                    timeout=WAIT_MS)
    assert window.waterfall.history is history and history.head >= head
    window.controls.scale_combo.setCurrentIndex(window.controls.scale_combo.findData("mel"))
    mel = window.waterfall.history
    assert mel is not history
    window.controls.n_mels_spin.setValue(48)
    qtbot.waitUntil(lambda: window.waterfall.history.params.n_mels == 48, timeout=WAIT_MS)
    assert window.waterfall.history is not mel and window.waterfall.rows.n_rows == 48


def test_kept_history_keeps_column_times_across_a_new_window(qtbot):
    """The worker restarts its frames at the next hop boundary when the window changes; the
    frames skipped become empty columns, so the newest column ends where its frame ends."""
    settings = Settings(scale="linear")
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    gen = GeneratorSource("sine:1000", 48000)
    ex = FeatureExtractor(params)
    wf.push(ex.process(gen.render(48000)[:, 0]))
    history, head = wf.history, wf.history.head
    ex2 = FeatureExtractor(AnalysisParams.from_settings(settings.replace(window="hamming"), 48000))
    ex2.stft.seek(48000)  # what the worker does on a change
    batch = ex2.process(gen.render(24000)[:, 0])
    assert batch.first_frame > history.first_frame + history.frames  # frames were skipped
    new = wf.push(batch)
    assert wf.history is history and new == batch.first_frame + len(batch) - head
    end = ((batch.first_frame + len(batch) - 1) * params.hop + params.n_fft) / 48000
    assert wf.latest_time == pytest.approx(end)
    assert not np.isfinite(history.db[:, head % history.width]).any()  # a skipped frame


def test_peak_hold_takes_every_frame_of_a_sweep(qtbot):
    """Frames come faster than the spectrum is drawn: the held peak is the maximum of all of
    them, so a sweep leaves an even line, not the frames that happened to be the newest."""
    from monitor.gui.spectrum import SpectrumView

    settings = Settings(scale="log")
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    spectrum = SpectrumView(settings, wf.rows)
    qtbot.addWidget(wf)
    qtbot.addWidget(spectrum)
    ex = FeatureExtractor(params)
    gen = GeneratorSource("sweep:500-4000:1", 48000)  # -6 dBFS
    for i in range(40):  # 1.33 s of audio, drawn 30 times a second
        wf.push(ex.process(gen.render(1600)[:, 0]))
        if wf.history.latest is not None:
            spectrum.update_frame(wf.history.latest, i / 30, wf.history.take_recent_max())
    assert wf.history.take_recent_max() is None  # taken: a new maximum starts
    rows = wf.rows
    held = spectrum.peak_hold.values[rows.row_of(600):rows.row_of(3500)]
    assert held.max() == pytest.approx(-6, abs=1.5)
    assert held.min() > -14  # newest frames only: dips to -24 dB


def test_window_function_changes_the_leakage(make_window, qtbot):
    window = make_window("sine:1030", scale="linear", db_floor=-140.0)
    wait_columns(qtbot, window)
    bright = (window.waterfall.displayed_image()[:, -4] > 100).sum()
    window.controls.window_combo.setCurrentIndex(
        window.controls.window_combo.findData("rectangular"))
    qtbot.waitUntil(lambda: window.waterfall.history.params.window == "rectangular",
                    timeout=WAIT_MS)
    wait_columns(qtbot, window)
    wide = (window.waterfall.displayed_image()[:, -4] > 100).sum()
    assert wide > 3 * bright  # a rectangular window leaks far wider than Hann


def test_n_mels_fmin_fmax_change_the_mel_rows(make_window, qtbot):
    window = make_window(scale="mel")
    wait_columns(qtbot, window)
    window.controls.n_mels_spin.setValue(64)
    window.controls.fmax_spin.setValue(8000.0)
    window.controls.fmin_spin.setValue(100.0)
    qtbot.waitUntil(lambda: window.waterfall.history.params.n_mels == 64
                    and window.waterfall.history.params.fmin == 100.0, timeout=WAIT_MS)
    wait_columns(qtbot, window)
    rows = window.waterfall.rows
    assert window.waterfall.displayed_image().shape[0] == 64
    assert 100 < rows.row_hz[0] < 200 and 7000 < rows.row_hz[-1] < 8000
    assert rows.hz_at(bright_row(window)) <= 1000 <= rows.hz_at(bright_row(window) + 1)


def test_bad_change_is_shown_and_reverted(make_window, qtbot):
    window = make_window(scale="mel")
    wait_columns(qtbot, window)
    window.controls.n_fft_combo.setCurrentIndex(window.controls.n_fft_combo.findData(256))
    # 128 mel bands would leave filters empty with 129 bins: n_mels is lowered to fit.
    assert window.settings.n_fft == 256 and 10 < window.settings.n_mels < 128
    n_mels = window.settings.n_mels
    assert window.controls.n_mels_spin.value() == n_mels
    assert window.notice.isVisible() and f"to {n_mels}" in window.notice.label.text()
    window.controls.n_mels_spin.setValue(1000)  # refused: shown, control reverted
    assert window.settings.n_mels == n_mels
    assert window.controls.n_mels_spin.value() == n_mels
    assert "n_mels" in window.problem_label.text()
    window.controls.n_mels_spin.setValue(n_mels - 2)  # a good change clears the message
    assert window.settings.n_mels == n_mels - 2 and not window.problem_label.text()


def test_normalisation_shows_gain_and_raises_the_level(make_window, qtbot):
    window = make_window("sine:1000@-40")
    wait_columns(qtbot, window)
    row = window.waterfall.rows.row_of(1000.0)
    quiet = int(window.waterfall.displayed_image()[row, -4])
    window.controls.normalize_combo.setCurrentIndex(
        window.controls.normalize_combo.findData("peak"))
    assert window.settings.normalize == "peak"
    qtbot.waitUntil(lambda: window.meters.state.gain_db is not None
                    and window.meters.state.gain_db > 30, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: int(window.waterfall.displayed_image()[row, -4]) > quiet + 50,
                    timeout=WAIT_MS)


def test_normalisation_target_is_shown_and_changes_the_gain(make_window, qtbot):
    window = make_window("sine:1000@-40")
    spin = window.controls.target_spin
    assert not spin.isEnabled()  # no normalisation: no target to set
    window.controls.normalize_combo.setCurrentIndex(
        window.controls.normalize_combo.findData("peak"))
    assert spin.isEnabled() and spin.value() == -1.0  # the effective default, peak
    assert window.settings.normalize_target is None
    qtbot.waitUntil(lambda: window.pipeline.worker.gain_db > 30, timeout=WAIT_MS)
    spin.setValue(-20.0)
    assert window.settings.normalize_target == -20.0
    qtbot.waitUntil(lambda: 15 < window.pipeline.worker.gain_db < 25, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.meters.state.gain_db is not None
                    and window.meters.state.gain_db < 25, timeout=WAIT_MS)


def test_htk_checkbox_changes_the_mel_filterbank(make_window, qtbot):
    window = make_window(scale="mel")
    wait_columns(qtbot, window)
    slaney_top = window.waterfall.rows.row_hz[-1]
    assert not window.pipeline.worker.params.htk
    window.controls.htk_check.setChecked(True)
    assert window.settings.htk
    qtbot.waitUntil(lambda: window.pipeline.worker.params.htk, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.waterfall.rows.row_hz[-1] != slaney_top, timeout=WAIT_MS)
    window.controls.htk_check.setChecked(False)
    assert not window.settings.htk
    qtbot.waitUntil(lambda: not window.pipeline.worker.params.htk, timeout=WAIT_MS)


def test_refresh_rate_changes_the_display_timer(make_window, qtbot):
    window = make_window()
    assert window.controls.fps_spin.value() == 60 and window.timer.interval() == 17
    window.controls.fps_spin.setValue(20)
    assert window.settings.fps == 20.0
    assert window.timer.interval() == 50 and window.timer.isActive()
    wait_columns(qtbot, window)  # still drawing at the new rate


def test_sample_rate_reopens_the_source(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    old = window.pipeline
    box = window.controls.samplerate_combo
    assert box.currentData() is None  # device default
    box.setCurrentIndex(box.findData(22050.0))
    assert window.pipeline is not old and not old.worker._thread
    assert window.settings.samplerate == 22050.0 and window.pipeline.samplerate == 22050.0
    qtbot.waitUntil(lambda: window.waterfall.history.params.samplerate == 22050.0
                    and window.waterfall.history.head > 5, timeout=WAIT_MS)
    box.setCurrentIndex(box.findData(None))  # back to the default: 48 kHz for a generator
    assert window.settings.samplerate is None and window.pipeline.samplerate == 48000.0


def test_channels_and_channel_reopen_the_source_or_are_refused(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    controls = window.controls
    old = window.pipeline
    controls.channels_spin.setValue(2)
    assert window.pipeline is not old and window.pipeline.settings.channels == 2
    assert window.settings.channels == 2
    controls.channels_spin.setValue(0)  # "default"
    assert window.settings.channels is None and controls.channels_spin.text() == "default"
    # The generator has one channel: channel 2 is refused, shown, and the control reverted.
    kept = window.pipeline
    controls.channel_spin.setValue(2)
    assert window.pipeline is kept and window.settings.channel is None
    assert "channel 2" in window.problem_label.toolTip()
    assert controls.channel_spin.value() == 0 and controls.channel_spin.text() == "mono mix"
    controls.channel_spin.setValue(1)  # the analysed channel changes live: no reopen
    assert window.pipeline is kept and window.pipeline.settings.channel == 1
    assert not window.problem_label.text()
    wait_columns(qtbot, window)


def test_block_size_and_latency_reopen_the_source(make_window, qtbot):
    window = make_window()
    controls = window.controls
    assert controls.blocksize_spin.text() == "auto"
    old = window.pipeline
    controls.blocksize_spin.setValue(1024)
    assert window.pipeline is not old and window.settings.blocksize == 1024
    assert window.pipeline.source.blocksize == 1024
    old = window.pipeline
    controls.latency_combo.setCurrentIndex(controls.latency_combo.findData("high"))
    assert window.pipeline is not old and window.settings.latency == "high"
    wait_columns(qtbot, window)


def test_set_settings_shows_new_fields_without_emitting(make_window, qtbot):
    window = make_window()
    controls = window.controls
    shown = window.settings.replace(htk=True, normalize="rms", normalize_target=-12.0, fps=30.0,
                                    samplerate=32000.0, channels=2, channel=2, blocksize=2048,
                                    latency=0.05)
    with qtbot.assertNotEmitted(controls.changed), \
            qtbot.assertNotEmitted(controls.source_changed):
        controls.set_settings(shown)
    assert controls.htk_check.isChecked() and controls.target_spin.value() == -12.0
    assert controls.target_spin.isEnabled() and controls.fps_spin.value() == 30
    assert controls.samplerate_combo.currentData() == 32000.0  # not offered: added
    assert controls.channels_spin.value() == 2 and controls.channel_spin.value() == 2
    assert controls.blocksize_spin.value() == 2048
    assert controls.latency_combo.currentData() == 0.05
    with qtbot.assertNotEmitted(controls.changed):
        controls.set_settings(shown.replace(normalize_target=None, normalize="peak",
                                          samplerate=None))
    assert controls.target_spin.value() == -1.0  # the default of peak normalisation
    assert controls.samplerate_combo.currentData() is None  # 32000 Hz is offered no more
    assert controls.samplerate_combo.findData(32000.0) < 0
    # The window's settings were never changed by showing others.
    assert window.settings.fps == 60.0 and not window.settings.htk


def test_pause_freezes_the_picture_while_frames_keep_coming(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.paused and window.view_bar.pause_button.isChecked()
    frozen = window.waterfall.displayed_image().copy()
    draws, frames, head = window.waterfall.draws, window.frames_seen, window.waterfall.history.head
    qtbot.waitUntil(lambda: window.frames_seen > frames + 50, timeout=WAIT_MS)
    assert window.waterfall.history.head > head  # the history keeps filling
    assert window.waterfall.draws == draws
    np.testing.assert_array_equal(window.waterfall.displayed_image(), frozen)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.paused
    qtbot.waitUntil(lambda: window.waterfall.draws > draws, timeout=WAIT_MS)


def test_vertical_orientation_puts_frequency_on_x(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    window.controls.orientation_combo.setCurrentIndex(1)
    assert window.settings.orientation == "vertical"
    wf = window.waterfall
    assert wf.canvas.vertical and wf.canvas.rows is wf.rows  # the frequency axis at the bottom
    (x0, x1), (y0, y1) = wf.canvas.view_range()
    assert (x0, x1) == pytest.approx((0, wf.rows.n_rows)) and y1 == pytest.approx(0)
    # The canvas maps image (column, row) to (row, time): the 1 kHz row lands at x = that row.
    row = wf.rows.row_of(1000.0)
    x, y = wf.canvas.image_to_view(wf.history.width - 1, row + 0.5)
    assert x == pytest.approx(row + 0.5) and -0.2 < y <= 0.1


def test_views_are_one_click_away(make_window, qtbot):
    """The layout, the frequency axis and the value scale are three choices, each one click
    away, and each changes only what it names (issue 10: 'Log-frequency' and 'Linear power'
    both showed linear power; 'Waveform' set the scope span to 1 s for good)."""
    window = make_window()
    wait_columns(qtbot, window)
    window.view_bar.axis_buttons["linear"].click()
    assert window.settings.scale == "linear" and window.waterfall.value_mode == "db"
    window.view_bar.value_buttons["power"].click()
    assert window.settings.scale == "linear" and window.waterfall.value_mode == "power"
    window.view_bar.axis_buttons["mel"].click()
    assert window.settings.scale == "mel" and window.waterfall.value_mode == "power"
    assert window.view_bar.axis_buttons["mel"].isChecked()
    assert window.view_bar.value_buttons["power"].isChecked()
    window.view_bar.buttons["waveform"].click()
    assert window.scope.isVisible() and not window.waterfall.isVisible()
    assert window.settings.scope_ms == 50.0 and window.controls.scope_spin.value() == 50
    qtbot.waitUntil(lambda: window.scope.curve.getData()[0] is not None
                    and len(window.scope.curve.getData()[0]) > 0
                    and -60 < window.scope.curve.getData()[0].min() < -40, timeout=WAIT_MS)
    assert not window.spectrum.isVisible()
    window.view_bar.buttons["spectrum"].click()
    assert window.spectrum.isVisible() and not window.scope.isVisible()
    window.view_bar.buttons["spectrogram"].click()
    assert window.waterfall.isVisible() and window.settings.scale == "mel"
    assert window.waterfall.value_mode == "power"


def test_linear_power_values_darken_quiet_parts(make_window, qtbot):
    window = make_window("tones:1000,4000@-30", db_ceil=0.0)
    wait_columns(qtbot, window)
    window.set_paused(True)
    row = window.waterfall.rows.row_of(4000.0)
    db_code = int(window.waterfall.displayed_image()[row, -4])
    window.set_value_mode("power")
    power_code = int(window.waterfall.displayed_image()[row, -4])
    assert db_code > 150 and power_code < 5  # -30 dB is 1/1000 of the ceiling's power


def test_spectrum_scope_and_meters_follow_the_signal(make_window, qtbot):
    window = make_window("sine:1000@-6")
    wait_columns(qtbot, window)
    # Empty arrays (not None) until the first frame is drawn: wait for points.
    qtbot.waitUntil(lambda: window.spectrum.curve.getData()[1] is not None
                    and len(window.spectrum.curve.getData()[1]) > 0, timeout=WAIT_MS)
    x, y = window.spectrum.curve.getData()
    assert abs(window.waterfall.rows.hz_at(x[int(np.argmax(y))]) / 1000 - 1) < 0.05
    assert -8 < y.max() < -5
    hx, hy = window.spectrum.hold_curve.getData()
    assert np.all(hy >= y - 1e-3)
    _, wave = window.scope.curve.getData()
    assert 0.45 < np.abs(wave).max() < 0.55  # -6 dBFS peak
    qtbot.waitUntil(lambda: -7 < window.meters.state.peak < -5, timeout=WAIT_MS)
    assert -10.5 < window.meters.state.rms < -8  # a sine's RMS is 3 dB under its peak
    assert not window.meters.state.clipping


def test_clip_indicator_lights_on_clipping(qtbot, store, tmp_path):
    """A tone hard-clipped at an int16 device's rails (+32767 is 0.99997 as a float) lights
    it; clipping is runs at a rail (monitor.dsp.clipping), so a 0 dBFS sine touching full
    scale once a cycle does not."""
    t = np.arange(48000) / 48000
    tone = np.clip(np.round(2 * 32768 * np.sin(2 * np.pi * 1000 * t)), -32768, 32767)
    sf.write(str(tmp_path / "clipped.wav"), tone.astype(np.int16), 48000, subtype="PCM_16")
    session = Session({"input": str(tmp_path / "clipped.wav"), "loop": True, "classifier": False})
    window = MainWindow(session, store=store)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.meters.state.clipping, timeout=WAIT_MS)
    finally:
        window.close()


def test_cursor_readout_gives_time_frequency_and_db(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    window.set_paused(True)
    wf = window.waterfall
    text = wf.readout(-0.1, wf.rows.y_at(1000.0))
    assert text is not None and text.startswith("t -0.10 s"), text
    hz = float(text.split("f ")[1].split()[0]) * (1000 if "kHz" in text else 1)
    level = float(text.split()[-2])
    assert abs(hz - 1000) < 30 and -9 < level < -5, text
    quiet = wf.readout(-0.1, wf.rows.y_at(8000.0))
    assert quiet is not None and float(quiet.split()[-2]) < -60, quiet
    assert wf.readout(1.0, 5.0) is None  # the future is not drawn


def test_status_bar_reports_the_pipeline(make_window, qtbot):
    window = make_window()
    qtbot.waitUntil(lambda: "fps" in window.status_fields[-1].text()
                    and window.status_fields[-1].text() != "0 fps", timeout=WAIT_MS)
    texts = " | ".join(label.text() for label in window.status_fields)
    for part in ("generator sine:1000", "48 kHz", "n_fft 2048 / hop 512", "10.7 ms/col",
                 "23.4 Hz/bin", "latency", "dropped 0"):
        assert part in texts, texts


# -- sources ----------------------------------------------------------------------------------

def test_source_change_rebuilds_the_pipeline(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window)
    old = window.pipeline
    window.controls.generator_edit.setText("sine:4000")
    qtbot.keyClick(window.controls.generator_edit, QtCore.Qt.Key.Key_Return)
    assert window.pipeline is not old and window.settings.generator == "sine:4000"
    assert not old.worker._thread
    qtbot.waitUntil(lambda: abs(window.waterfall.rows.hz_at(bright_row(window) + 0.5) - 4000) < 100,
                    timeout=WAIT_MS)


def test_file_source_from_the_panel(make_window, qtbot, tmp_path):
    """Choosing a file (what the file dialog hands over) plays it through the same window."""
    t = np.arange(48000 * 2) / 48000
    path = tmp_path / "tone.wav"
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * 2500 * t), 48000, subtype="PCM_16")
    window = make_window()
    wait_columns(qtbot, window)
    assert window.change_source({"input": str(path), "generator": None, "loop": True})
    assert window.pipeline.source.kind == "file" and window.settings.input == str(path)
    assert window.controls.source_combo.currentData() == ("file", None)
    qtbot.waitUntil(lambda: abs(window.waterfall.rows.hz_at(bright_row(window) + 0.5) - 2500)
                    < 100, timeout=WAIT_MS)
    assert "tone.wav" in window.status_fields[0].toolTip() or window.status_fields[0].text()


def test_a_lower_rate_file_resets_a_range_it_cannot_have(make_window, qtbot, tmp_path):
    """fmax 20 kHz from a 48 kHz source does not refuse a 16 kHz file: the range goes back to
    0 Hz … Nyquist, and the window says so."""
    t = np.arange(16000) / 16000
    path = tmp_path / "low.wav"
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * 1000 * t), 16000, subtype="PCM_16")
    window = make_window(fmax=20000.0, fmin=50.0)
    assert window.change_source({"input": str(path), "generator": None, "loop": True})
    assert window.pipeline.samplerate == 16000
    assert window.settings.fmax is None and window.settings.fmin == 0.0
    assert window.controls.fmax_spin.value() != 20000.0
    text = window.notice.label.text()
    assert window.notice.isVisible() and "fmax 20000 Hz" in text and "fmin 50 Hz" in text
    qtbot.waitUntil(lambda: window.waterfall.history.params.samplerate == 16000
                    and window.waterfall.history.head > 5, timeout=WAIT_MS)


def test_view_and_values_persist(make_window, qtbot, store):
    window = make_window()
    window.view_bar.axis_buttons["linear"].click()
    window.view_bar.value_buttons["power"].click()
    window.view_bar.buttons["spectrum"].click()
    window.close()
    assert store.value("values") == "power" and store.value("view") == "spectrum"
    again = make_window(**{k: v for k, v in store.load().items()
                           if k in ("scale", "colormap", "db_floor")})
    assert again.waterfall.value_mode == "power" and again.settings.scale == "linear"
    assert again.view_bar.buttons["spectrum"].isChecked()
    assert again.view_bar.axis_buttons["linear"].isChecked()
    assert again.view_bar.value_buttons["power"].isChecked()


def test_bad_source_keeps_the_old_one(make_window, qtbot, tmp_path):
    window = make_window()
    wait_columns(qtbot, window)
    old = window.pipeline
    assert not window.change_source({"input": str(tmp_path / "missing.wav"), "generator": None})
    assert window.pipeline is old and window.settings.generator == "sine:1000"
    assert window.problem_label.text()
    frames = window.frames_seen
    qtbot.waitUntil(lambda: window.frames_seen > frames, timeout=WAIT_MS)


def test_a_file_error_is_a_problem_not_a_lost_device(make_window, qtbot, tmp_path):
    """A file that cannot be read further (how FileSource reports it) has no device to retry:
    its error goes to the status bar and the notice, and the 'input lost' banner stays away."""
    t = np.arange(48000) / 48000
    path = tmp_path / "tone.wav"
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * 2500 * t), 48000, subtype="PCM_16")
    window = make_window()
    assert window.change_source({"input": str(path), "generator": None, "loop": True})
    wait_columns(qtbot, window, 5)
    window.pipeline.source.error = f"cannot read {path} further: unexpected end of data"
    qtbot.waitUntil(lambda: "cannot read" in window.problem_label.toolTip(), timeout=WAIT_MS)
    assert window.notice.isVisible() and "cannot read" in window.notice.label.text()
    assert not window.banner.isVisible()
    window.update_status()
    assert not window.banner.isVisible()


@pytest.mark.pulse
def test_input_lost_banner_rescans_and_retries(pulse_mic, qtbot):
    """A real microphone (the PulseAudio virtual one) dies: the banner shows; Retry while the
    server is away fails and the device list loses 'pulse'; once the server is back, Rescan
    offers it again and Retry on it brings the audio back."""
    session = Session({"device": "pulse", "samplerate": 48000.0, "channels": 1,
                       "classifier": False}, auto_retry=False)  # the buttons are tested here
    window = MainWindow(session)  # no store: nothing persisted
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.frames_seen > 0, timeout=WAIT_MS)
        assert not window.rescan_devices()  # refused while audio flows (it stops streams)
        pulse_mic.kill()
        qtbot.waitUntil(window.banner.isVisible, timeout=WAIT_MS)
        assert "Input lost" in window.banner.label.text()
        combo = window.banner.devices

        def pulse_index() -> int:
            return next((i for i in range(combo.count()) if combo.itemText(i).endswith(": pulse")),
                        -1)

        combo.setCurrentIndex(pulse_index())
        qtbot.mouseClick(window.banner.button, QtCore.Qt.MouseButton.LeftButton)
        assert window.banner.isVisible(), "Retry succeeded while the server was down"
        assert pulse_index() == -1  # re-read while the server was away
        pulse_mic.start()
        qtbot.mouseClick(window.banner.rescan_button, QtCore.Qt.MouseButton.LeftButton)
        assert pulse_index() >= 0, [combo.itemText(i) for i in range(combo.count())]
        combo.setCurrentIndex(pulse_index())
        seen = window.frames_seen
        qtbot.mouseClick(window.banner.button, QtCore.Qt.MouseButton.LeftButton)
        assert not window.banner.isVisible()
        qtbot.waitUntil(lambda: window.frames_seen > seen + 10, timeout=WAIT_MS)
    finally:
        window.close()
        assert window.wait_stopped(30)


def test_classifier_panel_and_activity_strip(qtbot, store):
    session = Session({"generator": "sine:1000"})
    classifier = session.open_classifier()
    assert classifier is not None, session.problems.get("classifier")
    window = MainWindow(session, store=store)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        view = window.classifier_view
        assert view is not None and window.activity_strip is not None
        assert window.activity_strip.isVisible()
        # The strip sits under the waterfall, as wide as its plot (colour bar excluded).
        strip_right = window.activity_strip.mapTo(window, window.activity_strip.rect().topRight())
        plot = window.waterfall.plot
        plot_right = plot.mapTo(window, plot.rect().topRight())
        assert abs(strip_right.x() - plot_right.x()) <= 2
        qtbot.waitUntil(lambda: getattr(view, "updates", 0) > 0, timeout=30_000)
    finally:
        window.close()
        session.close()


def test_no_classifier_says_so(make_window):
    window = make_window()
    assert window.classifier_view is None
    assert "classifier off" in window.classifier_label.text()


# -- settings persist -------------------------------------------------------------------------

def test_settings_persist_through_qsettings(make_window, qtbot, store):
    window = make_window()
    window.controls.colormap_combo.setCurrentIndex(window.controls.colormap_combo.findData("magma"))
    window.controls.db_floor_spin.setValue(-80.0)
    window.close()
    saved = store.load()
    assert saved["colormap"] == "magma" and saved["db_floor"] == -80.0
    session = Session({"db_floor": -90.0, "generator": "sine:1000"}, saved)
    assert session.settings.colormap == "magma" and session.settings.db_floor == -90.0
    assert "generator" not in saved and "hop" not in saved  # neither chosen nor kept
    store.clear()
    assert store.load() == {}


def test_command_line_values_are_not_saved_unless_changed(make_window, store):
    store.save({"colormap": "viridis"})
    session = Session({"colormap": "plasma", "generator": "sine:1000"}, store.load())
    assert session.settings.colormap == "plasma"
    assert session.saved_choices() == {"colormap": "viridis"}
    window = make_window(colormap="plasma")
    window.controls.scale_combo.setCurrentIndex(window.controls.scale_combo.findData("mel"))
    window.close()
    assert store.load()["scale"] == "mel" and "colormap" not in store.load()


def test_unusable_saved_values_are_dropped_alone(store):
    store.save({"colormap": "magma", "history": 30.0})
    store.qsettings.setValue("settings/n_fft", "1000")  # not a power of two
    store.qsettings.setValue("settings/fps", "not json")
    session = Session({"scale": "mel", "generator": "sine:1000", "classifier": False},
                      store.load())
    s = session.settings
    assert s.n_fft == 2048 and s.scale == "mel" and s.colormap == "magma" and s.history == 30.0
    assert "n_fft" in session.problems.top().text


def test_version_1_settings_keep_only_chosen_values(store):
    for name, value in {"n_fft": 2048, "hop": 512, "colormap": "magma", "n_mels": 128}.items():
        store.qsettings.setValue(f"settings/{name}", str(value) if name != "colormap"
                                 else '"magma"')
    assert store.load() == {"colormap": "magma"}


def test_close_stops_the_pipeline(make_window, qtbot):
    window = make_window()
    wait_columns(qtbot, window, 5)
    pipeline = window.pipeline
    window.close()
    assert window.wait_stopped(30)  # the stop runs off the GUI thread
    assert pipeline.worker._thread is None and not pipeline.source.active
    assert not window.timer.isActive()


# -- the command line -------------------------------------------------------------------------

def _run(args, tmp_path, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), **env_changes)
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)


def test_screenshot_cli(tmp_path):
    out = tmp_path / "shot.png"
    proc = _run(["--generator", "sine:1000", "--screenshot", str(out), "--duration", "2",
                 "--no-classifier"], tmp_path, QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 0, proc.stderr
    image = QtGui.QImage(str(out))
    assert not image.isNull() and (image.width(), image.height()) == (1280, 800)


@pytest.mark.parametrize("args", [["--input", "no-such-file.wav"], ["--generator", "bogus"],
                                  ["--n-fft", "1000"]])
def test_parameter_error_exits_2_with_one_line(tmp_path, args):
    proc = _run([*args, "--duration", "1", "--no-classifier"], tmp_path,
                QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spectromon: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_saved_range_never_blocks_a_valid_command_line(tmp_path):
    """A saved fmax above the Nyquist frequency of the source asked for is reset (exit 0, the
    notice on stderr and in the window); the same value typed on the command line is refused."""
    config = tmp_path / "config"
    saved = SettingsStore(path=str(config / "spectromon" / "spectromon.ini"))
    saved.save({"fmax": 20000.0})
    shot = tmp_path / "shot.png"
    args = ["--generator", "sine:1000", "--samplerate", "16000", "--duration", "1.5",
            "--no-classifier"]
    proc = _run([*args, "--screenshot", str(shot)], tmp_path, QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 0, proc.stderr
    assert "fmax 20000 Hz does not fit 16000 Hz audio" in proc.stderr
    assert "Traceback" not in proc.stderr
    # The choice is kept for sources that can have it.
    assert SettingsStore(path=str(config / "spectromon" / "spectromon.ini")).load()["fmax"] == 20000
    proc = _run([*args, "--fmax", "20000"], tmp_path, QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "fmax 20000 Hz is above the Nyquist" in lines[0], proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_closes_the_window_cleanly(tmp_path, sig):
    """A signal closes the window: exit 0, settings saved, the recording finalised."""
    wav = tmp_path / "rec.wav"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--generator", "sine:1000",
                             "--no-classifier", "--record", str(wav)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # Audio is flowing (the recording grows): the window is up or about to be.
        while not (wav.is_file() and wav.stat().st_size > 200_000):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the recording never started"
            time.sleep(0.05)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    info = sf.info(str(wav))
    assert info.samplerate == 48000 and info.frames > 48000 // 2
    assert list((tmp_path / "config").rglob("*.conf")) or list((tmp_path / "config").rglob("*.ini"))


def test_no_display_says_what_to_do(tmp_path):
    proc = _run(["--generator", "sine:1000", "--duration", "1", "--no-classifier"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--headless" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]
