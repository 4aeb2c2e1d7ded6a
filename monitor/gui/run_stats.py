"""Run statistics for the benchmarks: written as JSON to ``$SPECTROMON_STATS_FILE`` at exit."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from typing import Optional

__all__ = ["RunStats"]


class RunStats:
    """What a run achieved, written as JSON to ``$SPECTROMON_STATS_FILE`` at exit when that
    variable is set: the benchmarks read display fps, late frames, dropped audio and the time
    of the first drawn column from it. Costs one comparison per drawn frame otherwise."""

    def __init__(self) -> None:
        self.frames = 0  # display frames drawn (not paused)
        self.first: Optional[float] = None  # time.monotonic() of the first and latest frame
        self.last: Optional[float] = None
        self.longest_gap = 0.0  # s, the longest time between two drawn frames
        self.first_column_epoch: Optional[float] = None  # time.time() of the first column drawn
        # CPU seconds of the process (all threads) and of the GUI thread until then: start-up
        # figures that the machine's load does not move as much as the wall clock.
        self.first_column_cpu: Optional[float] = None
        self.first_column_gui_cpu: Optional[float] = None

    def drawn(self, now: float, has_columns: bool) -> None:
        if self.last is not None:
            self.longest_gap = max(self.longest_gap, now - self.last)
        else:
            self.first = now
        self.last = now
        self.frames += 1
        if has_columns and self.first_column_epoch is None:
            self.first_column_epoch = time.time()
            self.first_column_cpu = time.process_time()
            self.first_column_gui_cpu = time.thread_time()

    def write(self, window) -> None:
        path = os.environ.get("SPECTROMON_STATS_FILE")
        if not path:
            return
        status = window.pipeline.status()
        span = (self.last - self.first) if self.frames > 1 else 0.0
        data = {"frames_drawn": self.frames, "seconds": span,
                "fps": (self.frames - 1) / span if span > 0 else 0.0,
                "longest_gap_ms": 1e3 * self.longest_gap,
                "first_column_epoch": self.first_column_epoch,
                "first_column_cpu_s": self.first_column_cpu,
                "first_column_gui_cpu_s": self.first_column_gui_cpu,
                "dropped_frames": status.dropped_frames, "overflows": status.overflows,
                "stream_seconds": window.pipeline.worker.stream_time,
                "source": status.source, "samplerate": status.samplerate,
                "classifier": window.classifier is not None,
                "settings": {k: v for k, v in dataclasses.asdict(window.settings).items()
                             if isinstance(v, (int, float, str, bool, type(None)))},
                "problems": [p.text for p in window.session.problems.items()],
                "window": [window.width(), window.height()], "paused": window.paused,
                "full_screen": window.isFullScreen(), "minimised": window.isMinimized()}
        try:
            with open(path, "w") as f:
                json.dump(data, f)
        except OSError as exc:
            print(f"spectromon: cannot write {path}: {exc}", file=sys.stderr)
