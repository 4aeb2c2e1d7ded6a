"""Changes keep the visible history: the picture drawn before a new n_fft, hop, scale or
sample rate is re-mapped onto the new rows and columns, with a mark at the change."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gui_helpers import ExceptionRecorder  # noqa: E402
from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.gui.waterfall_history import WaterfallHistory  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

WAIT_MS = 20000


def _filled(settings: Settings, seconds: float = 2.0, spec: str = "sine:1000") -> WaterfallHistory:
    params = AnalysisParams.from_settings(settings, 48000)
    h = WaterfallHistory(params, settings.scale, settings.history, -100, 0)
    h.push(FeatureExtractor(params).process(GeneratorSource(spec, 48000)
                                           .render(int(seconds * 48000))[:, 0]))
    return h


@pytest.mark.parametrize("change", [{"n_fft": 4096, "hop": 1024}, {"hop": 128},
                                    {"scale": "mel"}, {"scale": "linear"}, {"history": 30.0}])
def test_remap_keeps_the_tone_on_its_frequency_and_its_age(change):
    old_settings = Settings(scale="log")
    old = _filled(old_settings)
    new_settings = old_settings.replace(**change)
    params = AnalysisParams.from_settings(new_settings, 48000)
    new = WaterfallHistory(params, new_settings.scale, new_settings.history, -100, 0)
    first = 96000 // params.hop + 1
    kept = new.remap(old, first_frame=first, note="changed")
    seconds = min(old.head, old.width) * old.column_seconds
    assert kept == pytest.approx(seconds / new.column_seconds, abs=1.5)
    cols = new.db[:, (new.head - kept + np.arange(kept)) % new.width]
    row = new.rows.row_of(1000.0)
    assert cols[row].min() > -15  # the tone, on the row of 1 kHz in the new rows
    assert cols[new.rows.row_of(200.0)].max() < -40  # and nowhere else
    # Its columns end where the new ones begin: the first new frame's column comes next.
    assert new.first_frame + new.frames == first
    assert new.marks == [(new.head, "changed")]


def test_window_keeps_the_picture_across_n_fft_scale_and_rate(qtbot, tmp_path):
    session = Session({"generator": "sine:1000", "classifier": False})
    session.start()
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    try:
        with ExceptionRecorder() as rec:
            qtbot.waitUntil(lambda: w.waterfall.history.head > 100, timeout=WAIT_MS)
            for change in ({"n_fft": 4096}, {"scale": "mel"}, {"samplerate": 16000.0}):
                before = w.waterfall.history
                span = min(before.head, before.width) * before.column_seconds
                if "samplerate" in change:
                    w.change_source(change)
                else:
                    w.change_settings(change)
                qtbot.waitUntil(lambda: w.waterfall.history is not before, timeout=WAIT_MS)
                wf = w.waterfall
                # All of what was drawn (more columns may have come meanwhile).
                assert wf.kept_columns * wf.history.column_seconds >= span - 0.1, change
                row = wf.rows.row_of(1000.0)
                h = wf.history
                cols = h.db[:, (h.head - np.arange(1, wf.kept_columns)) % h.width]
                assert np.nanmax(cols[row]) > -20, change
                assert any(text for _, text in h.marks), h.marks
                qtbot.waitUntil(lambda: w.waterfall.history.head > wf.kept_columns + 20,
                                timeout=WAIT_MS)
        rec.check()
        from gui_helpers import save_screenshot
        save_screenshot(w, "history-kept-across-n_fft-mel-16k")
    finally:
        w.close()


def test_a_change_with_nothing_in_common_says_so(qtbot):
    settings = Settings(scale="linear", fmax=2000.0)
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    ex = FeatureExtractor(params)
    wf.push(ex.process(GeneratorSource("sine:1000", 48000).render(48000)[:, 0]))
    assert wf.history.head > 0
    new = settings.replace(fmin=5000.0, fmax=None)
    with qtbot.waitSignal(wf.picture_note, timeout=2000) as sig:
        wf.push(FeatureExtractor(AnalysisParams.from_settings(new, 48000)).process(
            GeneratorSource("sine:1000", 48000).render(4800)[:, 0]))
    assert "afresh" in sig.args[0] and wf.kept_columns == 0
