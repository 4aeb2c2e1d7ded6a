"""Hours, not seconds: sessions on disk (written, killed, reopened), the overview and its
scroll-back, periodic snapshots and the per-minute level log, through the real command line,
real files and real Qt (offscreen)."""

from __future__ import annotations

import csv
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
from conftest import main_cmd, wait_until  # noqa: E402
from PyQt6 import QtGui  # noqa: E402

from monitor.dsp.ltsa import power_mean_db  # noqa: E402
from monitor.dsp.period_levels import PeriodLevels  # noqa: E402
from monitor.dsp.weighting import SOSFilter, leq_db, peak_db, weighting_sos  # noqa: E402
from monitor.gui.overview import scrollback_columns  # noqa: E402
from monitor.session_store import FRAMES_PER_BIN, SessionReader, decode_db, encode_db  # noqa: E402

SR = 48000
RUN_TIMEOUT = 120


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def two_tones(tmp_path_factory):
    """2 s of 1 kHz then 2 s of 3 kHz at -6 dBFS peak (float WAV), the phase continuous."""
    path = tmp_path_factory.mktemp("tones") / "tones.wav"
    t = np.arange(2 * SR) / SR
    x = np.concatenate([0.5 * np.sin(2 * np.pi * 1000 * t), 0.5 * np.sin(2 * np.pi * 3000 * t)])
    sf.write(str(path), x.astype(np.float32), SR, subtype="FLOAT")
    return path, x.astype(np.float32)


@pytest.fixture(scope="module")
def saved(two_tones, tmp_path_factory):
    """The two-tone file analysed headless into a session, snapshots and a level log."""
    path, _ = two_tones
    out = tmp_path_factory.mktemp("out")
    snaps = out / "snaps"
    snaps.mkdir()
    proc = _run("--headless", "--no-classifier", "--input", str(path), "--no-realtime",
                "--interval", "10", "--session", str(out / "s"), "--snapshot-every", "1s",
                "--snapshot-dir", str(snaps), "--level-log", str(out / "levels.csv"))
    assert proc.returncode == 0, proc.stderr
    return out


def _near(row: int, rows, hz: float) -> bool:
    """``row`` is the row of ``hz`` or its neighbour (a tone between two FFT bins lights the
    row of the nearer bin, which can be the next row on a 512-row log axis)."""
    return abs(int(row) - rows.row_of(hz)) <= 1


def _frame_at(segment, t: float) -> int:
    return int(np.searchsorted(segment.times(), t))


def test_session_holds_the_known_content_at_the_right_times(saved):
    reader = SessionReader(str(saved / "s"))
    seg = reader.main_segment()
    # every frame of 4 s at hop 512 whose window fits (n_fft 2048)
    assert seg.frames == (4 * SR - 2048) // 512 + 1
    np.testing.assert_allclose(np.diff(seg.times()), 512 / SR)
    for t, hz in ((0.5, 1000), (1.5, 1000), (2.5, 3000), (3.5, 3000)):
        db = seg.db(_frame_at(seg, t), _frame_at(seg, t) + 1)[0]
        assert _near(np.argmax(db), seg.rows, hz)
        assert db.max() == pytest.approx(-6.0, abs=0.6)  # a -6 dBFS sine, 0.5 dB codes
    # the stored LTSA is the offline mean (in power) and max of the stored columns
    codes = seg.codes(0, seg.frames)
    ltsa = seg.ltsa()
    for level, lv in enumerate(ltsa.levels):
        fpb = FRAMES_PER_BIN << level
        n = seg.frames // fpb
        assert lv.count == n
        blocks = decode_db(codes[:n * fpb]).reshape(n, fpb, -1)
        np.testing.assert_allclose(lv.mean, power_mean_db(blocks, axis=1), atol=2e-3)
        np.testing.assert_array_equal(lv.max, blocks.max(axis=1))


def test_open_shows_the_stored_columns_at_that_time(saved, qtbot):
    from monitor.gui.session_browser import SessionBrowser

    reader = SessionReader(str(saved / "s"))
    window = SessionBrowser(reader)
    qtbot.addWidget(window)
    window.resize(1280, 640)
    window.show()
    seg = window.segment
    wf = window.waterfall
    h = wf.history
    for t, hz in ((1.0, 1000), (3.0, 3000)):
        assert window.show_at(t) is None
        shown = wf.displayed_image()
        assert wf.scrollback_time is not None
        # exactly the stored columns of that time, in the waterfall's colour coding
        want = h.quantize(scrollback_columns(seg, h, wf.scrollback_time))
        np.testing.assert_array_equal(shown, want)
        # the session is shorter than the waterfall: all of it is shown, from its first column
        assert h.merge == 1 and seg.frames < h.width
        i0 = int(round((wf.scrollback_time - seg.times()[0]) / h.column_seconds)) - h.width
        assert i0 <= 0
        np.testing.assert_array_equal(shown[:, -i0:-i0 + seg.frames],
                                      h.quantize(seg.db(0, seg.frames).T))
        # the column at t shows the tone of t
        col = h.width - 1 - int((wf.scrollback_time - t) / h.column_seconds)
        assert _near(np.argmax(shown[:, col]), seg.rows, hz)
        # and the readout reads session time there
        text = wf.readout(t, seg.rows.row_of(hz) + 0.5)
        assert text is not None
        assert text.startswith(f"t {t:.2f} s")
    # the overview: every bin of the session, its 1 kHz then 3 kHz
    window.overview.refresh(force=True)
    view = window.overview.ltsa.view(window.overview.width_px())
    peaks = np.argmax(view.mean_db, axis=1)
    assert _near(peaks[0], seg.rows, 1000) and _near(peaks[-1], seg.rows, 3000)
    window.close()


def test_snapshots_appear_with_the_tone(saved):
    names = sorted(os.listdir(saved / "snaps"))
    assert [n.rsplit("-t", 1)[1] for n in names] == [f"{k:07d}s.png" for k in (1, 2, 3, 4)]
    reader = SessionReader(str(saved / "s"))
    rows = reader.main_segment().rows
    for name in names:
        image = QtGui.QImage(str(saved / "snaps" / name))  # Qt's own PNG decoder
        assert not image.isNull() and image.height() == rows.n_rows
        t = int(name.rsplit("-t", 1)[1][:7])
        x = image.width() - 20  # a column just before the snapshot's time
        brightness = [QtGui.QColor(image.pixel(x, y)).lightness() for y in range(image.height())]
        hz = 1000 if t <= 2 else 3000
        assert _near(image.height() - 1 - int(np.argmax(brightness)), rows, hz)


def test_level_log_agrees_with_an_offline_computation(saved, two_tones):
    _, x = two_tones
    for path in (saved / "levels.csv", saved / "s" / "levels.csv"):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 1  # 4 s: one (partial) minute
        row = {k: float(v) for k, v in rows[0].items()}
        a = SOSFilter(weighting_sos("A", SR)).process(x)
        c = SOSFilter(weighting_sos("C", SR)).process(x)
        assert row["duration_s"] == pytest.approx(4.0)
        assert row["LAeq"] == pytest.approx(leq_db(a), abs=0.006)
        assert row["LZeq"] == pytest.approx(leq_db(x), abs=0.006)
        assert row["LZeq"] == pytest.approx(-6.02, abs=0.01)  # a -6 dBFS peak sine
        assert row["LCpeak"] == pytest.approx(peak_db(c), abs=0.006)
        assert row["LZpeak"] == pytest.approx(-3.01, abs=0.01)
        # Fast max: a steady tone reads its Leq (the 3 kHz half: A gain +1.2 dB)
        assert row["LZFmax"] == pytest.approx(-6.02, abs=0.05)
        assert row["LAFmax"] == pytest.approx(leq_db(a[2 * SR + SR // 2:]), abs=0.05)


def test_period_levels_split_exactly_at_minutes():
    sr = 8000.0
    rng = np.random.default_rng(3)
    x = rng.standard_normal(int(150 * sr)) * 0.1
    levels = PeriodLevels(sr, 60.0)
    rows = []
    for piece in np.array_split(x, 37):
        rows += levels.feed(piece)
    assert [r["start_s"] for r in rows] == [0.0, 60.0]
    assert levels.row()["duration_s"] == pytest.approx(30.0)
    minute = x[int(60 * sr):int(120 * sr)]
    assert rows[1]["LZeq"] == pytest.approx(leq_db(minute), abs=1e-9)
    assert rows[1]["LZpeak"] == pytest.approx(peak_db(minute), abs=1e-9)


def test_codes_round_trip():
    db = np.array([-np.inf, -200, -120, -119.7, -60.25, 0.0, 7.5, 30.0], np.float32)
    back = decode_db(encode_db(db))
    np.testing.assert_array_equal(back, [-np.inf, -np.inf, -np.inf, -119.5, -60.0, 0.0, 7.5, 7.5])


def test_a_reader_sees_a_segment_only_once_its_layout_is_whole(saved, tmp_path):
    """A reader polling a live session once read a layout.json created but not yet written:
    the writer now links it in whole; a torn one (a crash without hard links) is skipped."""
    import json
    import shutil

    from monitor.session_store import write_json_exclusive
    copy = tmp_path / "s"
    shutil.copytree(saved / "s", copy)
    reader = SessionReader(str(copy))
    n = len(reader.segments)
    torn = copy / f"segment-{n:03d}"
    torn.mkdir()
    (torn / "layout.json").write_text("")  # what a reader could see mid-write before
    reader.refresh()
    assert len(reader.segments) == n
    (torn / "layout.json").unlink()
    layout = (saved / "s" / "segment-000" / "layout.json").read_text()
    write_json_exclusive(str(torn / "layout.json"), json.loads(layout))
    assert sorted(os.listdir(torn)) == ["layout.json"]  # no temporary left behind
    reader.refresh()
    assert len(reader.segments) == n + 1
    with pytest.raises(FileExistsError):  # never written over
        write_json_exclusive(str(torn / "layout.json"), {})
    assert json.loads((torn / "layout.json").read_text()) == json.loads(layout)


def test_a_session_killed_with_kill_9_reopens(tmp_path, qtbot):
    directory = tmp_path / "s"
    proc = subprocess.Popen(main_cmd("--headless", "--no-classifier", "--generator",
                                     "sine:2000@-6", "--interval", "0.5",
                                     "--session", str(directory)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        rows = directory / "segment-000" / "rows.u8"

        def frames_on_disk():
            if not (directory / "segment-000" / "layout.json").exists():
                return 0
            n = SessionReader(str(directory)).main_segment().frames
            return n if n >= 300 else 0

        seen = wait_until(frames_on_disk, 60, "300 readable frames of the session on disk")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # a torn write as a crash could leave it: half a frame more in one file
    with open(rows, "ab") as f:
        f.write(b"\x01" * 100)
    reader = SessionReader(str(directory))
    seg = reader.main_segment()
    assert seg.frames >= seen  # what was readable stays readable
    times = seg.times()
    np.testing.assert_allclose(np.diff(times), 512 / SR)
    db = seg.db(seg.frames - 10, seg.frames)
    assert all(_near(r, seg.rows, 2000) for r in np.argmax(db, axis=1))
    from monitor.gui.session_browser import SessionBrowser

    window = SessionBrowser(reader)
    qtbot.addWidget(window)
    window.show()
    t = float(times[-5])
    assert window.show_at(t) is None
    wf = window.waterfall
    col = wf.history.width - 1 - int((wf.scrollback_time - t) / wf.history.column_seconds)
    assert _near(np.argmax(wf.displayed_image()[:, col]), seg.rows, 2000)
    window.close()


def test_live_scroll_back_while_capture_goes_on(tmp_path, qtbot):
    from monitor.gui.main_window import MainWindow
    from monitor.run_outputs import RunOutputs
    from monitor.session import Session
    from monitor.session_store import SessionWriter

    session = Session({"generator": "sine:1000@-6", "classifier": False, "history": 2.0})
    writer = SessionWriter(str(tmp_path / "live"), session.settings, problems=session.problems)
    outputs = RunOutputs(writer, None)
    session.start()
    window = MainWindow(session, outputs=outputs)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        seg_rows = tmp_path / "live" / "segment-000" / "rows.u8"
        qtbot.waitUntil(lambda: seg_rows.exists() and seg_rows.stat().st_size >= 512 * 400,
                        timeout=30000)
        reader = SessionReader(str(tmp_path / "live"))
        seg = reader.main_segment()
        t = float(seg.times()[200])
        window.overview.show_at(t)
        wf = window.waterfall
        assert wf.paused and wf.scrollback_time is not None
        shown = wf.displayed_image().copy()
        np.testing.assert_array_equal(shown, wf.history.quantize(
            scrollback_columns(seg, wf.history, wf.scrollback_time)))
        head = wf.history.head
        qtbot.waitUntil(lambda: wf.history.head > head + 20, timeout=30000)  # capture goes on
        np.testing.assert_array_equal(wf.displayed_image(), shown)  # the moment stays shown
        # End returns to live
        window.overview.live()
        assert not wf.paused and wf.scrollback_time is None
        # the session outgrew the 2 s waterfall: the overview is drawn, the tone's row bright
        strip = window.overview.strip
        qtbot.waitUntil(lambda: strip.redraws > 0, timeout=30000)
        view = strip.ltsa.view(strip.width_px())
        assert all(_near(r, wf.rows, 1000) for r in np.argmax(view.mean_db, axis=1))
        assert strip.pixels is not None and strip.pixels.shape[1] == len(view)
    finally:
        window.close()
        outputs.close()
        session.close()
    assert writer.dropped_frames == 0


@pytest.mark.parametrize("args, says", [
    (["--session", "{full}"], "not empty"),
    (["--level-log", "{file}"], "exists"),
    (["--snapshot-every", "often", "--snapshot-dir", "{tmp}"], "--snapshot-every"),
    (["--snapshot-every", "1s"], "go together"),
    (["--open", "{tmp}"], "not a spectromon session"),
])
def test_bad_long_run_options_are_one_line(tmp_path, args, says):
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    existing = tmp_path / "levels.csv"
    existing.write_text("keep me")
    args = [a.format(full=full, file=existing, tmp=tmp_path) for a in args]
    run = [] if "--open" in args else ["--headless", "--no-classifier", "--generator", "sine:1000",
                                       "--duration", "1"]
    proc = _run(*run, *args)
    assert proc.returncode == 2, proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("spectromon:")]
    assert len(ours) == 1 and says in ours[0], proc.stderr
    assert existing.read_text() == "keep me"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_writer_keeps_frames_contiguous_over_gaps_and_restarts(tmp_path):
    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.session_store import SessionWriter
    from monitor.settings import Settings

    params = AnalysisParams(8000.0, 256, 64, "hann", 32, 0.0, 4000.0, False, "slaney")
    t = np.arange(8000) / 8000.0
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    batch = FeatureExtractor(params).process(tone)
    n = len(batch)
    writer = SessionWriter(str(tmp_path / "s"), Settings(), blocking=True)
    writer.add(batch)
    later = type(batch)(**{**batch.__dict__, "first_frame": n + 50})  # 50 frames skipped
    writer.add(later)
    writer.add(batch)  # the stream starts again from frame 0 (a reopened input)
    writer.close()
    seg = SessionReader(str(tmp_path / "s")).main_segment()
    assert seg.frames == 3 * n + 50
    np.testing.assert_allclose(np.diff(seg.times()), params.seconds_per_frame)
    codes = seg.codes(0, seg.frames)
    assert (codes[n:n + 50] == 0).all()  # the gap: silence
    np.testing.assert_array_equal(codes[:n], codes[n + 50:2 * n + 50])
    np.testing.assert_array_equal(codes[:n], codes[2 * n + 50:])
    assert writer.dropped_frames == 0


def test_classifier_events_reach_the_session(tmp_path):
    from conftest import REPO

    speech = REPO / "tests" / "data" / "alsa_speech_front_center.wav"
    proc = _run("--headless", "--input", str(speech), "--no-realtime", "--interval", "10",
                "--session", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    events = SessionReader(str(tmp_path / "s")).events()
    assert any(label == "Speech" for _, label, _, _ in events), events


def test_overview_draws_at_most_its_width_in_the_waterfalls_colours(qtbot):
    from monitor.dsp.features import AnalysisParams
    from monitor.dsp.frequency_rows import FrequencyRows
    from monitor.gui.overview import OverviewStrip
    from monitor.gui.waterfall import rgb32_table
    from monitor.gui.waterfall_history import WaterfallHistory
    from monitor.settings import Settings

    params = AnalysisParams(48000.0, 2048, 512, "hann", 16, 0.0, 24000.0, False, "slaney")
    settings = Settings(scale="mel")
    rows = FrequencyRows(params, "mel")
    strip = OverviewStrip(settings, rows)
    qtbot.addWidget(strip)
    strip.resize(400, 200)
    strip.show()
    qtbot.waitExposed(strip)
    rng = np.random.default_rng(5)
    frames = rng.uniform(-110, 0, size=(64 * 3000, rows.n_rows)).astype(np.float32)
    strip.ltsa.push(frames)  # 3000 level-0 bins: far more than the strip's pixels
    strip._t_first = 0.0
    assert strip.refresh(force=True)
    width = strip.width_px()
    view = strip.ltsa.view(width)
    assert len(view) <= width < 2 * len(view) + 2  # the finest level that fits
    history = WaterfallHistory(params, "mel", 10.0, settings.db_floor, settings.db_ceil)
    want = rgb32_table(settings.colormap)[history.quantize(np.array(view.mean_db).T)]
    np.testing.assert_array_equal(strip.pixels, want)
    strip.set_mode("max")
    want = rgb32_table(settings.colormap)[history.quantize(np.array(view.max_db).T)]
    np.testing.assert_array_equal(strip.pixels, want)


def test_a_click_on_the_event_log_shows_the_event(tmp_path, qtbot):
    from conftest import REPO

    from monitor.gui.main_window import MainWindow
    from monitor.gui.overview import _parse_clock
    from monitor.run_outputs import RunOutputs
    from monitor.session import Session
    from monitor.session_store import SessionWriter

    speech = REPO / "tests" / "data" / "alsa_speech_front_center.wav"
    session = Session({"input": str(speech), "loop": True, "history": 2.0})
    session.open_classifier()
    assert session.classifier is not None
    writer = SessionWriter(str(tmp_path / "s"), session.settings, problems=session.problems,
                           classifier=session.classifier)
    outputs = RunOutputs(writer, None)
    session.start()
    window = MainWindow(session, outputs=outputs)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        table = window.classifier_view.table
        qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=60000)
        stream_column = [table.horizontalHeaderItem(c).text()
                         for c in range(table.columnCount())].index("stream t")
        t = _parse_clock(table.item(0, stream_column).text())
        assert t is not None
        reader = SessionReader(str(tmp_path / "s"))
        qtbot.waitUntil(lambda: (reader.refresh() or reader.main_segment() is not None)
                        and reader.main_segment().times()[-1] > t + 0.5, timeout=30000)
        table.cellClicked.emit(0, 0)
        wf = window.waterfall
        assert wf.paused and wf.scrollback_time is not None
        span = wf.history.width * wf.history.column_seconds
        assert wf.scrollback_time - span <= t <= wf.scrollback_time
    finally:
        window.close()
        outputs.close()
        session.close()
    assert any(e[1] == "Speech" for e in SessionReader(str(tmp_path / "s")).events())


def test_the_window_starts_and_stops_a_session(tmp_path, qtbot):
    from monitor.gui.main_window import MainWindow
    from monitor.session import Session

    session = Session({"generator": "sine:1000@-6", "classifier": False})
    session.start()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    overview = window.overview
    try:
        assert window.outputs is None and not overview.strip.session_button.isChecked()
        full = tmp_path / "full"
        full.mkdir()
        (full / "x").write_text("x")
        assert "not empty" in overview.start_session(str(full))  # refused, nothing written
        assert window.outputs is None
        assert overview.start_session(str(tmp_path / "s")) is None
        assert overview.strip.session_button.isChecked()
        rows = tmp_path / "s" / "segment-000" / "rows.u8"
        qtbot.waitUntil(lambda: rows.exists() and rows.stat().st_size >= 512 * 200,
                        timeout=30000)
        seg = SessionReader(str(tmp_path / "s")).main_segment()
        overview.show_at(float(seg.times()[100]))
        assert window.waterfall.scrollback_time is not None
        writer = window.outputs.writer
        overview.stop_session()
        assert not overview.strip.session_button.isChecked()
        assert window.outputs.writer is None  # the tick feeds it no more
        assert all(f.closed for seg_w in writer._segments for f in seg_w._files.values())
        size = rows.stat().st_size
    finally:
        window.close()
        session.close()
    seg = SessionReader(str(tmp_path / "s")).main_segment()
    assert seg.frames == size // 512
    assert all(_near(r, seg.rows, 1000) for r in np.argmax(seg.db(0, seg.frames), axis=1)[10:])


@pytest.mark.parametrize("scale", ["log", "mel"])
def test_snapshot_picture_is_the_waterfalls(scale):
    """monitor.snapshots sits below the window: its picture and colours must be the window's."""
    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.gui.colormaps import COLORMAPS, lookup_table
    from monitor.gui.waterfall_history import WaterfallHistory
    from monitor.snapshots import Picture, colour_table

    for name in COLORMAPS:
        np.testing.assert_array_equal(colour_table(name), lookup_table(name))
    params = AnalysisParams(48000.0, 2048, 512, "hann", 64, 0.0, 24000.0, False, "slaney")
    rng = np.random.default_rng(7)
    x = (0.3 * rng.standard_normal(48000 * 3)).astype(np.float32)
    ex = FeatureExtractor(params)
    history = WaterfallHistory(params, scale, 2.0, -100.0, 0.0)
    picture = Picture(params, scale, 2.0, -100.0, 0.0)
    for block in np.array_split(x, 23):
        batch = ex.process(block)
        if len(batch):
            history.push(batch)
            picture.push(batch)
    np.testing.assert_array_equal(picture.codes(), history.visible())
