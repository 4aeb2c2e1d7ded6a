"""Saving the window as an image file, the way every output is written (:mod:`monitor.outputs`)."""

from __future__ import annotations

import os

from PyQt6 import QtCore, QtWidgets

from monitor.errors import ParameterError
from monitor.outputs import SCREENSHOT_EXTENSIONS, show_path, write_bytes

__all__ = ["save_screenshot"]


def save_screenshot(widget: QtWidgets.QWidget, path: str, option: str = "--screenshot") -> None:
    """Grab ``widget`` and write it to ``path``, a new file (never over an existing name,
    through a link or into a FIFO), whole or not at all; the format follows the extension
    (one of :data:`~monitor.outputs.SCREENSHOT_EXTENSIONS`).

    Raises
    ------
    ParameterError
        One line: bad name or extension, the image could not be encoded, or the write failed.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in SCREENSHOT_EXTENSIONS:
        raise ParameterError(f"{option}: {show_path(path)} must end in .png, .jpg, .jpeg or .bmp")
    image = widget.grab()
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    fmt = "JPG" if ext in (".jpg", ".jpeg") else ext[1:].upper()
    if not image.save(buffer, fmt):
        raise ParameterError(f"{option}: cannot encode the window as {fmt}")
    write_bytes(path, bytes(buffer.data()), option, SCREENSHOT_EXTENSIONS)
