"""Closing the window without waiting: the slow stops run on a thread of their own.

Stopping the pipeline joins the analysis worker (up to 5 s), lets the recorder write what the
source delivered (up to 0.5 s) and closes the input stream (up to 2 s when the audio server is
stuck). None of that may freeze the window, so :meth:`MainWindow.closeEvent` hands
:meth:`monitor.session.Session.stop` to :func:`stop_in_background`, and the final
:meth:`~monitor.session.Session.close` (which waits for the recording's tail to reach the disk)
runs after the event loop has returned (``monitor.gui.app``).
"""

from __future__ import annotations

import threading

__all__ = ["stop_in_background"]


def stop_in_background(session) -> threading.Thread:
    """Start ``session.stop()`` on a thread named ``session-stop`` and return the thread.

    The thread is not a daemon: an interpreter exiting waits for the recording to be closed.
    """
    thread = threading.Thread(target=session.stop, name="session-stop")
    thread.start()
    return thread
