"""Every history and hop the controls allow draws, with no exception from any Qt slot or
timer and no black columns (real Qt offscreen, real pipeline on a generator)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gui_helpers import ExceptionRecorder  # noqa: E402
from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.gui.waterfall import Waterfall  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings import Settings, field_spec, hop_min  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402
from monitor.sources import GeneratorSource  # noqa: E402

WAIT_MS = 20000


@pytest.fixture
def window(qtbot, tmp_path):
    session = Session({"generator": "sine:1000", "classifier": False})
    session.start()
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()


def written_columns(wf: Waterfall) -> np.ndarray:
    """dB of the columns written so far (oldest first), (rows, k)."""
    h = wf.history
    k = min(h.head, h.width)
    return h.db[:, (h.head - k + np.arange(k)) % h.width]


@pytest.mark.parametrize("n_fft", [256, 2048, 16384])
@pytest.mark.parametrize("history", [1.0, 22.0, 30.0, 600.0])
def test_waterfall_alone_at_every_history_and_smallest_hop(qtbot, n_fft, history):
    """Batches of every size, from one frame to thousands, at the smallest hop: never an
    exception, and every column written holds the tone (no empty column)."""
    settings = Settings(n_fft=n_fft, hop=hop_min(n_fft), history=history, scale="linear")
    params = AnalysisParams.from_settings(settings, 48000)
    wf = Waterfall(settings, params)
    qtbot.addWidget(wf)
    ex = FeatureExtractor(params)
    gen = GeneratorSource("sine:1000", 48000)
    with ExceptionRecorder() as rec:
        for size in (1, 7, params.hop, params.hop * 3, 4801, 48000, 5):
            wf.push(ex.process(gen.render(size)[:, 0]))
            wf.draw()
    rec.check()
    cols = written_columns(wf)
    assert cols.shape[1] > 0
    row = wf.rows.row_of(1000.0)
    assert np.isfinite(cols[row]).all() and cols[row].min() > -20, cols[row].min()


@pytest.mark.parametrize("history", [field_spec("history").lo, 22.0, 30.0,
                                     field_spec("history").hi])
def test_window_at_extremes_of_history_and_hop(window, qtbot, history):
    """The controls at their ends, through the window's timer: the tick must not raise, and the
    columns drawn have no holes (a hole is a thin black column)."""
    with ExceptionRecorder() as rec:
        window.controls.history_spin.setValue(history)
        assert window.settings.history == history
        for n_fft in (256, 16384, 2048):
            combo = window.controls.n_fft_combo
            combo.setCurrentIndex(combo.findData(n_fft))
            window.controls.hop_spin.setValue(window.controls.hop_spin.minimum())
            assert window.settings.n_fft == n_fft and window.settings.hop == hop_min(n_fft)
            qtbot.waitUntil(lambda: window.waterfall.history.params.hop == hop_min(n_fft),
                            timeout=WAIT_MS)
            head = window.waterfall.history.head
            qtbot.waitUntil(lambda: window.waterfall.history.head >= head + 8, timeout=WAIT_MS)
            qtbot.wait(50)  # a few more ticks of the display timer
            wf = window.waterfall
            cols = written_columns(wf)[wf.rows.row_of(1000.0)]
            new = cols[-(wf.history.head - head):]
            assert np.isfinite(new).all() and new.min() > -30, (n_fft, new.min())
        window.controls.hop_spin.setValue(window.controls.hop_spin.maximum())
        qtbot.waitUntil(lambda: window.waterfall.history.params.hop == 2048, timeout=WAIT_MS)
    rec.check()
    assert window.pipeline.worker.dropped_batches == 0


def _controls(panel):
    from PyQt6 import QtWidgets

    skip = {panel.source_combo}  # its "file…" entry opens a dialog (tested with a file)
    spins = [w for w in panel.findChildren(QtWidgets.QAbstractSpinBox)]
    combos = [w for w in panel.findChildren(QtWidgets.QComboBox) if w not in skip]
    checks = panel.findChildren(QtWidgets.QCheckBox)
    return spins, combos, checks


def test_every_control_at_its_extremes_draws_without_an_exception(window, qtbot):
    """Each spin box at its minimum and maximum, each choice of each combo box, each check box
    both ways: the window keeps drawing, and no slot or timer raises (a refused value is a
    message, not an exception)."""
    spins, combos, checks = _controls(window.controls)
    assert len(spins) >= 12 and len(combos) >= 8

    def settle(what):
        frames = window.frames_seen
        try:
            qtbot.waitUntil(lambda: window.frames_seen > frames, timeout=WAIT_MS)
        except Exception:
            raise AssertionError(f"no frame drawn after {what}; settings {window.settings}; "
                                 f"problems {window.session.problems.items()}") from None
        qtbot.wait(30)

    with ExceptionRecorder() as rec:
        for box in spins:
            for value in (box.minimum(), box.maximum()):
                box.setValue(value)
                settle(f"{box.toolTip()[:40]!r} = {value}")
        for box in combos:
            for i in range(box.count()):
                box.setCurrentIndex(i)
                settle(f"{box.toolTip()[:40]!r} = {box.currentText()}")
        for check in checks:
            check.setChecked(not check.isChecked())
            settle(check.text())
            check.setChecked(not check.isChecked())
        for key in window.view_bar.buttons:
            window.view_bar.buttons[key].click()
            settle(key)
    rec.check()
    assert window.pipeline.worker.is_alive() if hasattr(window.pipeline.worker, "is_alive") \
        else True
