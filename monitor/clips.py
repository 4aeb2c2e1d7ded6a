"""Clips on alerts (``--save-clips DIR``): when a watched label fires, keep what was heard.

Each alert of the classifier's watch list saves one WAV file, ``DIR/YYYYmmdd-HHMMSS-LABEL.wav``,
holding the whole pre-roll before the alert (``--preroll``, default 30 s) and going on until
``clip_after`` seconds (default 5) after the label's event ends, i.e. after the label has left
both the event log's open events and the watch list's active labels. The file is written live
by the recorder's thread (see :meth:`monitor.recorder.Recorder.save_clip`), so a crash leaves a
valid file of what was captured until then. Its name goes into the event's row in the log and
in the events CSV.

A label that fires again while its clip is still being written extends that clip instead of
starting another one. A clip lasts at most :data:`MAX_CLIP_AFTER` seconds past its alert.

The session calls :meth:`AlertClips.poll` from its upkeep (the window's status timer, the
headless loop), so nothing here runs on an audio or analysis thread.
"""

from __future__ import annotations

import os
from typing import Optional

from monitor.errors import ParameterError

__all__ = ["AlertClips", "MAX_CLIP_AFTER"]

MAX_CLIP_AFTER = 3600.0  # s: the recorder's limit; a clip still open then simply ends


class AlertClips:
    """Saves a clip for each alert of the watch list.

    Parameters
    ----------
    directory : str, optional
        Where clips go; default: the current folder.
    enabled : bool
        Save clips now (the window's switch turns it on and off).

    Attributes
    ----------
    saved : list of str
        Every clip path started, oldest first.
    pending : dict
        ``{label: path}`` of the clips still waiting for their event to end.
    """

    def __init__(self, directory: Optional[str] = None, enabled: bool = True) -> None:
        self.directory = directory or os.getcwd()
        self.enabled = enabled
        self.saved: list[str] = []
        self.pending: dict[str, str] = {}
        self._seen = None  # the newest alert handled
        self._recorder = None

    def poll(self, session) -> None:
        """Start clips for the alerts fired since the last call; end those whose event ended."""
        classifier, pipeline = session.classifier, session.pipeline
        if classifier is None or pipeline is None:
            return
        recorder = pipeline.recorder
        if recorder is not self._recorder:  # a new source: its recorder has none of ours
            self._recorder, self.pending = recorder, {}
        snap = classifier.snapshot
        new = self._new_alerts(snap.alerts)
        if self.enabled:
            for alert in new:
                if alert.label not in self.pending:
                    self._start(session, classifier, recorder, alert.label)
        if self.pending:
            going = set(snap.active_watch) | {e.label for e in snap.events if e.open}
            after = float(session.settings.clip_after)
            for label in [k for k in self.pending if k not in going]:
                recorder.end_clip(self.pending.pop(label), after)

    def _new_alerts(self, alerts: tuple) -> list:
        if not alerts:
            return []
        if self._seen is None:
            new = list(alerts)
        else:
            for i in range(len(alerts) - 1, -1, -1):
                if alerts[i] is self._seen:
                    new = list(alerts[i + 1:])
                    break
            else:  # older than the alerts kept: all of these are new
                new = list(alerts)
        self._seen = alerts[-1]
        return new

    def _start(self, session, classifier, recorder, label: str) -> None:
        try:
            path = recorder.save_clip(recorder.preroll_seconds, MAX_CLIP_AFTER, label,
                                      self.directory)
        except ParameterError as exc:
            session.problems.report("clips", f"cannot save a clip of {label}: {exc}", "error")
            return
        self.pending[label] = path
        self.saved.append(path)
        classifier.attach_clip(label, path)
        session.problems.report("clips", f"{label}: saving a clip to {path}", "info")
