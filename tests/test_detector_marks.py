"""The detector marks on the waterfall, under real Qt (offscreen): placed at their events'
columns, scrolling with the picture, gone with the history, and drawn in their colours; fed
through the real session from a WAV file with a known clip and a known lost buffer."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from PyQt6 import QtCore, QtGui  # noqa: E402

from gui_helpers import ExceptionRecorder  # noqa: E402
from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.gui.detector_marks import LEGEND, MARK_COLORS, lane  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

WAIT_MS = 30000
FS = 48000


def _expected_column(wf: Waterfall, t: float) -> int:
    """The picture column (0 = oldest shown) whose time span holds waterfall time ``t``: from
    the history's own column end times, not from the marks' arithmetic."""
    h = wf.history
    first = h.head - h.width
    ends = h.column_end_time(np.arange(first, h.head))
    return int(np.searchsorted(ends, t))  # the first column ending at or after t


def _mark_pixels(wf: Waterfall, kind: str, column: float) -> int:
    """Pixels of ``kind``'s exact colour within 4 px of the top of ``column`` in a grab."""
    rows = wf.history.rows.n_rows
    view = wf.canvas.image_to_widget(column + 0.5, sum(lane(kind, rows)) / 2).toPoint()
    image = wf.canvas.grab().toImage()
    want = QtGui.QColor(MARK_COLORS[kind]).rgb()
    found = 0
    for dx in range(-4, 5):
        for dy in range(-2, 3):
            x, y = view.x() + dx, view.y() + dy
            if 0 <= x < image.width() and 0 <= y < image.height() and image.pixel(x, y) == want:
                found += 1
    return found


def test_marks_sit_on_their_columns_scroll_and_leave_with_the_history(qtbot):
    settings = Settings(history=2.0)
    params = AnalysisParams.from_settings(settings, FS)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    wf.resize(900, 400)
    wf.show()
    ex = FeatureExtractor(params)
    source = GeneratorSource("sine:1000@-20", FS)
    wf.push(ex.process(source.render(FS)[:, 0]))  # 1 s
    wf.draw(wf.latest_time)
    assert "magenta = discontinuity" in wf.plot.toolTip() == LEGEND
    events = [(0.25, "clipping"), (0.5, "dropout"), (0.75, "discontinuity"), (0.9, "dc")]
    wf.detector_marks.add(events)
    placed = {k: c for c, k in wf.detector_marks.columns()}
    for t, kind in events:
        assert abs(placed[kind] - _expected_column(wf, t)) <= 1, kind
        qtbot.waitUntil(lambda k=kind: _mark_pixels(wf, k, placed[k]) > 0, timeout=5000)
    # Between the marks: no mark colour on the top edge.
    quiet = (placed["clipping"] + placed["dropout"]) // 2
    assert all(_mark_pixels(wf, kind, quiet) == 0 for kind in MARK_COLORS)
    # New columns scroll the marks with the picture, without rebuilding their lines.
    before = wf.detector_marks.columns()
    n = wf.push(ex.process(source.render(FS // 2)[:, 0]))
    wf.draw(wf.latest_time)
    after = wf.detector_marks.columns()
    assert [k for _, k in after] == [k for _, k in before]
    assert all(abs((c0 - n) - c1) <= 1 for (c0, _), (c1, _) in zip(before, after))
    for (c, kind), (t, _) in zip(after, events):
        assert abs(c - _expected_column(wf, t)) <= 1
    # 2 s of history: once 2.3 s more have passed, every mark has left and is forgotten.
    for _ in range(5):
        wf.push(ex.process(source.render(FS // 2)[:, 0]))
        wf.draw(wf.latest_time)
    assert wf.detector_marks.columns() == [] and not wf.detector_marks.isVisible()
    wf.detector_marks.add([(wf.latest_time - 0.1, "dc")])  # a new one shows at once
    assert [k for _, k in wf.detector_marks.columns()] == ["dc"]


def test_marks_of_a_new_source_follow_the_columns(qtbot):
    """A new source's stream time starts again at 0 while the waterfall's columns go on: the
    marks are put on the columns' time; an old stream's late event is discarded, counted."""
    settings = Settings(history=5.0)
    params = AnalysisParams.from_settings(settings, FS)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    first = FeatureExtractor(params).process(GeneratorSource("sine:500", FS).render(2 * FS)[:, 0])
    wf.push(first)
    wf.draw(wf.latest_time)
    second = FeatureExtractor(params).process(GeneratorSource("sine:500", FS).render(FS)[:, 0])
    assert second.first_frame == 0  # the new stream's frames start again
    wf.push(second)
    wf.draw(wf.latest_time)
    assert wf.detector_marks.offset == pytest.approx(len(first) * params.hop / FS)
    wf.detector_marks.add([(0.5, "dropout"), (2.9, "clipping")])  # new stream's 0.5 s; an old one
    placed = wf.detector_marks.columns()
    assert [k for _, k in placed] == ["dropout"] and wf.detector_marks.discarded == 1
    assert abs(placed[0][0] - _expected_column(wf, wf.detector_marks.offset + 0.5)) <= 1


def test_scroll_back_marks_again_what_left_the_live_history(qtbot):
    from monitor.detector_events import DetectorEvents

    settings = Settings(history=2.0)
    params = AnalysisParams.from_settings(settings, FS)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    ex = FeatureExtractor(params)
    source = GeneratorSource("sine:1000@-20", FS)
    log = DetectorEvents()
    log.add("discontinuity", [0.6])
    wf.push(ex.process(source.render(FS)[:, 0]))
    wf.draw(wf.latest_time)
    assert wf.detector_marks.take(log) == 1
    for _ in range(4):  # 4 s on: the mark left the 2 s history
        wf.push(ex.process(source.render(FS)[:, 0]))
        wf.draw(wf.latest_time)
    assert wf.detector_marks.columns() == []
    h = wf.history
    wf.show_columns(np.full((h.rows.n_rows, h.width), -np.inf, np.float32), 1.5)  # 0 .. 1.5 s back
    (column, kind), = wf.detector_marks.columns()
    assert kind == "discontinuity"
    assert abs(column - (h.width - (1.5 - 0.6) / h.column_seconds)) <= 1
    wf.set_paused(False)  # live again: gone again
    wf.push(ex.process(source.render(FS // 4)[:, 0]))
    wf.draw(wf.latest_time)
    assert wf.detector_marks.columns() == []


def _tone_with_faults(path, seconds=4.0):
    """A 16-bit 200 Hz tone at -20 dBFS with samples stuck at the rail from 1.5 s (30) and
    a lost buffer (300 samples) at 2.5 s."""
    t = np.arange(int(seconds * FS)) / FS
    x = 0.1 * np.sin(2 * np.pi * 200.0 * t)
    clip = int(1.5 * FS)
    x[clip:clip + 30] = 32767 / 32768
    lost = int(2.5 * FS)
    x = np.concatenate((x[:lost], x[lost + 300:]))
    sf.write(str(path), x, FS, subtype="PCM_16")
    return clip / FS, lost / FS


def _broadband_columns(wf: Waterfall) -> np.ndarray:
    """Columns (0 = oldest shown) where the picture lights up far above the 200 Hz tone: the
    clicks as the spectrogram itself shows them."""
    h = wf.history
    db = h.db[:, (h.head - h.width + np.arange(h.width)) % h.width]
    high = h.rows.row_hz > 4000.0
    return np.flatnonzero(db[high].max(axis=0) > -110.0)


def test_a_file_with_a_clip_and_a_lost_buffer_marks_both(qtbot, tmp_path):
    clip_s, lost_s = _tone_with_faults(tmp_path / "faults.wav")
    session = Session({"input": str(tmp_path / "faults.wav"), "classifier": False, "history": 10.0})
    session.open_measurement()  # from the first sample (the window opens it only once built)
    session.start()
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    try:
        with ExceptionRecorder() as rec:
            marks = w.waterfall.detector_marks

            def kinds():
                return [k for _, k in marks.columns()]

            # The jump to the rail is a break too; the jump back 30 samples later is masked
            # (the entry's errors fill the RMS before it): 2 discontinuities, 1 clipping event.
            qtbot.waitUntil(lambda: kinds().count("discontinuity") == 2 and "clipping" in kinds(),
                            timeout=WAIT_MS)
            # The whole file drawn, then the display timer stopped: the picture holds still.
            wf = w.waterfall
            qtbot.waitUntil(lambda: wf.history.latest_time > 3.9, timeout=WAIT_MS)
            w.timer.stop()
            w.tick()  # what came since the last tick, drawn
            # The counts are published just after the events are logged (same pass).
            feed = session.measurement
            qtbot.waitUntil(lambda: feed.latest()["discontinuities"]["events"] == 2, timeout=WAIT_MS)
            m = feed.latest()
            assert m["clipping"]["events"] == 1 and m["dropouts"]["events"] == 0
            cols = {}
            for c, kind in marks.columns():
                cols.setdefault(kind, []).append(c)
            assert len(cols["clipping"]) == 1
            assert abs(cols["clipping"][0] - _expected_column(wf, clip_s)) <= 1
            d = cols["discontinuity"]
            assert abs(d[0] - _expected_column(wf, clip_s)) <= 1
            assert abs(d[1] - _expected_column(wf, lost_s)) <= 1
            # Independently of the stream times: the marks are where the picture shows clicks
            # (a click lights up the columns whose frames hold it, from its own column on).
            lit = _broadband_columns(wf)
            for c in (cols["clipping"][0], d[1]):
                near = lit[np.abs(lit - c) <= wf.history.params.n_fft // wf.history.params.hop + 1]
                assert near.size and near.min() - 1 <= c <= near.max() + 1, (c, lit)
            for kind, column in (("clipping", cols["clipping"][0]), ("discontinuity", d[1])):
                assert _mark_pixels(wf, kind, column) > 0, kind
        rec.check()
    finally:
        w.close()
        session.close()
