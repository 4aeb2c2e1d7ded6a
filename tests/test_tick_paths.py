"""The display tick's cheaper paths draw what the plain ones drew (real Qt offscreen, real
analysis of generated audio): the spectrum's kept buffers, its row look-up, its peak hold in
place, the detector marks' path without marks."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtGui  # noqa: E402

from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.dsp.frequency_rows import FrequencyRows  # noqa: E402
from monitor.gui.spectrum import PeakHold, RowLookup, SpectrumView, auto_range  # noqa: E402
from monitor.gui.theme import apply_theme  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

SR = 48000


@pytest.mark.parametrize("scale", ["linear", "log", "mel"])
def test_row_lookup_is_row_of_everywhere_and_at_the_edges(scale):
    params = AnalysisParams.from_settings(Settings(n_fft=4096, hop=1024, scale=scale), SR)
    rows = FrequencyRows(params, scale)
    lookup = RowLookup(rows)
    edges = rows.hz_at(np.arange(rows.n_rows + 1))
    hz = np.concatenate([
        np.random.default_rng(1).uniform(0, SR / 2, 5000), edges,
        np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf),
        [0.0, 1e-6, -5.0, SR, 1e9]])
    got = [lookup.row_of(float(f)) for f in hz]
    want = [rows.row_of(float(f)) for f in hz]
    assert got == want


def _reference_hold(frames, times, hold=1.0, decay=20.0):
    """The peak hold as it was written before (new arrays at each step)."""
    values = since = None
    last = 0.0
    for current, now in zip(frames, times):
        current = np.asarray(current, np.float32)
        if values is None:
            values, since = current.copy(), np.full(current.shape, now)
        else:
            dt = max(0.0, now - last)
            values = np.where(now - since > hold, values - np.float32(decay * dt), values)
            higher = current >= values
            values = np.where(higher, current, values).astype(np.float32)
            since = np.where(higher, now, since)
        last = now
    return values


def test_peak_hold_in_place_and_auto_range_match_the_plain_ones():
    rng = np.random.default_rng(2)
    frames = (rng.random((200, 64)) * -90).astype(np.float32)
    frames[50:60, 10] = -3.0  # a peak that holds, then falls
    times = np.arange(200) / 30.0
    hold = PeakHold(1.0)
    for current, now in zip(frames, times):
        held = hold.update(current, float(now))
    np.testing.assert_array_equal(held, _reference_hold(frames, times))
    assert held is hold.values  # updated in place
    for held in (frames[0], frames[0] + 40, np.full(3, -np.inf, np.float32),
                 np.array([np.nan, -20.0], np.float32)):
        assert auto_range(held) == _reference_range(held)


def _reference_range(held: np.ndarray) -> tuple:
    """auto_range as it was, through ``held.max()``."""
    top = float(held.max()) if held.size else 0.0
    if not math.isfinite(top):
        finite = held[np.isfinite(held)]
        top = float(finite.max()) if finite.size else 0.0
    ceil = min(20.0, max(-60.0, math.ceil((top + 6.0) / 10.0) * 10.0))
    return ceil - 100.0, ceil


def _frames(n: int) -> tuple:
    settings = Settings(n_fft=4096, hop=1024, scale="mel")
    params = AnalysisParams.from_settings(settings, SR)
    rows = FrequencyRows(params, "mel")
    audio = GeneratorSource("pink@-20", SR).render(params.hop * (n + 4) + params.n_fft)[:, 0]
    return settings, rows, rows.rows(FeatureExtractor(params).process(audio))[:n]


def test_spectrum_kept_buffers_draw_the_newest_frame(qtbot):
    """The curves' y arrays are reused from frame to frame: after each frame the backing store
    holds what a view given new arrays of the same values draws."""
    apply_theme(QtGui.QGuiApplication.instance())
    settings, rows, db = _frames(12)
    view = SpectrumView(settings, rows)
    qtbot.addWidget(view)
    view.resize(495, 181)
    view.show()
    qtbot.waitExposed(view)
    ys = []
    for i, frame in enumerate(db):
        view.update_frame(frame.copy(), i / 30.0, (frame + 1.0).astype(np.float32), 1000.0)
        qtbot.wait(1)
        ys.append(view.curve.getData()[1])
        floor = min(view.level_range[0], settings.db_floor) - 10
        np.testing.assert_array_equal(view.curve.getData()[1], np.maximum(frame, floor))
    assert ys[0] is ys[-1]  # one kept array
    kept = view.grab().toImage()
    # The same values in new arrays, as before the change: the same pixels.
    x, y = view.curve.getData()
    hx, hy = view.hold_curve.getData()
    view.curve.setData(x, y.copy())
    view.hold_curve.setData(hx, hy.copy())
    fresh = view.grab().toImage()
    assert kept == fresh
    # And the curve is there: pixels of the trace colour in the plot area.
    from monitor.gui.theme import COLORS

    want = QtGui.QColor(COLORS["trace"]).rgb()
    r = view.plot_rect().toAlignedRect()
    found = sum(kept.pixel(px, py) == want for px in range(r.left(), r.right(), 3)
                for py in range(r.top(), r.bottom()))
    assert found > 20
    # The peak in the title is the newest frame's level at the row holding 1000 Hz.
    assert view.peak == (1000.0, float(db[-1][rows.row_of(1000.0)]))


def test_marks_path_without_marks_keeps_the_position(qtbot):
    """Placing with no mark takes a short path; a mark added later lands where the full path
    puts it."""
    settings = Settings(history=2.0)
    params = AnalysisParams.from_settings(settings, SR)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    wf.resize(900, 400)
    wf.show()
    ex = FeatureExtractor(params)
    source = GeneratorSource("sine:1000@-20", SR)
    wf.push(ex.process(source.render(SR)[:, 0]))
    wf.draw(wf.latest_time)
    marks = wf.detector_marks
    for _ in range(10):
        wf.push(ex.process(source.render(SR // 10)[:, 0]))
        wf.draw(wf.latest_time)
        assert not marks.isVisible()
    quick = marks.pos().x()
    marks._stale = True  # the full path once more
    marks.place(*marks._geometry)
    assert marks.pos().x() == quick
    marks.add([(wf.latest_time - 0.5, "clipping")])
    (column, kind), = marks.columns()
    h = wf.history
    ends = h.column_end_time(np.arange(h.head - h.width, h.head))
    assert kind == "clipping" and abs(column - int(np.searchsorted(ends, wf.latest_time - 0.5))) <= 1
    assert marks.isVisible()


def test_strip_fewer_cells_at_the_same_place_leave_background(qtbot):
    """The image's bounds are kept with the cells' transform: new scores with fewer cells from
    the same grid start (the transform unchanged) must fill the background where the old,
    longer image was (the screen keeps what is not painted over)."""
    from PyQt6 import QtGui

    from monitor.gui.activity_strip import PATCH_HOP, ActivityStrip

    strip = ActivityStrip(10.0)
    qtbot.addWidget(strip)
    strip.resize(800, strip.sizeHint().height())
    strip.show()
    qtbot.waitExposed(strip)
    now = 100.0
    n = 8  # 16 cells (7.68 s), then 8 (3.84 s): all within the 10 s axis
    args = (np.array([0.5], np.float32), np.array([False]))
    grid = now - 10.0 + PATCH_HOP * np.arange(2 * n)
    strip.set_data(("Dog",), grid, np.ones((2 * n, 1), np.float32), *args)
    strip.place(now)
    qtbot.wait(5)

    def screen() -> QtGui.QImage:
        return QtGui.QGuiApplication.primaryScreen().grabWindow(int(strip.winId())).toImage()

    r = strip.plot_rect()
    y = int(r.center().y())
    late = int(strip.time_to_widget(grid[int(1.5 * n)] + PATCH_HOP / 2 - now))
    early = int(strip.time_to_widget(grid[n // 2] + PATCH_HOP / 2 - now))
    assert r.left() < early < late < r.right()
    lit = screen().pixel(late, y)
    assert lit != strip.background.rgb() and screen().pixel(early, y) == lit
    strip.set_data(("Dog",), grid[:n], np.ones((n, 1), np.float32), *args)
    qtbot.wait(5)
    image = screen()
    assert image.pixel(late, y) == strip.background.rgb()  # the old cell is gone
    assert image.pixel(early, y) == lit

