"""The long-run outputs of one run: a session directory, a level log, periodic snapshots.

Built from the run options (``--session``, ``--level-log``, ``--snapshot-every``,
``--snapshot-dir``) around a :class:`~monitor.session.Session`, before it starts (the level log
hears the audio as an AudioConsumer). The window's tick and the headless loop each make one
call per batch (:meth:`RunOutputs.add`) and one at the end (:meth:`RunOutputs.close`).
"""

from __future__ import annotations

import os
from typing import Optional

from monitor.dsp.features import FeatureBatch
from monitor.errors import ParameterError
from monitor.session_store import SessionWriter
from monitor.snapshots import Snapshotter, parse_period

__all__ = ["RunOutputs", "check_options"]


def check_options(ns) -> None:
    """Refuse bad long-run options now, not after an hour (ParameterError, one line)."""
    every, folder = getattr(ns, "snapshot_every", None), getattr(ns, "snapshot_dir", None)
    if (every is None) != (folder is None):
        raise ParameterError("--snapshot-every and --snapshot-dir go together")
    if every is not None:
        parse_period(every)
    # Refused before anything is created (the writer checks again, exclusively).
    level_log, directory = getattr(ns, "level_log", None), getattr(ns, "session", None)
    if level_log and os.path.lexists(level_log):
        raise ParameterError(f"--level-log: {level_log} exists (never overwritten)")
    if directory and os.path.isdir(directory) and os.listdir(directory):
        raise ParameterError(f"--session: {directory} is not empty (a session is never "
                             f"written over)")
    if directory and os.path.lexists(directory) and not os.path.isdir(directory):
        raise ParameterError(f"--session: {directory} exists and is not a folder")
    if getattr(ns, "open", None) and (getattr(ns, "headless", False)
                                      or getattr(ns, "session", None)):
        raise ParameterError("--open browses a saved session in the window: not with "
                             "--headless or --session")


class RunOutputs:
    """What a run writes besides the live view (any part may be absent).

    Attributes
    ----------
    writer : SessionWriter or None
    snapshots : Snapshotter or None
    """

    def __init__(self, writer: Optional[SessionWriter], snapshots: Optional[Snapshotter]) -> None:
        self.writer = writer
        self.snapshots = snapshots
        self._closed = False

    @classmethod
    def from_options(cls, ns, session) -> Optional[RunOutputs]:
        """The outputs ``ns`` asks for around ``session`` (call before ``session.start()``);
        None when none is asked for."""
        directory = getattr(ns, "session", None)
        level_log = getattr(ns, "level_log", None)
        writer = snapshots = None
        if directory or level_log:
            writer = SessionWriter(directory, session.settings, level_log=level_log,
                                   problems=session.problems, classifier=session.classifier,
                                   blocking=not session.settings.realtime)
            session.consumers.append(writer)
        if getattr(ns, "snapshot_every", None):
            snapshots = Snapshotter(ns.snapshot_dir, parse_period(ns.snapshot_every),
                                    session.settings, session.problems)
        if writer is None and snapshots is None:
            return None
        return cls(writer, snapshots)

    @property
    def session_dir(self) -> Optional[str]:
        return None if self.writer is None else self.writer.directory

    def add(self, batch: FeatureBatch) -> None:
        """One feature batch (cheap: the writer only queues it)."""
        if self.writer is not None:
            self.writer.add(batch)
        if self.snapshots is not None:
            self.snapshots.add(batch)

    def close(self) -> None:
        """Write what is left and close the files (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.writer is not None:
            self.writer.close()


class _Tee:
    """Feeds each batch to several sinks (the headless loop's one ``store.add`` call)."""

    def __init__(self, *sinks) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def add(self, batch: FeatureBatch) -> None:
        for s in self.sinks:
            s.add(batch)


def tee(*sinks):
    """One sink for all of ``sinks`` (None ones left out); None if none is left."""
    t = _Tee(*sinks)
    return t if t.sinks else None
