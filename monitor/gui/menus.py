"""The window's menu bar (File, View, Help), its shortcuts list and the About box.

Menu entries only call the window's own methods or emit its signals; what they do to the
session lives there (recording and "save the last 30 s" are signals the application wires
to the recorder)."""

from __future__ import annotations

import platform
from typing import Callable, Optional

from PyQt6 import QtCore, QtGui, QtWidgets

from monitor import __version__

__all__ = ["build_menus", "shortcuts_text", "about_text", "versions"]


def _action(menu: QtWidgets.QMenu, text: str, slot: Optional[Callable] = None,
            shortcut=None, checkable: bool = False, tip: str = "") -> QtGui.QAction:
    action = menu.addAction(text)
    if shortcut is not None:
        keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
        action.setShortcuts([QtGui.QKeySequence(k) for k in keys])
        # Work with the menu bar hidden (projector mode, full screen) too.
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    action.setCheckable(checkable)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    if slot is not None:
        (action.toggled if checkable else action.triggered).connect(
            (lambda on: slot(on)) if checkable else (lambda _c=False: slot()))
    return action


def build_menus(window) -> dict[str, QtGui.QAction]:
    """Fill ``window``'s menu bar; returns the actions by name (for tests and the lead)."""
    from monitor.gui.controls import AXES, VALUE_SCALES, VIEWS

    bar = window.menuBar()
    acts: dict[str, QtGui.QAction] = {}
    file_menu = bar.addMenu("&File")
    acts["open"] = _action(file_menu, "&Open audio file…", window.open_file, "Ctrl+O")
    file_menu.addSeparator()
    acts["record"] = _action(file_menu, "&Record", window.toggle_record, "Ctrl+R",
                             checkable=True, tip="record the input to a WAV file")
    # The view bar's 'Save last N s' (monitor.gui.save_last) owns Ctrl+Shift+S; the entry names
    # it after a tab (a second binding of the same keys would make both ambiguous: neither fires).
    from monitor.gui.save_last import SHORTCUT, _save

    seconds = getattr(window.settings, "preroll", 30.0)
    acts["save_preroll"] = _action(file_menu, f"Save the &last {seconds:g} s\t{SHORTCUT}",
                                   lambda: _save(window),
                                   tip=f"write the audio of the last {seconds:g} seconds to a "
                                       f"new WAV file")
    file_menu.addSeparator()
    acts["export"] = _action(file_menu, "&Export event log (CSV)…", window.export_events, "Ctrl+E")
    acts["export"].setEnabled(window.classifier_view is not None)
    acts["screenshot"] = _action(file_menu, "Save a &screenshot…", window.save_screenshot,
                                 "Ctrl+Shift+P")
    file_menu.addSeparator()
    acts["quit"] = _action(file_menu, "&Quit", window.close, "Ctrl+Q")

    bar.addMenu(window.instruments.export_menu)  # the instrument panels' exports
    view_menu = bar.addMenu("&View")
    for i, (key, view) in enumerate(VIEWS.items()):
        acts[f"view_{key}"] = _action(view_menu, view["label"],
                                      lambda k=key: window.set_view(k), f"{i + 1}",
                                      tip=view["tip"])
    axes = view_menu.addMenu("&Frequency axis")
    for key, (label, tip) in AXES.items():
        acts[f"axis_{key}"] = _action(axes, label, lambda k=key: window.set_axis(k),
                                      {"linear": "L", "log": "G", "mel": "M"}[key], tip=tip)
    values = view_menu.addMenu("&Values")
    for key, (label, tip) in VALUE_SCALES.items():
        acts[f"values_{key}"] = _action(values, label, lambda k=key: window.set_value_mode(k),
                                        {"power": "P", "db": "D"}[key], tip=tip)
    view_menu.addSeparator()
    acts["pause"] = _action(view_menu, "&Pause", window.view_bar.pause_button.toggle, "Space",
                            tip="freeze the display; audio keeps being analysed")
    acts["projector"] = _action(view_menu, "Pro&jector mode", window.set_projector_mode, "F10",
                                checkable=True, tip="hide the side panels; large waterfall, "
                                "labels and level readout")
    acts["full_screen"] = _action(view_menu, "&Full screen", window.toggle_full_screen, "F11")
    acts["light"] = _action(view_menu, "&Light theme", window.set_light_theme, checkable=True,
                            tip="dark or light colours (for printed or projected screenshots)")
    view_menu.addSeparator()
    for dock in (window.controls_dock, window.classifier_dock):
        view_menu.addAction(dock.toggleViewAction())

    help_menu = bar.addMenu("&Help")
    acts["shortcuts"] = _action(help_menu, "&Keyboard shortcuts", window.show_shortcuts,
                                ["F1", "?"])
    acts["about"] = _action(help_menu, "&About spectromon", window.show_about)
    return acts


def shortcuts_text(actions: dict[str, QtGui.QAction]) -> str:
    """Every shortcut, one a line: 'Ctrl+Q   Quit'."""
    rows = []
    for action in actions.values():
        keys = ", ".join(k.toString(QtGui.QKeySequence.SequenceFormat.NativeText)
                         for k in action.shortcuts())
        text = action.text().replace("&", "")
        if not keys and "\t" in text:  # bound elsewhere, named in the entry
            text, keys = text.split("\t", 1)
        if keys:
            rows.append((keys, text.split("\t")[0]))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}   {t}" for k, t in rows)


def versions() -> dict[str, str]:
    """Versions of spectromon and what it runs on."""
    import numpy
    import pyqtgraph
    from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

    out = {"spectromon": __version__, "Python": platform.python_version(),
           "Qt": QT_VERSION_STR, "PyQt6": PYQT_VERSION_STR, "numpy": numpy.__version__,
           "pyqtgraph": pyqtgraph.__version__}
    for name in ("sounddevice", "soundfile", "onnxruntime"):
        try:
            module = __import__(name)
            out[name] = getattr(module, "__version__", "?")
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the box must open
            out[name] = f"unavailable ({type(exc).__name__})"
    try:
        import sounddevice

        out["PortAudio"] = sounddevice.get_portaudio_version()[1]
    except Exception:  # noqa: BLE001
        pass
    return out


def about_text() -> str:
    rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
    return ("<h3>spectromon</h3><p>Real-time spectrogram monitor: waterfall, spectrum, "
            "waveform, level meters and a sound-event classifier (YAMNet).</p>"
            f"<table>{rows}</table>")
