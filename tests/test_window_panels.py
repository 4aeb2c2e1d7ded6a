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
