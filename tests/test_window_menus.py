"""The menu bar, its shortcuts, projector mode, the light theme and the UI scale."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PyQt6 import QtGui, QtWidgets  # noqa: E402

from gui_helpers import ExceptionRecorder, save_screenshot  # noqa: E402
from monitor.gui.main_window import MainWindow  # noqa: E402
from monitor.gui.menus import shortcuts_text, versions  # noqa: E402
from monitor.gui.theme import COLORS, THEMES  # noqa: E402
from monitor.session import Session  # noqa: E402
from monitor.settings_store import SettingsStore  # noqa: E402

WAIT_MS = 20000


@pytest.fixture
def window(qtbot, tmp_path):
    session = Session({"generator": "tones:440,1000@-12"})
    assert session.open_classifier() is not None, session.problems.get("classifier")
    store = SettingsStore(path=str(tmp_path / "s.ini"))
    w = MainWindow(session, store=store)
    qtbot.addWidget(w)
    w.resize(1920, 1080)
    w.show()
    yield w
    w.close()
    session.close()
    # The look is the application's: leave the next test the default one.
    from monitor.gui.theme import apply_theme
    apply_theme(QtWidgets.QApplication.instance(), "dark", 1.0)


def test_menus_hold_the_usual_places_and_shortcuts(window, qtbot, tmp_path, monkeypatch):
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Export", "View", "Help"]
    acts = window.actions
    assert acts["quit"].shortcut().toString() == "Ctrl+Q"
    assert [k.toString() for k in acts["shortcuts"].shortcuts()] == ["F1", "?"]
    text = shortcuts_text(acts)
    for line in ("Ctrl+Q", "F10", "F11", "Space", "Ctrl+O", "Ctrl+Shift+S"):
        assert line in text, text
    # Save the last N s: the session writes the pre-roll and says where.
    window.session.clips = None
    monkeypatch.chdir(tmp_path)
    acts["save_preroll"].trigger()
    problem = window.session.problems.get("preroll")
    assert problem is not None and "saved the last" in problem.text, problem
    path = window.save_screenshot(str(tmp_path / "shot.png"))
    assert path and (tmp_path / "shot.png").stat().st_size > 1000
    heard = []
    window.record_requested.connect(heard.append)
    acts["record"].trigger()  # File ▸ Record: a new file in the current folder, as captured
    assert heard == [True] and acts["record"].isChecked()
    recording = window.session.problems.get("recording").text
    assert recording.startswith("recording to ") and "recording-" in recording
    acts["record"].trigger()
    assert heard == [True, False] and not acts["record"].isChecked()
    assert window.session.problems.get("recording").text.startswith("recording closed")
    v = versions()
    assert v["spectromon"] and v["Qt"] and v["numpy"]
    acts["about"].trigger()
    assert "spectromon" in window._dialog.text() and v["numpy"] in window._dialog.text()
    window._dialog.close()
    acts["quit"].trigger()
    assert not window.isVisible()


def test_projector_mode_hides_panels_and_enlarges(window, qtbot):
    with ExceptionRecorder() as rec:
        qtbot.waitUntil(lambda: window.waterfall.history.head > 50, timeout=WAIT_MS)
        height = window.waterfall.height()
        font = window.waterfall.canvas.tick_font
        window.actions["projector"].trigger()
        qtbot.wait(300)
        assert window.projector
        assert not window.controls_dock.isVisible() and not window.classifier_dock.isVisible()
        assert window.projector_bar.isVisible() and not window.menuBar().isVisible()
        assert window.waterfall.height() > height
        big = window.waterfall.canvas.tick_font
        assert big.pointSizeF() > (font.pointSizeF() if font else 8.0)
        assert window.projector_bar.level.font().pointSizeF() >= 20
        qtbot.waitUntil(lambda: "dBFS" in window.projector_bar.level.text(), timeout=WAIT_MS)
        save_screenshot(window, "projector-1920x1080")
        window.actions["projector"].trigger()  # F10 again: back
        assert window.controls_dock.isVisible() and not window.projector_bar.isVisible()
    rec.check()


def test_light_theme_and_ui_scale_are_settings(window, qtbot):
    with ExceptionRecorder() as rec:
        qtbot.waitUntil(lambda: window.waterfall.history.head > 50, timeout=WAIT_MS)
        window.actions["light"].trigger()
        assert window.settings.theme == "light" and COLORS["plot"] == THEMES["light"]["plot"]
        assert window.waterfall.canvas.background_color().name() == THEMES["light"]["plot"]
        app = QtWidgets.QApplication.instance()
        assert app.palette().color(QtGui.QPalette.ColorRole.Window).name() == \
            THEMES["light"]["window"]
        window.controls.ui_scale_spin.setValue(2.0)
        assert window.settings.ui_scale == 2.0
        assert app.font().pointSizeF() == pytest.approx(18.0)
        assert window.waterfall.color_bar.width() == 104
        qtbot.wait(300)
        save_screenshot(window, "light-scale2-1920x1080")
        window.controls.theme_combo.setCurrentIndex(window.controls.theme_combo.findData("dark"))
        window.controls.ui_scale_spin.setValue(1.0)
        assert COLORS["plot"] == THEMES["dark"]["plot"] and not window.actions["light"].isChecked()
    rec.check()
