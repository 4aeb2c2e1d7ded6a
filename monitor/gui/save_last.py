"""'Save last N s' in the window: a button in the view bar and Ctrl+Shift+S, and the watch
list's clip switch, both handed to the session (:meth:`monitor.session.Session.save_preroll`,
:class:`monitor.clips.AlertClips`)."""

from __future__ import annotations

from PyQt6 import QtGui, QtWidgets

from monitor.clips import AlertClips

__all__ = ["add_save_last", "SHORTCUT"]

SHORTCUT = "Ctrl+Shift+S"


def add_save_last(window) -> QtWidgets.QToolButton:
    """Put the 'Save last N s' button into ``window``'s view bar (before its cursor readout),
    bind :data:`SHORTCUT`, and connect the watch list's clip switch to the session's clips
    (made here, off, when the command line gave no ``--save-clips``). Returns the button."""
    session = window.session
    button = QtWidgets.QToolButton()
    seconds = session.settings.preroll
    button.setText(f"⤓ Save last {seconds:g} s")
    button.setToolTip(f"write the last {seconds:g} s of captured audio to a new WAV file "
                      f"({SHORTCUT})")
    button.clicked.connect(lambda: _save(window))
    layout = window.view_bar.layout()
    layout.insertWidget(layout.count() - 2, button)  # before the stretch and the readout
    QtGui.QShortcut(QtGui.QKeySequence(SHORTCUT), window, activated=lambda: _save(window))
    if session.clips is None:
        session.clips = AlertClips(enabled=False)
    view = window.classifier_view
    if view is not None:
        view.clips_check.setChecked(session.clips.enabled)
        view.clips_check.setToolTip(f"{view.clips_check.toolTip()}; into {session.clips.directory}")
        view.clips_check.toggled.connect(lambda on: setattr(session.clips, "enabled", on))
    return button


def _save(window) -> None:
    window.session.save_preroll()
    window.update_status()  # the problem line names the file at once
