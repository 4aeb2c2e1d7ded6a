"""Checks on a file the user names as input (audio, model, labels), before anything reads it.

A directory, a FIFO or a device given as a file gets a line saying what it is (not "no such
file"), and nothing ever opens a FIFO (which would block) or reads ``/dev/zero`` (endless).
Sizes are checked from ``stat`` first, so a wrong multi-gigabyte file is refused in
microseconds instead of being read.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Optional

from monitor.errors import ParameterError
from monitor.outputs import show_path

__all__ = ["check_input_file", "format_bytes"]


def format_bytes(n: float) -> str:
    """``n`` bytes in words: '512 bytes', '3.2 MB', '3.0 GB' (SI units)."""
    if n < 1000:
        return f"{int(n)} bytes"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000.0
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError  # unreachable


def check_input_file(path: str, what: str, max_bytes: Optional[int] = None,
                     allow_empty: bool = False) -> os.stat_result:
    """Refuse, in one line, an input that is not a readable regular file of a sane size.

    Parameters
    ----------
    path : str
    what : str
        What the file is for, starting the message ("cannot read labels", "cannot load model").
    max_bytes : int, optional
        Largest size accepted, bytes.
    allow_empty : bool
        Accept a 0-byte file.

    Returns
    -------
    os.stat_result
        Of the file (links followed: an input may be a link).

    Raises
    ------
    ParameterError
    """
    if not isinstance(path, str) or not path:
        raise ParameterError(f"{what}: no file name given")
    shown = show_path(path)
    head = f"{what} {shown}"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ParameterError(f"{head}: it is a symbolic link to {show_path(os.readlink(path))}, "
                                 f"which does not exist") from None
        raise ParameterError(f"{head}: no such file") from None
    except NotADirectoryError:
        raise ParameterError(f"{head}: no such file (a part of its folder is a file)") from None
    except OSError as exc:
        reason = "a loop of symbolic links" if exc.errno == errno.ELOOP else \
            (exc.strerror or str(exc)).lower()
        raise ParameterError(f"{head}: {reason}") from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise ParameterError(f"{head}: it is a folder, not a file")
    if stat.S_ISFIFO(mode):
        raise ParameterError(f"{head}: it is a named pipe (FIFO), not a file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise ParameterError(f"{head}: it is a device, not a file")
    if stat.S_ISSOCK(mode):
        raise ParameterError(f"{head}: it is a socket, not a file")
    if not stat.S_ISREG(mode):
        raise ParameterError(f"{head}: not a regular file")
    if st.st_size == 0 and not allow_empty:
        raise ParameterError(f"{head}: the file is empty (0 bytes)")
    if max_bytes is not None and st.st_size > max_bytes:
        raise ParameterError(f"{head}: the file is {format_bytes(st.st_size)}, more than the "
                             f"{format_bytes(max_bytes)} accepted (is it the right file?)")
    if not os.access(path, os.R_OK):
        raise ParameterError(f"{head}: permission denied")
    return st
