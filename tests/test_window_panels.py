"""The panels as a user meets them: the watch list adds on the first click with the completer
open, the event log shows whole labels, the readouts say what is under the mouse."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import types  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PyQt6 import QtCore, QtWidgets  # noqa: E402

from gui_helpers import ExceptionRecorder  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402

WAIT_MS = 20000


@pytest.fixture
def window(qtbot, tmp_path):
    session = Session({"generator": "sine:1000@-6"})
    assert session.open_classifier() is not None, session.problems.get("classifier")
    w = MainWindow(session, store=SettingsStore(path=str(tmp_path / "s.ini")))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.close()
    session.close()


def test_watch_list_adds_on_the_first_click_with_the_completer_open(window, qtbot):
    view = window.classifier_view
    tabs = window.controls.tabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Classifier"))
    qtbot.waitUntil(view.watch_edit.isVisible, timeout=WAIT_MS)
    view.watch_edit.setFocus()
    qtbot.keyClicks(view.watch_edit, "Dog")
    popup = view.watch_edit.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    # Under X11 the open popup grabs the mouse: the click on Add reaches the popup (outside
    # its rectangle), which closes. Deliver it so, as the window system does.
    centre = view.watch_add.rect().center()
    at = popup.mapFromGlobal(view.watch_add.mapToGlobal(centre))
    assert not popup.rect().contains(at)
    with ExceptionRecorder() as rec:
        qtbot.mousePress(popup, QtCore.Qt.MouseButton.LeftButton, pos=at)
        qtbot.mouseRelease(view.watch_add, QtCore.Qt.MouseButton.LeftButton, pos=centre)
        qtbot.waitUntil(lambda: any(label == "Dog" for label, _ in window.settings.watch),
                        timeout=WAIT_MS)
    rec.check()
    assert view.watch_edit.text() == "" and view.watch_error.text() == ""
    assert view.watch_list.count() == 1
    # The next label starts from an empty field, not "DogVacuum".
    qtbot.keyClicks(view.watch_edit, "Vacuum cleaner")
    qtbot.keyClick(view.watch_edit, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.settings.watch) == 2, timeout=WAIT_MS)
    assert [label for label, _ in window.settings.watch] == ["Dog", "Vacuum cleaner"]


def test_event_log_shows_whole_labels_up_to_30_characters(window, qtbot):
    view = window.classifier_view
    long_label = "Vehicle horn, car horn, honkin"  # 30 characters
    assert len(long_label) == 30
    event = types.SimpleNamespace(start=12.5, label=long_label, peak=0.8, duration=1.5,
                                  open=False)
    short = types.SimpleNamespace(start=14.0, label="Dog", peak=0.5, duration=0.5, open=True)
    view._stream_time = 20.0
    view._update_log((event, short))
    table = view.table
    assert table.item(0, 1).text() == "Dog"  # newest first
    item = table.item(1, 1)
    assert item.text() == long_label
    needed = table.fontMetrics().horizontalAdvance(long_label)
    assert table.columnWidth(1) >= needed + 4, (table.columnWidth(1), needed)
    # Wall-clock time and stream time both shown.
    assert len(table.item(1, 0).text()) == 8 and table.item(1, 0).text().count(":") == 2
    assert table.item(1, 4).text() == "0:12.50"


def test_note_names_and_peak_against_analytic_values():
    from monitor.dsp.features import AnalysisParams, FeatureExtractor
    from monitor.dsp.frequency_rows import FrequencyRows
    from monitor.gui.spectrum import note_name, peak_of
    from monitor.settings import Settings
    from monitor.sources import GeneratorSource

    assert note_name(440.0) == "A4" and note_name(261.6256) == "C4"
    # 1000 Hz is 1200·log2(1000/987.767) = +21.3 cents above B5.
    assert note_name(1000.0) == "B5 +21c"
    assert note_name(0.0) == ""
    settings = Settings(scale="linear")
    params = AnalysisParams.from_settings(settings, 48000)
    rows = FrequencyRows(params, "linear")
    batch = FeatureExtractor(params).process(GeneratorSource("sine:1234.5@-12", 48000)
                                             .render(8192)[:, 0])
    hz, db = peak_of(rows.rows(batch)[-1], rows)
    # Bins are 23.4 Hz apart; the parabola lands within a tenth of one.
    assert abs(hz - 1234.5) < 2.4 and -13.5 < db < -11.5, (hz, db)


def test_spectrum_shows_peak_and_readout_and_keeps_its_own_range(window, qtbot):
    spectrum = window.spectrum
    qtbot.waitUntil(lambda: spectrum.peak is not None and "peak" in spectrum._title,
                    timeout=WAIT_MS)
    hz, db = spectrum.peak
    assert abs(np.log2(hz / 1000)) < 0.02 and -8 < db < -4
    assert "B5" in spectrum._title
    x = float(spectrum.rows.y_at(1000.0))
    text = spectrum.readout(x, -20)
    assert "B5" in text and "kHz" in text, text
    # Its own range: a -20 dB waterfall ceiling leaves the spectrum's peak in view.
    window.controls.db_ceil_spin.setValue(-20.0)
    qtbot.wait(200)
    lo, hi = spectrum.plot.getViewBox().viewRange()[1]
    assert hi > db
    combo = window.controls.spectrum_range_combo
    combo.setCurrentIndex(combo.findData("0 … −60 dB"))
    assert spectrum.plot.getViewBox().viewRange()[1] == pytest.approx([-60.0, 0.0])
    # The readouts clear when the mouse leaves.
    window.view_bar.cursor_label.setText("something")
    QtWidgets.QApplication.sendEvent(spectrum.plot.viewport(), QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert window.view_bar.cursor_label.text() == ""
    window.view_bar.cursor_label.setText("something")
    QtWidgets.QApplication.sendEvent(window.waterfall.plot.viewport(),
                                     QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert window.view_bar.cursor_label.text() == ""
