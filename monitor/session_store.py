"""Sessions on disk: the analysis written as it goes, crash-safe, in an open layout.

Layout of a session directory (every file created exclusively, never overwritten; all
numbers little-endian; every array file is append-only raw data, readable with
``np.fromfile(path, dtype).reshape(-1, n_rows)``)::

    session.json            format, version, created (UTC ISO), wall clock of stream time 0,
                            the settings in force at the start
    segment-000/            one segment per set of analysis parameters (a new one when they change)
      layout.json           params (samplerate, n_fft, hop, window, n_mels, fmin, fmax, htk,
                            mel_norm), scale, n_rows, row_hz, the dB coding, frames_per_bin
      rows.u8               (frames, n_rows) uint8: the waterfall's display rows (dBFS, see
                            monitor.dsp.frequency_rows), code = round(2·(dB + 120)) clipped to
                            0..255, i.e. dB = code / 2 - 120 in 0.5 dB steps from -120 to +7.5
                            dBFS; code 0 is "at or below -120 dBFS" (silence)
      times.f64             (frames,) float64: stream time of each frame's start, seconds
      frame_levels.f32      (frames, 2) float32: rms_dbfs, peak_dbfs of each frame
      ltsa-mean-L.f32       (bins, n_rows) float32 dB: LTSA level L (monitor.dsp.ltsa), the mean
      ltsa-max-L.f32        in linear power / the max of K·2**L frames, from the *decoded* rows
      ltsa-rms-mean-L.f32   (bins, 1) float32 dB: the frames' rms_dbfs by the same levels
      ltsa-rms-max-L.f32
    events.csv              start_s,label,peak_score,duration_s: classifier events, appended as
                            each ends
    levels.csv              per-minute start_s,duration_s,LAeq,LAFmax,LCpeak,LZeq,LZFmax,LZpeak
                            (dB re full-scale sine, see monitor.dsp.period_levels)

Crash safety: files are only appended to, and flushed to the operating system every
:attr:`SessionWriter.FLUSH_SECONDS` (a kill -9 loses at most that much; the kernel keeps what was
flushed). A reader takes the whole rows common to ``rows.u8``, ``times.f64`` and
``frame_levels.f32``, so a torn last write is ignored.

Writing runs on its own thread, fed by a bounded queue; what does not fit is dropped and
counted (:attr:`SessionWriter.dropped_frames`, reported in the session's problem list).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import queue
import threading
import time
from dataclasses import asdict, is_dataclass
from typing import Optional

import numpy as np

from monitor.dsp.features import AnalysisParams, FeatureBatch
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.dsp.ltsa import LTSA, _Level
from monitor.dsp.period_levels import COLUMNS as LEVEL_COLUMNS
from monitor.dsp.period_levels import PeriodLevels
from monitor.errors import ParameterError
from monitor.outputs import open_exclusive

__all__ = [
    "DB_OFFSET",
    "DB_STEP",
    "FRAMES_PER_BIN",
    "Segment",
    "SessionReader",
    "SessionWriter",
    "create_exclusive",
    "decode_db",
    "encode_db",
]

FORMAT = "spectromon-session"
VERSION = 1
DB_OFFSET = 120.0  # code 0 = -120 dBFS
DB_STEP = 0.5  # dB per code
FRAMES_PER_BIN = 64  # LTSA level 0: 64 frames (0.68 s at 48 kHz, hop 512)
GAP_SECONDS_MAX = 600.0  # frames skipped up to this long are stored as silence (see write())
EVENT_COLUMNS = ("start_s", "label", "peak_score", "duration_s")


def encode_db(db: np.ndarray) -> np.ndarray:
    """dBFS → uint8 codes of the session layout (0.5 dB steps, -120 .. +7.5 dBFS)."""
    x = (np.asarray(db, dtype=np.float32) + np.float32(DB_OFFSET)) * np.float32(1.0 / DB_STEP)
    x = np.nan_to_num(x, nan=0.0, neginf=0.0, posinf=255.0)
    np.clip(x, 0.0, 255.0, out=x)
    return np.rint(x).astype(np.uint8)


_DECODE = (np.arange(256, dtype=np.float32) * np.float32(DB_STEP) - np.float32(DB_OFFSET))
_DECODE[0] = -np.inf
_DECODE.setflags(write=False)


def decode_db(codes: np.ndarray) -> np.ndarray:
    """uint8 codes → dBFS float32 (code 0: ``-inf``, silence)."""
    return _DECODE[codes]


def create_exclusive(path: str, mode: str = "wb"):
    """Open a new file at exactly ``path``, through the app's one exclusive create
    (:func:`monitor.outputs.open_exclusive`: never overwrites, never follows a link)."""
    fd = open_exclusive(path)
    return os.fdopen(fd, mode, **({} if "b" in mode else {"newline": "", "encoding": "utf-8"}))


def write_json_exclusive(path: str, obj) -> None:
    """Write ``obj`` as JSON at ``path``, a new file, so that a reader of a session being written
    sees either no file or the whole of it: written and synced under a temporary name, then
    hard-linked to ``path`` (which, like :func:`create_exclusive`, fails if ``path`` exists).

    A reader polling a live session once caught ``layout.json`` created but still empty
    (JSONDecodeError in tests/test_long_sessions.py at load 5). Where the file system has no
    hard links (FAT, some network shares) the file is created in place instead.
    """
    tmp = f"{path}.{os.getpid()}.tmp"
    with create_exclusive(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        os.unlink(tmp)
        raise
    except OSError:  # no hard links here
        os.unlink(tmp)
        with create_exclusive(path, "w") as f:
            json.dump(obj, f, indent=1)
        return
    os.unlink(tmp)


def _jsonable(value):
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def make_session_dir(directory: str) -> None:
    """Create ``directory`` (or accept an existing empty one); anything else is refused."""
    if os.path.isdir(directory):
        if os.listdir(directory):
            raise ParameterError(f"--session: {directory} is not empty (a session is never "
                                 f"written over)")
        return
    parent = os.path.dirname(os.path.abspath(directory))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise ParameterError(f"--session: cannot create {directory} (no such folder, or not "
                             f"writable)")
    try:
        os.mkdir(directory)
    except OSError as exc:
        raise ParameterError(f"--session: cannot create {directory}: {exc.strerror}") from None


class _SegmentWriter:
    """The files of one segment, written by the writer thread only."""

    def __init__(self, directory: str, index: int, params: AnalysisParams, scale: str,
                 first_frame: int) -> None:
        self.params = params
        self.path = os.path.join(directory, f"segment-{index:03d}")
        os.mkdir(self.path)
        self.rows = FrequencyRows(params, scale)
        n = self.rows.n_rows
        layout = {"params": _jsonable(params), "scale": scale, "n_rows": n,
                  "row_hz": [round(float(f), 4) for f in self.rows.row_hz],
                  "first_frame": int(first_frame), "frames_per_bin": FRAMES_PER_BIN,
                  "rows": {"file": "rows.u8", "dtype": "uint8", "shape": ["frames", n],
                           "decode": f"dB = code * {DB_STEP} - {DB_OFFSET}; code 0: silence"},
                  "times": {"file": "times.f64", "dtype": "<f8",
                            "meaning": "stream time of each frame's start, s"},
                  "frame_levels": {"file": "frame_levels.f32", "dtype": "<f4",
                                   "shape": ["frames", 2], "columns": ["rms_dbfs", "peak_dbfs"]},
                  "ltsa": {"files": "ltsa-mean-L.f32, ltsa-max-L.f32", "dtype": "<f4",
                           "shape": ["bins", n], "frames_per_bin": "frames_per_bin * 2**L"},
                  "rms_ltsa": {"files": "ltsa-rms-mean-L.f32, ltsa-rms-max-L.f32",
                               "dtype": "<f4", "shape": ["bins", 1],
                               "meaning": "per-frame rms_dbfs by the same levels"}}
        write_json_exclusive(os.path.join(self.path, "layout.json"), layout)
        self._files = {name: create_exclusive(os.path.join(self.path, name))
                       for name in ("rows.u8", "times.f64", "frame_levels.f32")}
        self._ltsa_files: dict[tuple[str, int], io.BufferedWriter] = {}
        self.ltsa = LTSA(n, FRAMES_PER_BIN, keep_bins=2, on_bin=self._bin)
        self.rms_ltsa = LTSA(1, FRAMES_PER_BIN, keep_bins=2, on_bin=self._rms_bin)
        self.frames = 0
        self.first_frame = int(first_frame)
        self._t0 = first_frame * params.seconds_per_frame

    def _rms_bin(self, level: int, index: int, mean: np.ndarray, mx: np.ndarray) -> None:
        self._bin(level, index, mean, mx, ("rms-mean", "rms-max"))

    def _bin(self, level: int, index: int, mean: np.ndarray, mx: np.ndarray,
             kinds=("mean", "max")) -> None:
        for kind, data in zip(kinds, (mean, mx)):
            key = (kind, level)
            f = self._ltsa_files.get(key)
            if f is None:
                f = self._ltsa_files[key] = create_exclusive(
                    os.path.join(self.path, f"ltsa-{kind}-{level}.f32"))
            f.write(np.ascontiguousarray(data, "<f4").tobytes())

    def write(self, batch: FeatureBatch) -> None:
        """Append a batch. Frames are contiguous on disk (frame i at times[0] + i · hop / rate):
        frames the analysis skipped (up to GAP_SECONDS_MAX) are stored as silence, and a stream
        that starts again from 0 (a reopened input) continues the segment's clock."""
        gap = batch.first_frame - (self.first_frame + self.frames)
        if 0 < gap <= GAP_SECONDS_MAX / self.params.seconds_per_frame:
            for k in range(0, gap, 4096):
                m = min(4096, gap - k)
                self._append(np.zeros((m, self.n_rows), np.uint8),
                             np.full((m, 2), -np.inf, np.float32))
        codes = encode_db(self.rows.rows(batch))
        self._append(codes, np.stack((batch.rms_dbfs, batch.peak_dbfs), axis=1))

    @property
    def n_rows(self) -> int:
        return self.rows.n_rows

    def _append(self, codes: np.ndarray, levels: np.ndarray) -> None:
        n = codes.shape[0]
        times = self._t0 + (self.frames + np.arange(n)) * self.params.seconds_per_frame
        self._files["rows.u8"].write(codes.tobytes())
        self._files["times.f64"].write(times.astype("<f8").tobytes())
        self._files["frame_levels.f32"].write(levels.astype("<f4").tobytes())
        # The LTSA is of the decoded codes: the overview of a reopened session is exactly the
        # mean of the columns a scroll-back shows.
        self.ltsa.push(decode_db(codes))
        self.rms_ltsa.push(levels[:, :1])
        self.frames += n

    def flush(self) -> None:
        for f in list(self._files.values()) + list(self._ltsa_files.values()):
            f.flush()

    def close(self) -> None:
        for f in list(self._files.values()) + list(self._ltsa_files.values()):
            f.flush()
            os.fsync(f.fileno())  # on the disk, not only in the kernel, once the run ends
            f.close()


class SessionWriter:
    """Writes a session directory and/or a per-minute level log from its own thread.

    Parameters
    ----------
    directory : str or None
        The session directory (created; must not exist or be empty). None: no session.
    settings : Settings
        Saved in ``session.json``; ``scale`` is the scale of the stored rows.
    level_log : str or None
        Also append the per-minute levels to this CSV (created exclusively).
    problems : Problems, optional
        Where drops and write errors are reported (key ``session``).
    period : float
        Seconds per level-log row (60).
    classifier : SoundEventClassifier, optional
        Its closed events are appended to ``events.csv``.
    blocking : bool
        Wait for room in the queue instead of dropping (offline processing of a file).

    It is an :class:`~monitor.worker.AudioConsumer` (``feed``: the levels) and takes the feature
    batches through :meth:`add` (the display tick / headless loop).
    """

    FLUSH_SECONDS = 1.0
    # The queue is bounded in bytes, not items (a batch can be 2 frames or 2000): 32 MiB is
    # about a minute of batches and audio at the defaults (16 KiB per frame of 1025 bins
    # and its audio) before anything is dropped.
    QUEUE_BYTES = 32 * 2**20

    def __init__(self, directory: Optional[str], settings, level_log: Optional[str] = None,
                 problems=None, period: float = 60.0, classifier=None,
                 blocking: bool = False) -> None:
        self.directory = directory
        self.settings = settings
        self.scale = settings.scale
        self.problems = problems
        self.classifier = classifier
        self.period = float(period)
        self.blocking = bool(blocking)  # offline runs wait for the writer instead of dropping
        self.dropped_frames = 0  # frames of feature batches not written (queue full)
        self.dropped_samples = 0  # audio samples not integrated into the level log
        self.frames_written = 0
        self.error: Optional[str] = None
        self._queue: queue.Queue = queue.Queue()
        self._queued_bytes = 0
        self._room = threading.Condition()
        self._segments: list[_SegmentWriter] = []
        self._levels: Optional[PeriodLevels] = None
        self._level_files = []
        self._events_file = None
        self._events_written: set = set()
        self._events_seen: tuple = (0, None)
        self._t0_wall = time.time()
        if directory is not None:
            make_session_dir(directory)
            meta = {"format": FORMAT, "version": VERSION,
                    "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "wall_time_at_zero": self._t0_wall, "settings": _jsonable(settings)}
            write_json_exclusive(os.path.join(directory, "session.json"), meta)
            self._level_files.append(self._csv(os.path.join(directory, "levels.csv"),
                                               LEVEL_COLUMNS))
            self._events_file = self._csv(os.path.join(directory, "events.csv"), EVENT_COLUMNS)
        if level_log is not None:
            try:
                self._level_files.append(self._csv(level_log, LEVEL_COLUMNS))
            except FileExistsError:
                raise ParameterError(f"--level-log: {level_log} exists "
                                     f"(never overwritten)") from None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        self._thread.start()

    @staticmethod
    def _csv(path: str, header) -> tuple:
        f = create_exclusive(path, "w")
        w = csv.writer(f)
        w.writerow(header)
        f.flush()
        return f, w

    # -- producers (any thread; never block) --------------------------------------------------
    def add(self, batch: FeatureBatch) -> None:
        """Queue a feature batch to be written (the tick / headless loop)."""
        if self.directory is None or not len(batch):
            return
        nbytes = batch.power_db.nbytes + batch.mel_db.nbytes + 12 * len(batch)
        self._put(("batch", batch), len(batch), "frames", nbytes)
        self._check_events()

    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None:
        """AudioConsumer: queue a copy of the captured mono mix for the level log."""
        if self._level_files:
            self._put(("audio", np.array(mono, dtype=np.float32), samplerate), mono.size,
                      "samples", mono.size * 4)

    def _put(self, item, n: int, unit: str, nbytes: int = 0) -> None:
        with self._room:
            full = self._queued_bytes > 0 and self._queued_bytes + nbytes > self.QUEUE_BYTES
            while full and self.blocking and self._thread.is_alive():
                self._room.wait(0.5)
                full = self._queued_bytes > 0 and self._queued_bytes + nbytes > self.QUEUE_BYTES
            if not full:
                self._queued_bytes += nbytes
        if not full:
            self._queue.put((nbytes, item))
        else:
            if unit == "frames":
                self.dropped_frames += n
            else:
                self.dropped_samples += n
            if self.problems is not None:
                self.problems.report("session", f"session writer behind: {self.dropped_frames} "
                                     f"frames, {self.dropped_samples} samples not written",
                                     "warning")

    def _check_events(self) -> None:
        c = self.classifier
        if c is None or self._events_file is None:
            return
        events = c.events
        mark = (len(events), events[-1] if events else None)  # the log is capped: not len only
        if mark == self._events_seen:
            return
        self._events_seen = mark
        done = [e for e in events if not e.open and (e.start, e.label) not in self._events_written]
        for e in done:
            self._events_written.add((e.start, e.label))
        if done:
            self._put(("events", done), 0, "frames")

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        last_flush = time.monotonic()
        while True:
            try:
                nbytes, item = self._queue.get(timeout=0.2)
            except queue.Empty:
                nbytes, item = 0, None
            if item is not None and self.error is None:
                try:
                    self._write(item)
                except Exception as exc:  # noqa: BLE001 - reported; the monitor goes on
                    self.error = f"session: {type(exc).__name__}: {exc}"
                    if self.problems is not None:
                        self.problems.report("session", f"cannot write the session: {exc}", "error")
            if item is not None:
                with self._room:
                    self._queued_bytes -= nbytes
                    self._room.notify_all()
            now = time.monotonic()
            if now - last_flush >= self.FLUSH_SECONDS:
                self._flush()
                last_flush = now
            if item is None and self._stop.is_set():
                return

    def _write(self, item) -> None:
        kind = item[0]
        if kind == "batch":
            batch = item[1]
            seg = self._segments[-1] if self._segments else None
            if seg is None or seg.params != batch.params:
                if seg is not None:
                    seg.close()
                seg = _SegmentWriter(self.directory, len(self._segments), batch.params,
                                     self.scale, batch.first_frame)
                self._segments.append(seg)
            seg.write(batch)
            self.frames_written += len(batch)
        elif kind == "audio":
            _, mono, sr = item
            start = 0.0
            if self._levels is not None and self._levels.samplerate != sr:
                row = self._levels.row()  # another input rate: close the period so far
                if row is not None:
                    self._write_level(row)
                start = self._levels.start_s + self._levels.samples / self._levels.samplerate
                self._levels = None
            if self._levels is None:
                self._levels = PeriodLevels(sr, self.period, start)
            for row in self._levels.feed(mono):
                self._write_level(row)
        elif kind == "events":
            f, w = self._events_file
            for e in item[1]:
                # our own columns (EVENT_COLUMNS), whatever the classifier's CSV holds
                w.writerow([f"{e.start:.3f}", e.label, f"{e.peak:.4f}", f"{e.duration:.3f}"])

    def _write_level(self, row: dict) -> None:
        out = [f"{row['start_s']:.3f}", f"{row['duration_s']:.3f}"]
        out += ["" if row[k] is None else f"{row[k]:.2f}" for k in LEVEL_COLUMNS[2:]]
        for f, w in self._level_files:
            w.writerow(out)
            f.flush()

    def _flush(self) -> None:
        for seg in self._segments[-1:]:
            seg.flush()
        if self._events_file is not None:
            self._events_file[0].flush()

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, the last partial level row and the events still open; close."""
        if self._stop.is_set():
            return
        self._check_events()
        if self.classifier is not None and self._events_file is not None:
            still = [e for e in self.classifier.events if e.open]
            if still:
                self._put(("events", still), 0, "frames")
        self._stop.set()
        self._thread.join(timeout)
        if self._levels is not None and self.error is None:
            row = self._levels.row()
            if row is not None:
                self._write_level(row)
        for seg in self._segments:
            seg.close()
        for f, _ in self._level_files:
            f.close()
        if self._events_file is not None:
            self._events_file[0].close()

    def status(self) -> dict:
        return {"frames_written": self.frames_written, "dropped_frames": self.dropped_frames,
                "dropped_samples": self.dropped_samples}


# -- reading ------------------------------------------------------------------------------------
class Segment:
    """One segment of a saved session, read lazily (it may still be growing).

    Attributes
    ----------
    params : AnalysisParams
    scale : str
    rows : FrequencyRows
    n_rows : int
    """

    def __init__(self, path: str) -> None:
        self.path = path
        with open(os.path.join(path, "layout.json"), encoding="utf-8") as f:
            self.layout = json.load(f)
        self.params = AnalysisParams(**self.layout["params"])
        self.scale = self.layout["scale"]
        self.rows = FrequencyRows(self.params, self.scale)
        self.n_rows = int(self.layout["n_rows"])
        self.frames_per_bin = int(self.layout["frames_per_bin"])
        self._times: Optional[np.ndarray] = None

    def _size(self, name: str) -> int:
        try:
            return os.path.getsize(os.path.join(self.path, name))
        except OSError:
            return 0

    @property
    def frames(self) -> int:
        """Whole frames present in every per-frame file."""
        return min(self._size("rows.u8") // self.n_rows, self._size("times.f64") // 8,
                   self._size("frame_levels.f32") // 8)

    def times(self) -> np.ndarray:
        """Stream time (s) of each frame's start (a read-only memory map)."""
        n = self.frames
        if self._times is None or self._times.shape[0] != n:
            self._times = (np.memmap(os.path.join(self.path, "times.f64"), "<f8", "r", shape=(n,))
                           if n else np.zeros(0))
        return self._times

    def codes(self, i0: int, i1: int) -> np.ndarray:
        """uint8 codes of frames ``[i0, i1)``, (n, n_rows)."""
        i0, i1 = max(0, i0), min(i1, self.frames)
        if i1 <= i0:
            return np.zeros((0, self.n_rows), np.uint8)
        with open(os.path.join(self.path, "rows.u8"), "rb") as f:
            f.seek(i0 * self.n_rows)
            data = np.frombuffer(f.read((i1 - i0) * self.n_rows), np.uint8)
        return data.reshape(i1 - i0, self.n_rows)

    def db(self, i0: int, i1: int) -> np.ndarray:
        """Decoded dBFS rows of frames ``[i0, i1)``, (n, n_rows) float32."""
        return decode_db(self.codes(i0, i1))

    def frame_levels(self) -> np.ndarray:
        """(frames, 2) float32 rms_dbfs, peak_dbfs (a memory map)."""
        n = self.frames
        if not n:
            return np.zeros((0, 2), np.float32)
        return np.memmap(os.path.join(self.path, "frame_levels.f32"), "<f4", "r", shape=(n, 2))

    def index_at(self, t: float) -> int:
        """Index of the first frame starting after stream time ``t`` (s)."""
        return int(np.searchsorted(self.times(), t, side="right"))

    def ltsa(self, what: str = "") -> LTSA:
        """The stored LTSA levels as an :class:`LTSA` (memory maps; every level drawable);
        ``what='rms-'``: the per-frame RMS level's (one row)."""
        n_rows = 1 if what else self.n_rows
        ltsa = LTSA(n_rows, self.frames_per_bin, keep_bins=1 << 62)
        level = 0
        while True:
            names = [f"ltsa-{what}{k}-{level}.f32" for k in ("mean", "max")]
            bins = min(self._size(n) for n in names) // (4 * n_rows)
            if bins == 0:
                break
            lv = _Level(n_rows, 1)
            lv.mean, lv.max = (np.memmap(os.path.join(self.path, n), "<f4", "r",
                                         shape=(bins, n_rows)) for n in names)
            lv.count = bins
            ltsa.levels.append(lv)
            level += 1
        ltsa.frames = min(self.frames, ltsa.bins(0) * self.frames_per_bin) if ltsa.levels else 0
        return ltsa


class SessionReader:
    """A saved (or still growing) session directory.

    Attributes
    ----------
    meta : dict
        ``session.json``.
    segments : list of Segment
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        path = os.path.join(directory, "session.json")
        try:
            with open(path, encoding="utf-8") as f:
                self.meta = json.load(f)
        except FileNotFoundError:
            raise ParameterError(f"--open: {directory} is not a spectromon session "
                                 f"(no session.json)") from None
        except (OSError, ValueError) as exc:
            raise ParameterError(f"--open: cannot read {path}: {exc}") from None
        if self.meta.get("format") != FORMAT:
            raise ParameterError(f"--open: {directory} is not a spectromon session")
        self.refresh()

    def refresh(self) -> None:
        """Look for new segments (a session being written)."""
        names = sorted(n for n in os.listdir(self.directory) if n.startswith("segment-"))
        known = {s.path for s in getattr(self, "segments", [])}
        self.segments = [s for s in getattr(self, "segments", [])]
        for n in names:
            p = os.path.join(self.directory, n)
            if p not in known and os.path.exists(os.path.join(p, "layout.json")):
                try:
                    self.segments.append(Segment(p))
                except (ValueError, KeyError, TypeError):  # torn by a crash on a file system
                    continue  # without hard links: the segment holds no readable frame

    @property
    def settings(self) -> dict:
        return dict(self.meta.get("settings", {}))

    def main_segment(self) -> Optional[Segment]:
        """The segment with the most frames (the one the overview shows)."""
        return max(self.segments, key=lambda s: s.frames, default=None)

    def events(self) -> list:
        """Classifier events: ``[(start_s, label, peak, duration_s), ...]``."""
        return [(float(r["start_s"]), r["label"], float(r["peak_score"]), float(r["duration_s"]))
                for r in _csv_rows(os.path.join(self.directory, "events.csv"))]

    def levels(self) -> list[dict]:
        """The per-minute level log rows (values float or None)."""
        out = []
        for r in _csv_rows(os.path.join(self.directory, "levels.csv")):
            out.append({k: (float(v) if v not in ("", None) else None) for k, v in r.items()})
        return out


def _csv_rows(path: str) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]  # a torn last line (a crash mid-write) is left out
    return list(csv.DictReader(io.StringIO(text)))
