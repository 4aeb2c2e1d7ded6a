"""Where the window opens: a size that fits the screen it opens on, never the fixed 1280×800
that put the right panel, the spectrum and the status bar off a 1024×700 screen."""

from __future__ import annotations

from typing import Optional

from PyQt6 import QtCore, QtGui, QtWidgets

__all__ = ["PREFERRED", "FRAME_MARGIN", "fitted_geometry", "fit_to_screen"]

PREFERRED = QtCore.QSize(1280, 800)  # px: the size the layout is designed for
# Room left for a window manager's frame and title bar (px): the available geometry is the
# screen minus panels, not minus the window's own decorations.
FRAME_MARGIN = QtCore.QSize(16, 40)


def fitted_geometry(available: QtCore.QRect, preferred: QtCore.QSize = PREFERRED,
                    current: Optional[QtCore.QRect] = None) -> QtCore.QRect:
    """The window's client rectangle on a screen whose free area is ``available``.

    Parameters
    ----------
    available : QRect
        ``QScreen.availableGeometry()``, px.
    preferred : QSize
        The size wanted when the screen has room for it, px.
    current : QRect, optional
        A restored geometry: kept where it fits, else shrunk and moved onto the screen.

    Returns
    -------
    QRect
        At most ``available`` less the frame margin, centred when it was not given.
    """
    room_w = max(200, available.width() - FRAME_MARGIN.width())
    room_h = max(200, available.height() - FRAME_MARGIN.height())
    if current is not None and current.isValid():
        w, h = min(current.width(), room_w), min(current.height(), room_h)
        x = min(max(current.x(), available.left()), available.right() + 1 - w)
        y = min(max(current.y(), available.top()), available.bottom() + 1 - h)
        return QtCore.QRect(x, y, w, h)
    w, h = min(preferred.width(), room_w), min(preferred.height(), room_h)
    # move() places the frame's corner: centre the frame, client plus margin.
    x = available.left() + max(0, (available.width() - w - FRAME_MARGIN.width()) // 2)
    y = available.top() + max(0, (available.height() - h - FRAME_MARGIN.height()) // 2)
    return QtCore.QRect(x, y, w, h)


def fit_to_screen(window: QtWidgets.QWidget, restored: bool = False,
                  screen: Optional[QtGui.QScreen] = None) -> QtCore.QRect:
    """Size and place ``window`` to fit its screen (``restored``: keep the geometry restored
    from the last run where it fits). Returns the geometry set."""
    screen = screen or window.screen() or QtWidgets.QApplication.primaryScreen()
    available = screen.availableGeometry()
    rect = fitted_geometry(available, current=window.geometry() if restored else None)
    window.resize(rect.size())
    window.move(rect.topLeft())
    return rect
