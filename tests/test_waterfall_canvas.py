"""The waterfall's plain-QWidget canvas and the activity strip under real Qt (offscreen): each
column's colour lands where its time and frequency say, a scrolled picture on the backing store
is the one a whole repaint draws, and the strip's cells sit on the waterfall's time axis."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtCore, QtGui, QtWidgets  # noqa: E402

from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.gui.activity_strip import PATCH_CENTRE, PATCH_HOP, STRIP_COLOURS, ActivityStrip  # noqa: E402
from monitor.gui.theme import THEMES, apply_theme  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

FS = 48000


def _pixels(image: QtGui.QImage) -> np.ndarray:
    """(h, w) uint32 0xffRRGGBB of ``image``."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits().asstring(image.bytesPerLine() * h), np.uint32)
    return data.reshape(h, -1)[:, :w] | np.uint32(0xFF000000)


def _on_screen(widget: QtWidgets.QWidget, rect: QtCore.QRect) -> np.ndarray:
    """What the backing store holds for ``rect`` of ``widget`` (not a fresh repaint)."""
    app = QtWidgets.QApplication.instance()
    app.processEvents()
    top = widget.window()
    shot = app.primaryScreen().grabWindow(top.winId()).toImage()
    return _pixels(shot.copy(rect.translated(widget.mapTo(top, QtCore.QPoint()))))


def _waterfall(qtbot, spec: str, **fields) -> tuple[Waterfall, FeatureExtractor, GeneratorSource]:
    settings = Settings(n_fft=2048, hop=512, scale="mel", history=4.0, **fields)
    params = AnalysisParams.from_settings(settings, FS)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    wf.resize(900, 420)
    wf.show()
    qtbot.waitExposed(wf)
    return wf, FeatureExtractor(params), GeneratorSource(spec, FS)


@pytest.mark.parametrize("orientation", ["horizontal", "vertical"])
def test_a_column_is_drawn_in_its_colour_at_its_time_and_frequency(qtbot, orientation):
    wf, ex, source = _waterfall(qtbot, "sine:1000@-10", orientation=orientation)
    wf.push(ex.process(source.render(2 * FS)[:, 0]))  # 2 s of a 4 s history
    wf.draw(wf.latest_time)
    canvas = wf.canvas
    grab = _pixels(canvas.grab().toImage())
    lut = wf._lut32
    codes = wf.displayed_image()
    row = wf.rows.row_of(1000.0)
    width = wf.history.width
    for column in (width - 3, width - 40):
        p = canvas.image_to_widget(column + 0.5, row + 0.5).toPoint()
        assert grab[p.y(), p.x()] == lut[codes[row, column]], (column, p)
        assert codes[row, column] > 200  # the tone: bright
    # Far from the tone the same column is dark, in its own (different) colour.
    quiet = wf.rows.row_of(8000.0)
    p = canvas.image_to_widget(width - 3 + 0.5, quiet + 0.5).toPoint()
    assert grab[p.y(), p.x()] == lut[codes[quiet, width - 3]] != lut[codes[row, width - 3]]
    # The older half of the history has no columns yet: the floor's colour, on the tone's row too.
    p = canvas.image_to_widget(10.5, row + 0.5).toPoint()
    assert codes[row, 10] == 0 and grab[p.y(), p.x()] == lut[0]
    # The time axis: the newest column ends at the picture's edge (time 0 at the right or top).
    x, y = canvas.image_to_view(width, row)
    assert (y if orientation == "vertical" else x) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("orientation", ["horizontal", "vertical"])
def test_a_scrolled_picture_is_what_a_whole_repaint_draws(qtbot, orientation):
    """The ticks move the pixels already on screen and paint only what is new; the result on
    the backing store matches a fresh paint of the whole picture (a column's or a row's edge may
    fall one pixel either way: the scaled blit rounds from where each paint starts)."""
    wf, ex, source = _waterfall(qtbot, "sweep:200-8000:2@-10", orientation=orientation)
    wf.push(ex.process(source.render(3 * FS)[:, 0]))
    t = wf.latest_time - 0.05
    wf.draw(t)
    QtWidgets.QApplication.instance().processEvents()
    scrolls = wf.canvas.scrolls
    for i in range(90):  # 1.5 s at 60 ticks/s, a block of audio every third tick
        if i % 3 == 0:
            wf.push(ex.process(source.render(1024)[:, 0]))
        t += 1.0 / 60
        wf.draw(t)
        QtWidgets.QApplication.instance().processEvents()
    assert wf.canvas.scrolls - scrolls >= 60  # the ticks scrolled, not repainted
    rect = wf.canvas.plot_rect().toAlignedRect()
    screen = _on_screen(wf.canvas, rect)
    fresh = _pixels(wf.canvas.grab(rect).toImage())
    assert screen.shape == fresh.shape
    same = screen == fresh
    near = same.copy()
    for dy in (-1, 0, 1):  # the fresh pixel or one of its 8 neighbours
        for dx in (-1, 0, 1):
            near |= screen == np.roll(fresh, (dy, dx), (0, 1))
    assert near.all(), np.argwhere(~near)[:5]
    assert same.mean() > 0.97
    # And the picture moved: what the newest columns show is the sweep's newest frequency.
    assert len(np.unique(screen)) > 20


def _strip_beside(qtbot, wf: Waterfall) -> tuple[QtWidgets.QWidget, ActivityStrip]:
    """The strip under the waterfall as the window lays it out: as wide as the waterfall's
    canvas, its cells starting where the canvas's picture does."""
    box = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(wf, 1)
    row = QtWidgets.QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    strip = ActivityStrip(wf.settings.history)
    strip.span_source = lambda: wf.time_span
    row.addWidget(strip, 1)
    row.addItem(QtWidgets.QSpacerItem(wf.color_bar.width(), 0))
    layout.addLayout(row)
    qtbot.addWidget(box)
    box.resize(900, 480)
    box.show()
    qtbot.waitExposed(box)
    return box, strip


def test_the_strip_cells_sit_on_the_waterfall_time_axis_and_scroll_with_it(qtbot):
    apply_theme(QtWidgets.QApplication.instance(), "dark")
    settings = Settings(n_fft=2048, hop=512, scale="mel", history=4.0)
    params = AnalysisParams.from_settings(settings, FS)
    wf = Waterfall(settings, params)
    ex, source = FeatureExtractor(params), GeneratorSource("sine:1000", FS)
    box, strip = _strip_beside(qtbot, wf)
    wf.push(ex.process(source.render(5 * FS)[:, 0]))
    now = wf.latest_time
    # One class, one patch over its threshold 2 s before the displayed time.
    start = now - 2.0 - PATCH_CENTRE
    strip.set_data(("Dog",), np.array([start - PATCH_HOP, start, start + PATCH_HOP]),
                   np.array([[0.0], [0.9], [0.0]], np.float32), np.array([0.5], np.float32),
                   np.array([False]))
    app = QtWidgets.QApplication.instance()
    colour = QtGui.QColor(*[int(c) for c in STRIP_COLOURS[0]]).rgb()
    for shown in (now, now + 0.4):
        t = shown
        for _ in range(24):  # ticks: the strip scrolls to ``shown``
            t += 1.0 / 60
            wf.draw(t)
            strip.place(t)
            app.processEvents()
        rect = strip.plot_rect().toAlignedRect()
        screen = _on_screen(strip, rect)
        lit = np.flatnonzero((screen == colour).any(axis=0))
        assert lit.size, "the patch over its threshold is not drawn in its colour"
        left = strip.mapTo(box, QtCore.QPoint(rect.x() + int(lit[0]), 0)).x()
        right = strip.mapTo(box, QtCore.QPoint(rect.x() + int(lit[-1]) + 1, 0)).x()
        # The waterfall draws the same times at the same x.
        cell = start + PATCH_CENTRE - t  # the lit cell's left edge, on the axis (s)
        x0 = wf.canvas.mapTo(box, wf.canvas.view_to_widget(cell, 0).toPoint()).x()
        x1 = wf.canvas.mapTo(box, wf.canvas.view_to_widget(cell + PATCH_HOP, 0).toPoint()).x()
        assert abs(left - x0) <= 1 and abs(right - x1) <= 1, (left, x0, right, x1)
        # And the scrolled strip is what a whole repaint draws.
        fresh = _pixels(strip.grab(rect).toImage())
        assert (screen == fresh).mean() > 0.98
    assert strip.scrolls > 10
    assert "Dog" in strip._names


def test_the_light_theme_and_ui_scale_reach_the_canvas(qtbot):
    app = QtWidgets.QApplication.instance()
    wf, ex, source = _waterfall(qtbot, "sine:1000")
    try:
        apply_theme(app, "light", 2.0)
        wf.set_ui_scale(2.0)
        assert wf.canvas.tick_font.pointSizeF() == pytest.approx(16.0)
        grab = _pixels(wf.canvas.grab().toImage())
        corner = wf.canvas.height() - 2  # under the time axis: the plot background
        assert grab[corner, 2] == QtGui.QColor(THEMES["light"]["plot"]).rgb()
        assert wf.canvas.bottom_height() > 50  # room for the larger labels
    finally:
        apply_theme(app, "dark", 1.0)
