"""The overview strip painted with QPainter (monitor.gui.overview.OverviewCanvas) under real Qt
(offscreen): its bins land at their session times and rows in the waterfall's colours, the level
line, the event and alert marks and the scroll-back cursor where their times say, the axes read
round frequencies and clock times, and a click or drag picks the time under the mouse."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtCore, QtGui  # noqa: E402

from monitor.dsp.features import AnalysisParams  # noqa: E402
from monitor.dsp.frequency_rows import FrequencyRows  # noqa: E402
from monitor.gui.axis_ticks import clock_ticks  # noqa: E402
from monitor.gui.overview import OverviewStrip  # noqa: E402
from monitor.gui.overview_canvas import LEVEL_COLOUR  # noqa: E402
from monitor.gui.theme import COLORS, apply_theme  # noqa: E402
from monitor.gui.waterfall import rgb32_table  # noqa: E402
from monitor.settings import Settings  # noqa: E402

PARAMS = AnalysisParams(48000.0, 2048, 512, "hann", 64, 0.0, 24000.0, False, "slaney")


def _rgb(colour: str) -> int:
    return QtGui.QColor(colour).rgb()  # 0xffRRGGBB


def _grab(widget) -> np.ndarray:
    """(h, w) uint32 0xffRRGGBB of a fresh render of ``widget``."""
    image = QtGui.QImage(widget.size(), QtGui.QImage.Format.Format_RGB32)
    widget.render(image)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits().asstring(image.bytesPerLine() * h), np.uint32)
    return data.reshape(h, -1)[:, :w] | np.uint32(0xFF000000)


@pytest.fixture
def strip(qtbot):
    apply_theme(QtGui.QGuiApplication.instance(), "dark", 1.0)
    rows = FrequencyRows(PARAMS, "linear")
    s = OverviewStrip(Settings(scale="linear", colormap="inferno", db_floor=-100.0,
                               db_ceil=0.0), rows)
    qtbot.addWidget(s)
    s.resize(700, OverviewStrip.HEIGHT)
    s.show()
    qtbot.waitExposed(s)
    return s


def _fill(strip, bins: int = 200) -> None:
    """``bins`` level-0 bins (64 frames each): quiet (-100 dB) in the first half, loud (0 dB)
    in the second, the RMS level at -50 dB (the middle of the colour scale)."""
    n = strip.rows.n_rows
    frames = np.full((64 * bins, n), -100.0, np.float32)
    frames[64 * bins // 2:] = 0.0
    strip.ltsa.push(frames)
    strip.level_ltsa.push(np.full((64 * bins, 1), -50.0, np.float32))
    strip._t_first = 0.0


def test_bins_land_at_their_times_in_the_waterfalls_colours(strip):
    _fill(strip)
    assert strip.refresh(force=True)
    canvas = strip.canvas
    r = canvas.plot_rect()
    span = 200 * 64 * PARAMS.seconds_per_frame
    assert canvas.x_range == pytest.approx((0.0, span))
    px = _grab(canvas)
    lut = rgb32_table("inferno")
    y = int(r.top() + 0.2 * r.height())  # clear of the level line (the middle)
    for frac, code in ((0.1, 0), (0.4, 0), (0.6, 255), (0.9, 255)):
        x = int(canvas.x_of(frac * span))
        assert px[y, x] == lut[code], (frac, hex(px[y, x]))
    # the level line at -50 dB: the middle of the rows, as the waterfall's colour scale
    y_mid = r.top() + 0.5 * r.height()
    column = px[int(r.top()):int(r.bottom()), int(canvas.x_of(0.25 * span))]
    on = np.flatnonzero(column == _rgb(LEVEL_COLOUR)) + int(r.top())
    assert len(on) and abs(on.mean() - y_mid) <= 1.5
    # outside the picture: the plot's background and the axes' colour, no picture
    left_axis = px[int(r.top()):int(r.bottom()), :int(r.left()) - 6]
    assert not np.isin(left_axis, [lut[0], lut[255]]).any()
    assert (left_axis == _rgb(COLORS["plot"])).mean() > 0.5
    assert (px[int(r.top()):int(r.bottom()), int(r.left()) - 1] == _rgb(COLORS["dim"])).all()


def test_marks_and_cursor_where_their_times_say(strip):
    _fill(strip)
    span = 200 * 64 * PARAMS.seconds_per_frame
    strip.set_events([0.2 * span], [0.7 * span])
    strip.refresh(force=True)
    canvas = strip.canvas
    r = canvas.plot_rect()
    top, bottom = int(r.top()) + 1, int(r.bottom()) - 1
    px = _grab(canvas)
    x_event, x_alert = int(canvas.x_of(0.2 * span)), int(canvas.x_of(0.7 * span))
    event = px[top:bottom, x_event - 1:x_event + 2]
    assert (event == _rgb(COLORS["accent"])).any(axis=1).mean() > 0.9  # the whole height
    alert = (px[top:bottom, x_alert - 2:x_alert + 3] == _rgb(COLORS["danger"])).any(axis=1)
    upper = int(0.4 * (bottom - top))  # alerts: the top 40 % only
    assert alert[:upper - 2].mean() > 0.9 and not alert[upper + 2:].any()
    assert not (px == _rgb(COLORS["trace"])).any()  # no cursor yet
    strip.show_cursor(0.45 * span)
    assert strip.cursor_time == 0.45 * span
    px = _grab(canvas)
    x_cursor = int(canvas.x_of(0.45 * span))
    cursor = (px[top:bottom, x_cursor - 1:x_cursor + 2] == _rgb(COLORS["trace"])).any(axis=1)
    assert cursor.mean() > 0.9
    strip.show_cursor(None)
    assert not (_grab(canvas) == _rgb(COLORS["trace"])).any()


def test_a_click_or_a_drag_picks_the_time_under_the_mouse(strip, qtbot):
    _fill(strip)
    strip.refresh(force=True)
    canvas = strip.canvas
    r = canvas.plot_rect()
    span = canvas.x_range[1]
    chosen = []
    strip.time_chosen.connect(chosen.append)
    y = int(r.center().y())
    at = QtCore.QPoint(int(canvas.x_of(0.3 * span)), y)
    qtbot.mouseClick(canvas, QtCore.Qt.MouseButton.LeftButton, pos=at)
    assert chosen and chosen[-1] == pytest.approx(canvas.time_at(at.x()))
    assert abs(chosen[-1] - 0.3 * span) <= span / r.width()
    qtbot.mousePress(canvas, QtCore.Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseMove(canvas, QtCore.QPoint(int(canvas.x_of(0.8 * span)), y))
    assert abs(chosen[-1] - 0.8 * span) <= span / r.width()  # dragged there
    qtbot.mouseRelease(canvas, QtCore.Qt.MouseButton.LeftButton,
                       pos=QtCore.QPoint(int(canvas.x_of(0.8 * span)), y))
    n = len(chosen)
    qtbot.mouseClick(canvas, QtCore.Qt.MouseButton.RightButton, pos=at)
    qtbot.mouseClick(canvas, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(5, y))  # axis
    assert len(chosen) == n


def test_before_its_first_picture_it_shows_its_text_alone(strip, qtbot):
    """No axis of no time with marks on it: the text, no marks, no tick labels, no picks."""
    canvas = strip.canvas
    strip.set_events([0.3], [0.7])  # events before any bin is drawn
    canvas.set_empty_text("the whole session is drawn here once it is longer than 10 s")
    assert canvas.is_empty
    px = _grab(canvas)
    assert not np.isin(px, [_rgb(COLORS["accent"]), _rgb(COLORS["danger"])]).any()
    r = canvas.plot_rect()
    text = px == _rgb(COLORS["dim"])
    inner = slice(int(r.left() + 0.3 * r.width()), int(r.right() - 0.3 * r.width()))
    middle = text[int(r.top()):int(r.bottom()), inner]
    assert middle.any()  # the text, centred
    assert not text[int(r.bottom()) + 2:].any()  # no time axis under it
    chosen = []
    strip.time_chosen.connect(chosen.append)
    qtbot.mouseClick(canvas, QtCore.Qt.MouseButton.LeftButton,
                     pos=QtCore.QPoint(int(r.center().x()), int(r.center().y())))
    assert chosen == []
    _fill(strip)
    strip.refresh(force=True)
    assert not canvas.is_empty
    px = _grab(canvas)
    assert (px == _rgb(COLORS["accent"])).any()  # the marks, now on the session's time


def test_clock_ticks_read_session_time():
    ticks = clock_ticks(0.0, 4000.0, 600.0)
    assert ticks[0] == (0.0, "0:00") and ticks[-1][0] <= 4000.0 and len(ticks) >= 3
    assert ("16:40" in dict(ticks).values()) or ("8:20" in dict(ticks).values())  # 1000 / 500 s
    labels = dict(clock_ticks(3590.0, 3610.0, 600.0))
    assert labels[3600.0] == "1:00:00" and labels[3595.0] == "59:55"
    fine = [text for _, text in clock_ticks(10.0, 11.0, 600.0)]
    assert fine[:3] == ["0:10.0", "0:10.2", "0:10.4"]  # the decimals the step needs
    assert clock_ticks(5.0, 5.0, 600.0) == [] and clock_ticks(0.0, 1.0, 0.0) == []


def test_the_axes_follow_the_ui_scale_and_the_theme(strip):
    _fill(strip)
    strip.refresh(force=True)
    canvas = strip.canvas
    small = canvas.plot_rect().height()
    strip.set_ui_scale(1.5)
    assert canvas.plot_rect().height() < small  # taller labels under the picture
    apply_theme(QtGui.QGuiApplication.instance(), "light", 1.0)
    try:
        px = _grab(canvas)
        assert px[canvas.height() - 1, 2] == _rgb(COLORS["plot"])  # the light background
    finally:
        apply_theme(QtGui.QGuiApplication.instance(), "dark", 1.0)


def test_strip_keeps_only_the_bins_a_screen_can_show(strip):
    """The strip's LTSA keeps levels of up to the widest desktop's width of bins (it draws the
    finest level with at most its own width of bins), so its memory is bounded by the screen,
    not 4096 bins whatever the screen (32 MiB at 512 rows)."""
    from monitor.gui.overview import MAX_KEEP_BINS, MIN_KEEP_BINS, drawable_bins

    widest = max(s.virtualSize().width() for s in QtGui.QGuiApplication.screens())
    keep = strip.ltsa.keep_bins
    assert keep == drawable_bins() == max(MIN_KEEP_BINS, min(MAX_KEEP_BINS, widest))
    assert strip.width_px() <= keep
    strip.ltsa.push(np.zeros((64 * 3 * keep, strip.rows.n_rows), np.float32))
    assert strip.ltsa.stored_bins <= 2 * keep
    assert strip.refresh(force=True)
    view = strip.ltsa.view(strip.width_px())
    assert strip.width_px() / 2 < len(view) <= strip.width_px()  # the finest that fits
