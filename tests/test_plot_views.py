"""The spectrum, scope and level meters as QPainter widgets: pixels where the curve, bar and
labels must be, and where they must not (real Qt offscreen, real analysis of generated audio).

Painting is checked twice: ``widget.grab()`` (a full paint) and the window's backing store
after the views repainted only what changed (``update_plot``; the meters' changed rows), which must
leave nothing stale behind.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets

from monitor.dsp.features import FeatureExtractor
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.gui.meters import LevelMeters
from monitor.gui.plot_canvas import PlotCanvas, Trace, column_envelope, linear_ticks, nice_ticks
from monitor.gui.scope import ScopeView
from monitor.gui.spectrum import SpectrumView
from monitor.gui.theme import COLORS, THEMES, apply_theme
from monitor.settings import Settings
from monitor.sources import GeneratorSource
from monitor.worker import AnalysisParams

SR = 48000


def _rgb(image: QtGui.QImage) -> np.ndarray:
    """(height, width, 3) uint8 of ``image``."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(h, image.bytesPerLine())[:, :3 * w] \
        .reshape(h, w, 3).copy()


def _is(rgb: np.ndarray, color: str) -> np.ndarray:
    """Mask of the pixels of ``rgb`` that are ``color`` (a '#rrggbb')."""
    c = QtGui.QColor(color)
    return np.all(rgb == (c.red(), c.green(), c.blue()), axis=-1)


def _backing_store(widget: QtWidgets.QWidget) -> np.ndarray:
    """What the window shows of ``widget`` now (its top-level's backing store), not a new
    paint of it."""
    top = widget.window()
    image = top.screen().grabWindow(top.winId()).toImage()
    origin = widget.mapTo(top, QtCore.QPoint(0, 0))
    return _rgb(image.copy(QtCore.QRect(origin, widget.size())))


def _settle(qtbot, widget) -> None:
    """Deliver the posted update requests: the views paint what they asked to."""
    QtWidgets.QApplication.processEvents()
    QtWidgets.QApplication.processEvents()


@pytest.fixture
def themed(qapp):
    apply_theme(qapp, "dark", 1.0)
    yield qapp
    apply_theme(qapp, "dark", 1.0)


def _host(qtbot, widget, w: int, h: int) -> QtWidgets.QWidget:
    host = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    qtbot.addWidget(host)
    host.resize(w, h)
    host.show()
    qtbot.waitExposed(host)
    widget.test_host = host  # the widget's parent lives as long as the widget's wrapper
    return host


# -- the pieces -------------------------------------------------------------------------------

def test_column_envelope_keeps_a_one_point_peak_and_two_points_per_column():
    px = np.linspace(0.0, 99.99, 2000)
    py = np.full(px.size, 50.0)
    py[1234] = 3.0  # one sample, far from the others: a narrow peak
    x, y = column_envelope(px, py, 100)
    assert x.size == 200 and y.size == 200  # two per column
    col = int(px[1234])
    assert y[2 * col:2 * col + 2].min() == 3.0  # its column keeps it
    assert np.all(y[np.arange(200) // 2 != col] == 50.0)
    np.testing.assert_array_equal(np.unique(np.floor(x)), np.arange(100))
    few = np.linspace(0, 99, 150)
    assert column_envelope(few, few, 100)[0] is few  # few points: drawn as they are


def test_nice_ticks_are_round_and_apart():
    ticks = nice_ticks(-100.0, 0.0, 130.0, 24.0)
    np.testing.assert_allclose(ticks, [-100, -80, -60, -40, -20, 0])
    assert list(nice_ticks(-50.0, 0.0, 230.0, 40.0)) == [-50, -40, -30, -20, -10, 0]
    assert list(nice_ticks(-1.04, 1.04, 120.0, 24.0)) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert nice_ticks(1.0, 1.0, 100.0).size == 0


def test_canvas_polygon_is_the_column_envelope_of_the_data(qtbot, themed):
    canvas = PlotCanvas("t", linear_ticks(), linear_ticks())
    host = _host(qtbot, canvas, 300, 150)
    canvas.set_x_range(0, 1000)
    canvas.set_y_range(-1, 1)
    trace = canvas.add_trace(Trace("trace"))
    x = np.arange(1000.0)
    y = np.sin(x / 7.0) * np.where(x == 500, 1.0, 0.3)
    trace.setData(x, y)
    poly = canvas.polygon(trace)
    got = np.array([(poly[i].x(), poly[i].y()) for i in range(len(poly))])
    px, py = canvas.to_pixels(x, y)
    ex, ey = column_envelope(px, py, int(canvas.plot_rect().width()))
    np.testing.assert_allclose(got[:, 0], ex)
    np.testing.assert_allclose(got[:, 1], ey)
    assert host.isVisible()


# -- the spectrum ----------------------------------------------------------------------------

def _spectrum_frame(scale: str, tone: str):
    settings = Settings(scale=scale, n_fft=4096, hop=1024)
    params = AnalysisParams.from_settings(settings, SR)
    rows = FrequencyRows(params, scale)
    batch = FeatureExtractor(params).process(GeneratorSource(tone, SR).render(16384)[:, 0])
    return settings, rows, rows.rows(batch)[-1]


@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_spectrum_draws_the_peak_where_it_is_and_nothing_above_the_floor_elsewhere(
        qtbot, themed, scale):
    settings, rows, frame = _spectrum_frame(scale, "sine:1000@-12")
    view = SpectrumView(settings, rows)
    _host(qtbot, view, 600, 220)
    view.set_range_mode("0 … −100 dB")
    view.update_frame(frame, 0.0)
    _settle(qtbot, view)
    rgb = _rgb(view.grab().toImage())
    trace = _is(rgb, COLORS["trace"]) | _is(rgb, COLORS["hold"])
    r = view.plot_rect()
    x1k = int(view.to_pixels([rows.y_at(1000.0)], [0])[0][0])
    y12 = float(view.to_pixels([0], [-12.0])[1][0])
    band = trace[:, x1k - 2:x1k + 3]
    top = np.flatnonzero(band.any(axis=1)).min()
    assert abs(top - y12) <= 3, (top, y12)  # the peak reaches -12 dBFS, in its column
    # Far from the tone (5-15 kHz) the curve stays near the bottom: nothing above -60 dB.
    x5k, x15k = (int(view.to_pixels([rows.y_at(f)], [0])[0][0]) for f in (5000.0, 15000.0))
    y60 = int(view.to_pixels([0], [-60.0])[1][0])
    assert not trace[int(r.top()):y60, x5k:x15k].any()
    # Nothing is drawn outside the plot area (the axes and labels are there).
    assert not trace[:, :int(r.left()) - 1].any()
    assert "peak" in view.title() and "B5" in view.title()


def test_spectrum_repaints_its_plot_only_and_leaves_nothing_stale(qtbot, themed):
    settings, rows, loud = _spectrum_frame("linear", "sine:1000@-6")
    _, _, other = _spectrum_frame("linear", "sine:8000@-6")
    view = SpectrumView(settings, rows)
    view.peak_hold.hold, view.peak_hold.decay = 0.0, 1e6  # no hold line left at 1 kHz
    _host(qtbot, view, 600, 220)
    view.set_range_mode("0 … −100 dB")
    view.update_frame(loud, 0.0)
    _settle(qtbot, view)
    x1k = int(view.to_pixels([rows.y_at(1000.0)], [0])[0][0])
    x8k = int(view.to_pixels([rows.y_at(8000.0)], [0])[0][0])
    y30 = int(view.to_pixels([0], [-30.0])[1][0])
    r = view.plot_rect()

    def lit(rgb, x):
        m = _is(rgb, COLORS["trace"]) | _is(rgb, COLORS["hold"])
        return m[int(r.top()) + 1:y30, x - 2:x + 3].any()

    shown = _backing_store(view)
    assert lit(shown, x1k) and not lit(shown, x8k)
    view.update_frame(other, 1.0)  # the tone moved: 1 kHz must be dark again
    _settle(qtbot, view)
    shown = _backing_store(view)
    assert lit(shown, x8k) and not lit(shown, x1k)


def test_spectrum_readout_and_leave(qtbot, themed):
    settings, rows, frame = _spectrum_frame("log", "sine:1000@-12")
    view = SpectrumView(settings, rows)
    _host(qtbot, view, 600, 220)
    view.update_frame(frame, 0.0)
    seen = []
    view.cursor_moved.connect(seen.append)
    x = int(view.to_pixels([rows.y_at(1000.0)], [0])[0][0])
    y = int(view.plot_rect().center().y())

    def move(px, py):
        pos = QtCore.QPointF(px, py)
        QtWidgets.QApplication.sendEvent(view, QtGui.QMouseEvent(
            QtCore.QEvent.Type.MouseMove, pos, view.mapToGlobal(pos),
            QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton,
            QtCore.Qt.KeyboardModifier.NoModifier))

    move(x, y)
    text = seen[-1]  # 'f 997 Hz   B5 +16c   -12.6 dB   (cursor -50 dB)': a pixel from 1 kHz
    hz = float(text.split()[1]) * (1000 if text.split()[2] == "kHz" else 1)
    assert abs(hz - 1000) < 10 and "B5" in text and -14 < float(text.split()[-5]) < -11, text
    move(2, 2)  # over the title, outside the plot: no readout
    assert seen[-1] == ""
    move(x, y)
    QtWidgets.QApplication.sendEvent(view, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert seen[-1] == ""


def test_spectrum_follows_theme_scale_and_units(qtbot, themed):
    settings, rows, frame = _spectrum_frame("mel", "sine:1000@-12")
    view = SpectrumView(settings, rows)
    _host(qtbot, view, 600, 240)
    view.update_frame(frame, 0.0)
    rect = view.plot_rect()
    apply_theme(themed, "light", 1.0)
    view.set_ui_scale(2.0)
    rgb = _rgb(view.grab().toImage())
    assert _is(rgb[2:6, 2:6], THEMES["light"]["plot"]).all()  # the background is the theme's
    assert view.plot_rect().left() > rect.left()  # bigger labels, wider axis
    # Two-pixel lines: a column through the tone's curve has a run of at least 2 trace pixels.
    trace = _is(rgb, THEMES["light"]["trace"])
    x = int(view.to_pixels([rows.y_at(1000.0) + 3], [0])[0][0])
    assert trace[:, x - 1:x + 2].sum() >= 4
    view.set_level_units("dB(A)FS, mic-corrected")
    assert view.label("left") == "level (dB(A)FS, mic-corrected)"
    assert view.level_units == "dB(A)FS, mic-corrected"


# -- the scope --------------------------------------------------------------------------------

def test_scope_draws_the_waveform_between_its_peaks(qtbot, themed):
    settings = Settings(scope_ms=20.0)
    view = ScopeView(settings)
    _host(qtbot, view, 400, 220)
    samples = GeneratorSource("sine:1000@-6", SR).render(960)[:, 0]  # 20 ms, peak 0.5
    assert view.update_scope(samples, SR)
    _settle(qtbot, view)
    for rgb in (_rgb(view.grab().toImage()), _backing_store(view)):
        wave = _is(rgb, COLORS["ok"])
        r = view.plot_rect()
        rows_lit = np.flatnonzero(wave.any(axis=1))
        y_hi, y_lo = (float(view.to_pixels([0], [v])[1][0]) for v in (0.5, -0.5))
        assert abs(rows_lit.min() - y_hi) <= 2 and abs(rows_lit.max() - y_lo) <= 2
        cols = np.flatnonzero(wave.any(axis=0))
        assert cols.min() <= r.left() + 3 and cols.max() >= r.right() - 3  # the whole span
    x, y = view.curve.getData()
    assert x.min() == pytest.approx(-20.0, abs=0.1) and x.max() == pytest.approx(0.0)
    assert view.view_range()[0] == [-20.0, 0.0]
    quiet = samples * 0.1  # a new array, -26 dBFS: the old peaks must go
    assert view.update_scope(quiet, SR)
    _settle(qtbot, view)
    wave = _is(_backing_store(view), COLORS["ok"])
    y_hi = float(view.to_pixels([0], [0.2])[1][0])
    assert not wave[:int(y_hi)].any()


# -- the meters -------------------------------------------------------------------------------

def test_meters_bars_numbers_and_repaint_of_the_levels_only(qtbot, themed):
    meters = LevelMeters(Settings())
    _host(qtbot, meters, 104, 400)
    meters.update_levels(-6.0, -9.0, 0.0, 0, None)
    _settle(qtbot, meters)
    top, bottom = meters._span(meters.state)
    x_pk = int(meters.X_PK + meters.BAR_W / 2)
    x_rms = int(meters.X_RMS + meters.BAR_W / 2)
    unlit = "#181b20"

    def bar_top(rgb, x):
        col = rgb[int(top):int(bottom), x]
        lit = ~_is(col, unlit)
        return int(top) + int(np.flatnonzero(lit).min())

    for rgb in (_rgb(meters.grab().toImage()), _backing_store(meters)):
        assert abs(bar_top(rgb, x_rms) - meters._y(-9.0, top, bottom)) <= 2
        # The peak bar's top is the hold line (accent colour) at -6 dB.
        assert abs(bar_top(rgb, x_pk) - meters._y(-6.0, top, bottom)) <= 2
        assert _is(rgb[:, int(meters.X_PK):int(meters.X_PK + meters.BAR_W)],
                   COLORS["accent"]).any()
        assert _is(rgb[int(top) - 16:int(top) - 2], COLORS["text"]).any()  # the numbers
    # Quieter: the RMS bar falls; the repaint (levels only) leaves no stale lit pixels.
    meters.update_levels(-40.0, -40.0, 10.0, 0, None)
    _settle(qtbot, meters)
    shown = _backing_store(meters)
    assert abs(bar_top(shown, x_rms) - meters._y(-40.0, top, bottom)) <= 2
    # The hold expired (10 s later): its line moved down with the peak, none left at -6 dB.
    pk = shown[:, int(meters.X_PK):int(meters.X_PK + meters.BAR_W)]
    y6 = int(meters._y(-6.0, top, bottom))
    assert not _is(pk[y6 - 3:y6 + 4], COLORS["accent"]).any()
    assert abs(bar_top(shown, x_pk) - meters._y(-40.0, top, bottom)) <= 2
    # Louder again: both bars grow back.
    meters.update_levels(-3.0, -5.0, 10.05, 0, None)
    _settle(qtbot, meters)
    shown = _backing_store(meters)
    assert abs(bar_top(shown, x_pk) - meters._y(-3.0, top, bottom)) <= 2
    assert abs(bar_top(shown, x_rms) - meters._y(-5.0, top, bottom)) <= 2
    # The hold line falls on its own once the hold ends, 15 dB above the falling bar: each
    # partial repaint must clear where it was.
    meters.state.hold.hold = 0.5
    for i in range(11):
        meters.update_levels(-10.0 if i == 0 else -90.0, -90.0, 20.0 + 0.1 * i, 0, None)
        _settle(qtbot, meters)
    held = meters.state.held
    assert -30 < held < -20 and meters.state.peak < held - 10
    pk = _backing_store(meters)[:, int(meters.X_PK):int(meters.X_PK + meters.BAR_W)]
    accent = np.flatnonzero(_is(pk, COLORS["accent"]).any(axis=1))
    assert accent.size and abs(accent.mean() - meters._y(held, top, bottom)) <= 2, accent
    # Clipping lights the clip box.
    meters.update_levels(0.0, -3.0, 10.1, 1, 12.0)
    _settle(qtbot, meters)
    shown = _backing_store(meters)
    assert _is(shown[4:20, int(meters.X_PK):int(meters.X_PK) + 10], COLORS["danger"]).any()
    assert _is(shown[-16:], COLORS["accent"]).any()  # the gain line


def test_peak_hold_holds_then_falls_at_its_rate():
    from monitor.gui.spectrum import PeakHold, auto_range

    hold = PeakHold(hold=1.0, decay=20.0)
    first = hold.update(np.array([-10.0, -50.0], np.float32), 0.0).copy()
    np.testing.assert_array_equal(first, [-10.0, -50.0])
    held = hold.update(np.array([-60.0, -40.0], np.float32), 0.5)
    np.testing.assert_array_equal(held, [-10.0, -40.0])  # held; the higher one taken
    held = hold.update(np.array([-60.0, -60.0], np.float32), 1.25)
    # -10 set at 0 s expired (1.25 > 1): falls 20 dB/s × 0.75 s; -40 set at 0.5 s still holds
    np.testing.assert_allclose(held, [-25.0, -40.0])
    held = hold.update(np.array([-60.0, -60.0], np.float32), 2.0)
    np.testing.assert_allclose(held, [-40.0, -55.0])
    assert auto_range(np.array([-12.0, -80.0])) == (-100.0, 0.0)
    assert auto_range(np.array([-np.inf, -3.0])) == (-90.0, 10.0)
    assert auto_range(np.array([-np.inf])) == (-90.0, 10.0)


def test_spectrum_range_back_and_forth_draws_each_range_anew(qtbot, themed):
    """The backgrounds kept per level range: the same range looks the same, another differs."""
    settings, rows, frame = _spectrum_frame("mel", "sine:1000@-12")
    view = SpectrumView(settings, rows)
    _host(qtbot, view, 600, 220)
    view.update_frame(frame, 0.0)
    view.set_range_mode("0 … −60 dB")
    a = _rgb(view.grab().toImage())
    view.set_range_mode("+20 … −140 dB")
    b = _rgb(view.grab().toImage())
    view.set_range_mode("0 … −60 dB")
    again = _rgb(view.grab().toImage())
    left = int(view.plot_rect().left()) - 2  # the tick labels
    assert not np.array_equal(a[:, :left], b[:, :left])
    np.testing.assert_array_equal(a, again)
    assert view.view_range()[1] == [-60.0, 0.0]
