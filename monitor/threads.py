"""Threads named at the OS level too, so that ``top -H``, ``ps -L`` and psutil can tell them apart.

``threading.Thread(name=...)`` names a thread for Python only; Linux shows every thread of the
process as ``python``. :class:`NamedThread` also sets the kernel's name of the thread
(``prctl(PR_SET_NAME)``, at most 15 bytes) when it starts, and :func:`set_os_thread_name`
names the calling thread (used once by the audio callback for PortAudio's thread).
Elsewhere than Linux (or without libc) naming does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading

__all__ = ["NamedThread", "Restartable", "one_blas_thread", "set_os_thread_name", "os_thread_name"]

_PR_SET_NAME = 15
_PR_GET_NAME = 16
_LIBC = None
if sys.platform.startswith("linux"):
    try:
        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _LIBC.prctl.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong]
        _LIBC.prctl.restype = ctypes.c_int
    except (OSError, AttributeError):
        _LIBC = None


def set_os_thread_name(name: str) -> bool:
    """Give the calling thread the OS name ``name`` (cut to 15 bytes). True if it was set."""
    if _LIBC is None:
        return False
    raw = name.encode("ascii", "replace")[:15]
    return _LIBC.prctl(_PR_SET_NAME, raw, 0, 0, 0) == 0


def os_thread_name() -> str:
    """The calling thread's OS name ('' where it cannot be read)."""
    if _LIBC is None:
        return ""
    buf = ctypes.create_string_buffer(16)
    if _LIBC.prctl(_PR_GET_NAME, buf, 0, 0, 0) != 0:
        return ""
    return buf.value.decode("ascii", "replace")


class NamedThread(threading.Thread):
    """A :class:`threading.Thread` whose ``name`` is also its OS name (``name`` is required)."""

    def __init__(self, *, name: str, target=None, args=(), kwargs=None, daemon=None) -> None:
        super().__init__(target=target, name=name, args=args, kwargs=kwargs, daemon=daemon)

    def run(self) -> None:
        set_os_thread_name(self.name)
        super().run()


class Restartable:
    """A part with one thread that the session restarts when it dies of an exception.

    The part's thread records why it died in :attr:`failure` and returns; the session's upkeep
    calls :meth:`restart_if_dead`, which starts a new thread (:meth:`_spawn`) and says why, once.
    The part sets ``_thread`` (the running thread), ``_stop`` (a threading.Event set when it is
    stopped on purpose) and implements :meth:`_spawn`.
    """

    failure = None  # why the thread last died, until it is restarted
    restarts = 0  # how often it was

    def _spawn(self) -> None:
        raise NotImplementedError

    def restart_if_dead(self):
        """Start the thread again if it died of an exception; return why it died, else None."""
        thread = self._thread
        if thread is None or thread.is_alive() or self._stop.is_set() or self.failure is None:
            return None
        failure, self.failure = self.failure, None
        self.restarts += 1
        self._spawn()
        return failure


def one_blas_thread() -> None:
    """Let numpy's BLAS (OpenBLAS) run on the calling thread only.

    With its default pool (one thread per core) every matrix product of the measurement
    thread handed work to a pool thread that then spun waiting for more: measured with the
    window at issue 12's settings, a native thread at 40-60 % of a core and the measurement
    thread at 15-17 %; with one BLAS thread, no pool thread and the measurement thread ~5 %.
    The products here are small (a spectrum, a filter bank): a pool buys nothing in real time.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
