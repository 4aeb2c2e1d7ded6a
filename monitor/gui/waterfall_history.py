"""The waterfall's history and clock: the logic of the scrolling picture, no Qt.

:class:`WaterfallHistory` holds a fixed-size ring of columns as uint8 colour indices (and the
dB values, for the cursor readout and for re-colouring when the dB range changes). It uses
Friture's layout: the ring is stored twice side by side (``2 × width`` columns), each new
column written at ``x`` and ``x + width``, so the visible history is always one contiguous
slice and nothing is ever shifted. :class:`StreamClock` is the display's clock in stream
seconds. :mod:`monitor.gui.waterfall` draws them.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from monitor.dsp.features import AnalysisParams, FeatureBatch
from monitor.dsp.frequency_rows import FrequencyRows

__all__ = ["VALUE_MODES", "StreamClock", "WaterfallHistory", "what_changed"]

VALUE_MODES = ("db", "power")  # colour by dB, or by linear power (the article's first picture)


class WaterfallHistory:
    """Fixed-size ring of waterfall columns. No Qt.

    Parameters
    ----------
    params : AnalysisParams
    scale : {'linear', 'log', 'mel'}
    history : float
        Seconds of history kept.
    db_floor, db_ceil : float
        dB mapped to colour index 0 and 255.
    value_mode : {'db', 'power'}
        Colour by dB, or by linear power relative to ``db_ceil``.

    Attributes
    ----------
    rows : FrequencyRows
    merge : int
        Frames merged (max) into one column, so that the width stays under :attr:`MAX_COLUMNS`.
    width : int
        Columns kept.
    head : int
        Columns written since the history started.
    frames : int
        Frames pushed since the history started.
    image : ndarray
        (n_rows, 2 × width) uint8 colour indices.
    """

    MAX_COLUMNS = 2048
    GAP_FRAMES_MAX = 4096  # skipped frames filled with empty columns; more: a new history

    def __init__(self, params: AnalysisParams, scale: str, history: float, db_floor: float,
                 db_ceil: float, value_mode: str = "db") -> None:
        self.params = params
        self.scale = scale
        self.history = float(history)
        self.rows = FrequencyRows(params, scale)
        frames_needed = history / params.seconds_per_frame
        self.merge = max(1, int(math.ceil(frames_needed / self.MAX_COLUMNS)))
        width = int(math.ceil(frames_needed / self.merge))
        self.width = max(4, (width + 3) // 4 * 4)  # 4-byte aligned scan lines for the QImage
        n = self.rows.n_rows
        self.image = np.zeros((n, 2 * self.width), dtype=np.uint8)
        self.db = np.full((n, self.width), -np.inf, dtype=np.float32)
        self.latest: Optional[np.ndarray] = None  # rows of the newest frame, dBFS
        self._recent_max: Optional[np.ndarray] = None  # per-row max since take_recent_max()
        self.head = 0
        self.frames = 0
        self.first_frame: Optional[int] = None
        self._pending = np.zeros((0, n), dtype=np.float32)  # frames of a column not yet full
        # Where the settings changed inside the picture: (column index since the start of
        # this history, what changed), drawn as a marked line.
        self.marks: list[tuple[int, str]] = []
        self.set_levels(db_floor, db_ceil, value_mode)

    # -- time -----------------------------------------------------------------------------------
    @property
    def column_seconds(self) -> float:
        """Time covered by one column, seconds."""
        return self.merge * self.params.seconds_per_frame

    def column_end_time(self, j) -> np.ndarray:
        """Stream time (s) at which column ``j`` was complete: the end of its last frame."""
        p = self.params
        first = self.first_frame or 0
        last_frame = first + (np.asarray(j) + 1) * self.merge - 1
        return (last_frame * p.hop + p.n_fft) / p.samplerate

    @property
    def latest_time(self) -> Optional[float]:
        """Stream time (s) of the newest column's end, None before the first column."""
        if not self.head:
            return None
        # column_end_time(head - 1) in Python numbers: read several times a display tick, and
        # numpy's scalar path cost 3 µs a read; exact integers, then the same one division.
        p = self.params
        last_frame = (self.first_frame or 0) + self.head * self.merge - 1
        return (last_frame * p.hop + p.n_fft) / p.samplerate

    # -- levels ---------------------------------------------------------------------------------
    def set_levels(self, db_floor: float, db_ceil: float, value_mode: str = "db") -> None:
        """Map dB to colour indices anew and re-colour the whole history at once."""
        if value_mode not in VALUE_MODES:
            raise ValueError(f"value mode must be one of {VALUE_MODES}, got {value_mode!r}")
        self.db_floor, self.db_ceil, self.value_mode = float(db_floor), float(db_ceil), value_mode
        codes = self.quantize(self.db)
        self.image[:, :self.width] = codes
        self.image[:, self.width:] = codes

    def quantize(self, db: np.ndarray) -> np.ndarray:
        """dBFS → uint8 colour indices with the current levels."""
        if self.value_mode == "power":
            # Linear power, full colour scale = the dB ceiling: quiet parts vanish, as they do
            # in a linear-power spectrogram.
            x = np.power(10.0, (np.minimum(db, self.db_ceil) - self.db_ceil) / 10.0) * 255.0
        else:
            x = (db - self.db_floor) * (255.0 / (self.db_ceil - self.db_floor))
        # Two ufuncs in place for np.clip (whose Python layers cost more than its loop on a
        # column or two) and the rounding in place: the same values, NaN stays NaN.
        np.maximum(x, 0.0, out=x)
        np.minimum(x, 255.0, out=x)
        x += 0.5
        return x.astype(np.uint8)

    # -- data -----------------------------------------------------------------------------------
    def push(self, batch: FeatureBatch) -> int:
        """Add the frames of ``batch`` (same params); return the number of new columns."""
        if not len(batch):
            return 0
        if self.first_frame is None:
            self.first_frame = batch.first_frame
        rows = self.rows.rows(batch)
        self.latest = rows[-1]
        # The spectrum's peak hold must see every frame, not one per display frame: a sweep
        # passes a row between two draws.
        batch_max = rows[0] if len(rows) == 1 else rows.max(axis=0)  # one frame: no reduce
        if self._recent_max is None:
            self._recent_max = batch_max.copy()
        else:
            np.maximum(self._recent_max, batch_max, out=self._recent_max)
        # A new analysis (another window) starts at the next frame boundary after the audio
        # it had: the frames skipped stay empty, so that every column keeps its time.
        gap = min(batch.first_frame - (self.first_frame + self.frames), self.GAP_FRAMES_MAX)
        if gap > 0:
            rows = np.concatenate((np.full((gap, rows.shape[1]), -np.inf, np.float32), rows))
            self.frames += gap
        self.frames += len(batch)
        if self.merge > 1:
            rows = np.concatenate((self._pending, rows))
            k = rows.shape[0] // self.merge
            self._pending = rows[k * self.merge:]
            # The row count, not -1: with fewer frames than one column (k == 0) numpy cannot
            # infer it, which broke every tick at long histories and small hops.
            rows = rows[:k * self.merge].reshape(k, self.merge, rows.shape[1]).max(axis=1)
        k = rows.shape[0]
        if k == 0:
            return 0
        if k > self.width:  # a burst longer than the history: only its end is visible
            self.head += k - self.width
            rows, k = rows[-self.width:], self.width
        start = self.head % self.width
        if start + k <= self.width:
            # The usual case (a column or two a batch): the new columns are one slice of the
            # ring; slices instead of an index array take 4 of the 10 numpy calls away.
            cols = slice(start, start + k)
            self.db[:, cols] = rows.T
            codes = self.quantize(self.db[:, cols])
            self.image[:, cols] = codes
            self.image[:, start + self.width:start + self.width + k] = codes
        else:
            idx = (self.head + np.arange(k)) % self.width
            cols = rows.T
            self.db[:, idx] = cols
            codes = self.quantize(cols.astype(np.float32))
            self.image[:, idx] = codes
            self.image[:, idx + self.width] = codes
        self.head += k
        return k

    def adopt(self, old: "WaterfallHistory") -> int:
        """Carry over the newest columns of ``old`` (another length of the same analysis and
        scale), so that changing the history length keeps the picture. Returns the columns
        carried over (0 when the geometry differs)."""
        if (old.params != self.params or old.scale != self.scale or old.merge != self.merge
                or old.head == 0):
            return 0
        k = min(old.head, old.width, self.width)
        cols = old.db[:, (old.head - k + np.arange(k)) % old.width]
        self.first_frame, self.head, self.frames = old.first_frame, old.head, old.frames
        self.latest, self._pending = old.latest, old._pending
        pos = (self.head - k + np.arange(k)) % self.width
        self.db[:, pos] = cols
        codes = self.quantize(cols)
        self.image[:, pos] = codes
        self.image[:, pos + self.width] = codes
        return k

    def remap(self, old: "WaterfallHistory", first_frame: Optional[int] = None,
              note: str = "") -> int:
        """Carry the picture of ``old`` (other rows, other column times) into this new, empty
        history: each of its rows takes the old row holding its centre frequency, each column
        the old column of its time, the newest old column ending where this history begins.

        Parameters
        ----------
        old : WaterfallHistory
        first_frame : int, optional
            The first frame this history will be given (its analysis may be new); None: the
            same analysis as ``old`` (a new scale), whose column times carry on.
        note : str
            What changed, for the mark drawn at the change.

        Returns
        -------
        int
            Columns carried over (0: nothing to keep, or no frequency in common).
        """
        k_old = min(old.head, old.width)
        if k_old == 0:
            return 0
        old_cols = old.db[:, (old.head - k_old + np.arange(k_old)) % old.width]
        y = np.floor(old.rows.y_at(self.rows.row_hz)).astype(np.int64)
        valid = (y >= 0) & (y < old.rows.n_rows)
        if not valid.any():
            return 0
        dt_old, dt_new = old.column_seconds, self.column_seconds
        k = min(self.width, int(k_old * dt_old / dt_new + 1e-6))
        if k == 0:
            return 0
        # Column i (oldest first) ends (k-1-i)·dt_new before the newest old column's end.
        back = np.floor((k - 1 - np.arange(k)) * dt_new / dt_old + 1e-9).astype(np.int64)
        cols = old_cols[:, np.clip(k_old - 1 - back, 0, k_old - 1)][
            np.clip(y, 0, old.rows.n_rows - 1)]
        cols[~valid] = -np.inf
        if first_frame is None and old.params == self.params and old.merge == self.merge:
            # The frames of the column not yet full, on the new rows too.
            pending = old._pending[:, np.clip(y, 0, old.rows.n_rows - 1)]
            pending[:, ~valid] = -np.inf
            self.first_frame, self.frames, self._pending = old.first_frame, old.frames, pending
            self.head = old.head
        else:
            start = first_frame if first_frame is not None else \
                (old.first_frame or 0) + old.frames
            self.first_frame = start - k * self.merge
            self.frames = k * self.merge
            self.head = k
        self.latest = None
        pos = (self.head - k + np.arange(k)) % self.width
        self.db[:, pos] = cols
        codes = self.quantize(cols)
        self.image[:, pos] = codes
        self.image[:, pos + self.width] = codes
        # The old marks at their age, and one at this change.
        for column, text in old.marks:
            age = (old.head - column) * dt_old
            at = self.head - int(round(age / dt_new))
            if at > self.head - self.width:
                self.marks.append((at, text))
        if note:
            self.marks.append((self.head, note))
        del self.marks[:-8]
        return k

    def same_rows(self, params: AnalysisParams) -> bool:
        """True when frames of ``params`` fill the same rows and columns as the current ones:
        same rate, frame, hop and frequency range, and on the mel scale the same bands. The
        window and the mel normalisation only change levels, which the rows calibrate."""
        p = self.params
        keys = ("samplerate", "n_fft", "hop", "fmin", "fmax")
        if self.scale == "mel":
            keys += ("n_mels", "htk")
        return all(getattr(p, k) == getattr(params, k) for k in keys)

    def retarget(self, params: AnalysisParams, next_frame: int) -> bool:
        """Take frames of ``params`` from frame ``next_frame`` on into this history, keeping
        its columns, when :meth:`same_rows` allows it and the frames skipped meanwhile are
        few. Returns False (nothing changed) otherwise: then a new history is needed."""
        gap = next_frame - ((self.first_frame or 0) + self.frames)
        if not self.same_rows(params) or gap > self.GAP_FRAMES_MAX:
            return False
        self.params = params
        self.rows = FrequencyRows(params, self.scale)
        return True

    def take_recent_max(self) -> Optional[np.ndarray]:
        """The per-row maximum (dBFS) of every frame pushed since the last call, None if no
        frame came; starts a new maximum."""
        out, self._recent_max = self._recent_max, None
        return out

    def visible(self) -> np.ndarray:
        """The last ``width`` columns, oldest first: a view, (n_rows, width) uint8."""
        start = self.head % self.width
        return self.image[:, start:start + self.width]


class StreamClock:
    """A display clock (seconds of stream) that advances with the wall clock and follows the
    newest column smoothly, so the waterfall scrolls evenly even when columns come in bursts."""

    SNAP_SECONDS = 0.5  # further off than this (start, pause, a stall): jump
    FOLLOW_PER_SECOND = 4.0  # how fast the clock is pulled towards the target

    def __init__(self) -> None:
        self.time: Optional[float] = None
        self._wall: Optional[float] = None

    def reset(self) -> None:
        self.time = None

    def update(self, target: float, wall: float) -> float:
        """Advance to wall time ``wall`` (s) and pull towards stream time ``target`` (s)."""
        if self.time is None or self._wall is None or abs(target - self.time) > self.SNAP_SECONDS:
            self.time = target
        else:
            dt = max(0.0, wall - self._wall)
            self.time += dt
            self.time += (target - self.time) * min(1.0, dt * self.FOLLOW_PER_SECOND)
        self._wall = wall
        return self.time


def what_changed(old: WaterfallHistory, new: WaterfallHistory) -> str:
    """A short note of what differs between two histories' analyses: 'n_fft 4096', 'mel'."""
    p, q = old.params, new.params
    notes = []
    if q.samplerate != p.samplerate:
        notes.append(f"{q.samplerate / 1000:g} kHz")
    for key in ("n_fft", "hop", "n_mels", "fmin", "fmax"):
        if getattr(q, key) != getattr(p, key) and (key != "n_mels" or new.scale == "mel"):
            notes.append(f"{key} {getattr(q, key):g}")
    if new.scale != old.scale:
        notes.append(new.scale)
    if new.history != old.history:
        notes.append(f"{new.history:g} s")
    return ", ".join(notes)
