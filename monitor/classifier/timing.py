"""When a sound event really starts and ends: patch scores narrowed by the level envelope.

A label shows in the event log after its *smoothed* score rises, so the patch that opens an
event is often one or two after the sound began, and each patch is 0.975 s long. Stamping an
event at the first patch of the smoothing window (what the log did before) put it a median
0.34 s and up to 0.95 s before the sound on real clips in a quiet room; stamping it at the
opening patch would put it late. Here:

1. the *raw* (unsmoothed) scores of the label over the smoothing window say which patch first
   heard it: the earliest of the window's patches with a raw score at or above a floor;
2. within that patch (and a little before it, for a sound that began at the very end of the
   patch before), the level envelope says when: the first 10 ms frame whose level rises well
   above the background before it (``RISE_DB``) and to within ``SPAN_DB`` of the loudest frame
   of the search window.

The end is found the same way backwards: the last patch whose raw score reached the floor,
then the last frame in it still above the threshold. When the envelope shows no rise (a sound
in a loud background, or one that was already going), the patch bounds are kept.

The envelope is YAMNet's own log-mel frames (25 ms frames every 10 ms, 125-7500 Hz) summed
over the bands, so it costs nothing beyond what the classifier computes anyway.
"""

from __future__ import annotations

import collections
from typing import Optional

import numpy as np

from monitor.classifier.frontend import (FRAME_HOP, FRAME_LENGTH, LOG_OFFSET, PATCH_HOP_FRAMES,
                                         SAMPLE_RATE)

__all__ = ["EventTimes", "frame_levels_db", "RISE_DB", "SPAN_DB"]

RISE_DB = 10.0  # a sound's frames stand this far above the background before it
SPAN_DB = 30.0  # ... and within this of the loudest frame around its start (or end)
BACKGROUND_SECONDS = 2.0  # background level: a low percentile of the frames this long before
BACKGROUND_PERCENTILE = 20.0
LEAD_SECONDS = 0.25  # search this much before the first patch that heard the label
TAIL_SECONDS = 0.25  # ... and after the last one
FRAME_SECONDS = FRAME_HOP / SAMPLE_RATE  # 10 ms between frames
FRAME_CENTRE = 0.5 * FRAME_LENGTH / SAMPLE_RATE  # 12.5 ms from a frame's start to its centre
KEEP_SECONDS = 60.0  # envelope kept; longer than any smoothing window (100 patches = 48 s)
KEEP_PATCHES = 128


def frame_levels_db(log_mel: np.ndarray) -> np.ndarray:
    """Level of each log-mel frame, dB: 20 log10 of the summed mel magnitudes.

    Parameters
    ----------
    log_mel : ndarray (n, 64)
        ``log(mel magnitude + 0.001)`` frames (YAMNet's frontend).

    Returns
    -------
    ndarray (n,) float64
        dB relative to a mel magnitude sum of 1 (only differences between frames matter).
    """
    magnitude = np.maximum(np.exp(log_mel.astype(np.float64)) - LOG_OFFSET, 0.0)
    return 20.0 * np.log10(magnitude.sum(axis=1) + 1e-12)


class EventTimes:
    """Patch scores and the level envelope of the current stream, to time events by.

    Fed one patch at a time on the classifier's thread (:meth:`add`); :meth:`onset` and
    :meth:`offset` answer for a label the moment its event opens or closes.

    Parameters
    ----------
    floor : float
        A patch "heard" a label when its raw score reached this.
    """

    def __init__(self, floor: float = 0.05) -> None:
        self.floor = floor
        n = int(KEEP_SECONDS / FRAME_SECONDS)
        self._patches: collections.deque = collections.deque(maxlen=KEEP_PATCHES)
        self._frame_t: collections.deque = collections.deque(maxlen=n)  # frame start, s
        self._frame_db: collections.deque = collections.deque(maxlen=n)
        self._background: dict[int, float] = {}  # label index -> background at its onset, dB

    def reset(self) -> None:
        """A new stream: forget everything."""
        self._patches.clear()
        self._frame_t.clear()
        self._frame_db.clear()
        self._background.clear()

    def add(self, start: float, end: float, scores: np.ndarray, log_mel: np.ndarray) -> None:
        """One patch: ``[start, end)`` stream seconds, its raw scores and its log-mel frames.

        Patches overlap by half; only the frames not yet seen are added to the envelope.
        """
        first_new = 0 if not self._patches else PATCH_HOP_FRAMES
        self._patches.append((start, end, scores))
        levels = frame_levels_db(log_mel[first_new:])
        for j, level in enumerate(levels):
            self._frame_t.append(start + (first_new + j) * FRAME_SECONDS)
            self._frame_db.append(level)

    # -- answers --------------------------------------------------------------------------------
    def onset(self, index: int, lookback: int) -> float:
        """Stream time (s) at which the sound of label ``index`` began, its event opening with
        the latest patch; ``lookback`` patches before it are in the smoothing window."""
        patches = list(self._patches)[-(lookback + 1):]
        heard = [p for p in patches if p[2][index] >= self.floor]
        first = heard[0] if heard else patches[-1]
        lo, hi = first[0] - LEAD_SECONDS, patches[-1][1]
        t, db = self._frames()
        before = db[(t >= lo - BACKGROUND_SECONDS) & (t < lo)]
        inside = (t >= lo) & (t + FRAME_LENGTH / SAMPLE_RATE <= hi)
        if not inside.any():
            return first[0]
        window = db[inside]
        background = (np.percentile(before, BACKGROUND_PERCENTILE) if before.size >= 10
                      else np.percentile(window, BACKGROUND_PERCENTILE))
        self._background[index] = float(background)
        peak = window.max()
        if peak < background + RISE_DB:
            return first[0]  # no rise: the sound was already there, or is buried in noise
        k = int(np.argmax(window >= max(background + RISE_DB, peak - SPAN_DB)))
        return float(t[inside][k] + FRAME_CENTRE)

    def offset(self, index: int, start: float) -> Optional[float]:
        """Stream time (s) at which the sound of label ``index`` (whose event started at
        ``start``) ended, its event closing with the latest patch; None to keep the patch
        bounds."""
        patches = [p for p in self._patches if p[1] > start]
        heard = [p for p in patches if p[2][index] >= self.floor]
        if not heard:
            return None
        last = heard[-1]
        lo, hi = max(start, last[0]), last[1] + TAIL_SECONDS
        t, db = self._frames()
        inside = (t >= lo) & (t <= hi)
        background = self._background.pop(index, None)
        if not inside.any() or background is None:
            return last[1]
        window = db[inside]
        peak = window.max()
        if peak < background + RISE_DB:
            return last[1]
        above = np.flatnonzero(window >= max(background + RISE_DB, peak - SPAN_DB))
        return float(t[inside][above[-1]] + FRAME_CENTRE)

    def _frames(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.fromiter(self._frame_t, np.float64, len(self._frame_t)),
                np.fromiter(self._frame_db, np.float64, len(self._frame_db)))
