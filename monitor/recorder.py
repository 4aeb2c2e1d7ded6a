"""Capture to disk, independent of the analysis: recording, pre-roll ("save the last 30 s") and
clips.

The source copies every block it captures into the recorder's own ring (a *tap*, see
:meth:`monitor.sources.base.Source.add_tap`) before the analysis ring, so however far behind the
analysis falls, the recorder sees every sample. The recorder's writer thread (named
``recorder``) drains that ring into

- the pre-roll memory: the last ``preroll_seconds`` of captured audio, always kept;
- the recording, if any (``--record``);
- saved pre-rolls and clips, which start in the pre-roll memory and may go on into live audio.

Every output is at the *stream position* of its frames: frames counted since the recorder
started, silence included. When the writer itself falls behind its ring by more than the ring
holds (a disk that stalls for more than :data:`RING_SECONDS`), the lost stretch is written as
silence, so that time in the file stays aligned with the wall clock, and it is counted
(:attr:`Recorder.gaps`, :attr:`Recorder.gap_frames`), logged, and listed in a sidecar
``FILE.gaps.csv`` next to each file it falls in.

The files themselves (formats, what survives a crash, exclusive names) are
:mod:`monitor.audio_file`'s.
"""

from __future__ import annotations

import atexit
import collections
import csv
import logging
import os
import queue
import re
import threading
import time
import weakref
from typing import Callable, Optional

import numpy as np

from monitor.audio_file import AudioFile, RecordingError, reserve, reserve_unique
from monitor.errors import ParameterError
from monitor.ringbuffer import RingBuffer
from monitor.threads import NamedThread

__all__ = ["Recorder", "RING_SECONDS", "PREROLL_SECONDS", "MAX_PREROLL_SECONDS"]

logger = logging.getLogger(__name__)

RING_SECONDS = 40.0  # the writer (the disk) may stall this long without a sample lost
PREROLL_SECONDS = 30.0  # default pre-roll kept in memory
MAX_PREROLL_SECONDS = 600.0  # 10 min: 230 MB at 48 kHz stereo float32
SYNC_SECONDS = 0.5  # header rewritten and file synced this often: a kill -9 loses less
CHUNK_SECONDS = 0.1  # most audio moved per pass of the writer (bounds every copy)
# Longest outage filled with silence: an hour (690 MB at 48 kHz mono float32, written in a few
# seconds while the new input waits in the 40 s ring). A longer one is filled to an hour; its
# row in .gaps.csv (with the UTC time it was noted) still places what follows.
MAX_INPUT_GAP_SECONDS = 3600.0
WRITER_BEHIND = "writer behind"  # why a gap was filled: the disk stalled past the ring
INPUT_LOST = "input lost"  # the input was lost and came back: its absence, kept in time
# The writer's longest wait when its ring is empty (a request or stop() wakes it at once; with
# files open it also wakes for each sync). Every wake costs ~0.1 ms of CPU here, whatever it
# moves: at 0.02 s the thread took 1.1 % of a core in the app, at 0.2 s
# 0.1-0.2 % (``python -m bench.app_ab``; ``bench.feed_probe`` splits it). The ring holds at
# least RING_POLLS waits.
POLL_SECONDS = 0.2
RING_POLLS = 4  # the ring holds at least this many waits (RING_SECONDS holds 200)
STOP_SECONDS = 0.5  # longest stop() blocks its caller
EXIT_SECONDS = 30.0  # at interpreter exit, wait this long for writers to close their files

# -- the writer's pieces -------------------------------------------------------------------------
class _History:
    """The last ``capacity`` frames of the stream, owned by the writer thread."""

    def __init__(self, capacity: int, channels: int) -> None:
        self.capacity = capacity
        self._buf = np.zeros((capacity, channels), dtype=np.float32)
        self.end = 0  # stream position after the newest frame

    @property
    def oldest(self) -> int:
        return max(0, self.end - self.capacity)

    def append(self, block: np.ndarray) -> None:
        n = block.shape[0]  # at most one chunk, far below capacity
        i = self.end % self.capacity
        first = min(n, self.capacity - i)
        self._buf[i:i + first] = block[:first]
        self._buf[: n - first] = block[first:]
        self.end += n

    def get(self, lo: int, hi: int) -> np.ndarray:
        """Frames at stream positions [lo, hi), which must still be held."""
        assert self.oldest <= lo <= hi <= self.end
        i, n = lo % self.capacity, hi - lo
        first = min(n, self.capacity - i)
        return np.concatenate((self._buf[i:i + first], self._buf[: n - first]))


class _Sink:
    """One output at stream positions [start, stop) (stop None: until stopped)."""

    def __init__(self, kind: str, file: AudioFile, start: int, stop: Optional[int]) -> None:
        self.kind = kind  # 'recording', 'preroll' or 'clip'
        self.file = file
        self.start = max(0, start)
        self.stop = stop
        self.error: Optional[str] = None
        self.gaps: list[tuple[int, int]] = []  # (file frame, frames) of silence filled in
        self.done = threading.Event()
        self._gaps_csv = None

    def note_gap(self, file_frame: int, frames: int, reason: str = WRITER_BEHIND) -> None:
        """List a stretch of silence in the sidecar FILE.gaps.csv, with why it is there
        (:data:`WRITER_BEHIND` or :data:`INPUT_LOST`)."""
        self.gaps.append((file_frame, frames))
        sr = self.file.samplerate
        try:
            if self._gaps_csv is None:
                path = self.file.path + ".gaps.csv"
                self._gaps_csv = os.fdopen(reserve(path), "w", newline="")
                csv.writer(self._gaps_csv).writerow(
                    ["file_frame", "frames", "file_seconds", "seconds", "noted_utc", "reason"])
            csv.writer(self._gaps_csv).writerow(
                [file_frame, frames, f"{file_frame / sr:.6f}", f"{frames / sr:.6f}",
                 time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), reason])
            self._gaps_csv.flush()
        except (OSError, ParameterError) as exc:
            logger.error("cannot list the gap in %s.gaps.csv: %s", self.file.path, exc)

    def close(self) -> None:
        if self._gaps_csv is not None:
            try:
                self._gaps_csv.close()
            except OSError:
                pass
        self.file.close()


def _label(text: str) -> str:
    """A label fit for a file name: letters, digits, '-', '_' and '.' only."""
    return re.sub(r"[^\w.-]+", "_", text).strip("._")[:60] or "clip"


_live: "weakref.WeakSet[Recorder]" = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    # The writer is a daemon thread (a disk that hangs must not hang the exit forever), so
    # give it a while to write the tail and close its files before the interpreter ends.
    deadline = time.monotonic() + EXIT_SECONDS
    for rec in list(_live):
        rec.stop(timeout=0)
        rec.join(max(0.0, deadline - time.monotonic()))


# -- the recorder ----------------------------------------------------------------------------------
class Recorder:
    """Records what a source captures, on its own thread, and keeps a pre-roll in memory.

    Use: construct (a bad path is a :class:`ParameterError` here), :meth:`attach` to the
    source, :meth:`start`, then start the source; at the end stop the source, then
    :meth:`stop` (which never blocks more than ~0.5 s) and, before the process exits,
    :meth:`join`.

    Parameters
    ----------
    samplerate : float
        Hz.
    channels : int
        Channels per frame, as the source captures them (all are recorded).
    path : str, optional
        Record to this file (``.wav``) from the start.
    preroll_seconds : float
        Seconds of audio always kept in memory for :meth:`save_preroll` and :meth:`save_clip`
        (0 < s ≤ 600).
    ring_seconds : float
        Seconds the writer may fall behind (a slow or stalled disk) before audio is replaced
        by silence (counted as a gap).
    on_saved : callable, optional
        ``on_saved(path, error)`` called on the writer thread whenever an output file is closed
        (error None when complete).

    Attributes
    ----------
    ring : RingBuffer
        The tap the source writes into.
    error : str or None
        The last write failure, e.g. 'recording stopped: the disk /media/card is full (...)'.
        Monitoring goes on; the file written so far is closed and valid.
    gaps, gap_frames : int
        Stretches (and frames) of silence written because the writer fell behind its ring.
    input_gaps, input_gap_frames : int
        Stretches (and frames) of silence written for the time the input was lost
        (:meth:`insert_silence`), so that the recording keeps wall-clock time.
    position : int
        Frames through the writer so far (silence included): the stream position.
    """

    def __init__(self, samplerate: float, channels: int, path: Optional[str] = None,
                 preroll_seconds: float = PREROLL_SECONDS, ring_seconds: float = RING_SECONDS,
                 on_saved: Optional[Callable[[str, Optional[str]], None]] = None) -> None:
        if not 0 < preroll_seconds <= MAX_PREROLL_SECONDS:
            raise ParameterError(f"pre-roll must be more than 0 and at most "
                                 f"{MAX_PREROLL_SECONDS:g} s, not {preroll_seconds:g}")
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.preroll_seconds = float(preroll_seconds)
        self.on_saved = on_saved
        self._chunk = max(1, int(CHUNK_SECONDS * self.samplerate))
        # However small ring_seconds is, the ring outlasts the writer's waits with margin.
        self.ring = RingBuffer(max(int(ring_seconds * self.samplerate), 2 * self._chunk,
                                   int(RING_POLLS * POLL_SECONDS * self.samplerate)), channels)
        self._history = _History(int(round(preroll_seconds * self.samplerate)) + 4 * self._chunk,
                                 channels)
        self._zeros = np.zeros((self._chunk, channels), dtype=np.float32)
        self.error: Optional[str] = None
        self.gaps = 0
        self.gap_frames = 0
        self.input_gaps = 0
        self.input_gap_frames = 0
        # (tap position, frames) of silence to insert there: appended by insert_silence while
        # no source feeds the tap, consumed by the writer when it reaches that position.
        self._silences: collections.deque = collections.deque()
        self._gap_log: list[tuple[int, int, str]] = []  # (stream position, frames, why), recent
        self.position = 0
        self._sinks: list[_Sink] = []  # writer-thread owned
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._all: dict[str, _Sink] = {}  # path -> sink, every output asked for
        self._recording: Optional[_Sink] = None
        self.path: Optional[str] = None  # the current (or last) recording
        self._source = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._last_sync = time.monotonic()
        if path:
            self._start_recording(path, start=0)

    # -- life cycle (any thread) ---------------------------------------------------------------
    def attach(self, source) -> None:
        """Have ``source`` copy every block it captures into :attr:`ring`."""
        source.add_tap(self.ring)
        self._source = source

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is not None:
            return
        self._thread = NamedThread(target=self._run, name="recorder", daemon=True)
        _live.add(self)
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Write what the source delivered so far, close every file and end the writer.

        Stop the source first: what it delivers after this call may not be written. Waits at
        most ``timeout`` seconds; when the disk is slow the writer finishes in the background
        (see :meth:`join`). Returns True when everything is closed.
        """
        self._stop.set()
        self._wake.set()
        if self._source is not None:
            self._source.remove_tap(self.ring)
        if self._thread is None:  # never started: close what was opened
            while not self._requests.empty():
                self._requests.get()()
            self._close_all()
            return True
        return self.join(timeout)

    def feed(self, block: np.ndarray) -> None:
        """Record ``block`` (frames × channels) on the caller's thread, for offline runs where
        no source delivers (the file is read as fast as it is analysed). Only before
        :meth:`start`; every output is written before this returns."""
        if self._thread is not None:
            raise RuntimeError("the recorder's thread is running: the source feeds it")
        self._serve()
        for i in range(0, block.shape[0], self._chunk):
            self.ring.write(block[i:i + self._chunk])
            while self._pump():
                pass
        now = time.monotonic()
        if now - self._last_sync >= SYNC_SECONDS:
            self._sync()
            self._last_sync = now

    def insert_silence(self, frames: int) -> int:
        """Fill ``frames`` of silence in after what the last source delivered: the time an
        input was lost, so that the recording, the pre-roll and clips keep wall-clock time.

        Call it between stopping the old source and starting the new one (no source may feed
        the tap meanwhile). Listed in each file's ``.gaps.csv`` as :data:`INPUT_LOST` and
        counted in :attr:`input_gaps`. At most :data:`MAX_INPUT_GAP_SECONDS`. Returns the
        frames that will be inserted.
        """
        frames = min(max(0, int(frames)), int(MAX_INPUT_GAP_SECONDS * self.samplerate))
        if frames:
            self._silences.append((self.ring.written, frames))
            self._wake.set()
        return frames

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for the writer to close its files after :meth:`stop`; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def discard(self) -> None:
        """Stop; delete the recording if nothing was recorded into it (a start that failed)."""
        self.stop(timeout=5.0)
        sink = self._all.get(self.path) if self.path else None
        if sink is not None and sink.file.frames == 0:
            try:
                os.remove(sink.file.path)
            except OSError:
                pass

    # -- outputs (any thread) ------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """True while a recording is open."""
        return self._recording is not None

    @property
    def frames(self) -> int:
        """Frames written to the current (or last) recording."""
        sink = self._all.get(self.path) if self.path else None
        return sink.file.frames if sink is not None else 0

    def start_recording(self, path: str) -> str:
        """Record to ``path`` (``.wav``) from now on. Raises ParameterError for a bad path or
        when already recording."""
        return self._start_recording(path, start=self.ring.written)

    def stop_recording(self) -> Optional[str]:
        """Close the recording after what was captured until now; returns its path."""
        sink = self._recording
        if sink is None:
            return None
        end = self.ring.written
        self._request(lambda: self._end_at(sink, end))
        return sink.file.path

    def save_preroll(self, path_or_dir: str, seconds: Optional[float] = None,
                     continue_recording: bool = False) -> str:
        """Save the last ``seconds`` (default: all of the pre-roll) captured before this call.

        Parameters
        ----------
        path_or_dir : str
            A file (``.wav``; ``.flac`` unless continuing) or a folder, where a file named
            ``preroll-YYYYmmdd-HHMMSS.wav`` (local time of the call) is made.
        seconds : float, optional
            At most :attr:`preroll_seconds`. Less is saved when less has been captured yet.
        continue_recording : bool
            Keep recording into the same file after the pre-roll (it becomes the recording).

        Returns
        -------
        str
            The file's path (reserved now; complete once :meth:`wait_saved` says so).
        """
        seconds = self.preroll_seconds if seconds is None else float(seconds)
        if not 0 < seconds <= self.preroll_seconds:
            raise ParameterError(f"can save at most the {self.preroll_seconds:g} s of pre-roll "
                                 f"kept, not {seconds:g} s")
        if continue_recording and self._recording is not None:
            raise ParameterError(f"already recording to {self._recording.file.path}")
        self._check_running()
        end = self.ring.written  # the call's moment, in stream frames
        path, fd = self._reserve(path_or_dir, "preroll", ".wav")
        file = AudioFile(path, self.samplerate, self.channels, live=continue_recording, fd=fd)
        sink = _Sink("preroll", file, end - int(round(seconds * self.samplerate)),
                     None if continue_recording else end)
        self._add(sink, recording=continue_recording)
        return path

    def save_clip(self, before_s: float, after_s: float, label: str,
                  directory: str) -> str:
        """Save ``before_s`` of pre-roll plus ``after_s`` after this call as one WAV file.

        The file ``DIRECTORY/YYYYmmdd-HHMMSS-LABEL.wav`` (local time of the call; '-2'... added
        if taken) is reserved now and written as the audio arrives; it is complete
        ``after_s`` seconds later (:meth:`wait_saved`, ``on_saved``), or at :meth:`stop`.

        Returns
        -------
        str
            The clip's path.
        """
        if not 0 <= before_s <= self.preroll_seconds:
            raise ParameterError(f"a clip can start at most {self.preroll_seconds:g} s before "
                                 f"the alert (the pre-roll kept), not {before_s:g} s")
        if not 0 <= after_s <= 3600:
            raise ParameterError(f"a clip can go on 0 to 3600 s after the alert, not {after_s:g}")
        if before_s + after_s <= 0:
            raise ParameterError("a clip must be longer than 0 s")
        self._check_running()
        end = self.ring.written
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{_label(label)}"
        path, fd = self._reserve_in(directory, stem, ".wav")
        file = AudioFile(path, self.samplerate, self.channels, live=True, fd=fd)
        sink = _Sink("clip", file, end - int(round(before_s * self.samplerate)),
                     end + int(round(after_s * self.samplerate)))
        self._add(sink)
        return path

    def end_clip(self, path: str, after_s: float) -> None:
        """End the clip at ``path`` ``after_s`` seconds after this call (or when it was to end,
        if sooner): for a clip that lasts as long as its event."""
        sink = self._all.get(path)
        if sink is None or sink.done.is_set():
            return
        end = self.ring.written + int(round(after_s * self.samplerate))
        self._request(lambda: self._end_at(sink, end if sink.stop is None else min(end, sink.stop)))

    def wait_saved(self, path: str, timeout: Optional[float] = None) -> bool:
        """Wait until the output at ``path`` is complete and closed; True if it is."""
        sink = self._all.get(path)
        return sink is not None and sink.done.wait(timeout)

    def saved_error(self, path: str) -> Optional[str]:
        """Why the output at ``path`` stopped early, or None."""
        sink = self._all.get(path)
        return sink.error if sink is not None else None

    def gaps_in(self, path: str) -> list[tuple[int, int]]:
        """The (file frame, frames) stretches of silence filled into the output at ``path``."""
        sink = self._all.get(path)
        return list(sink.gaps) if sink is not None else []

    def status(self) -> dict:
        """Counters for the status bar and the headless JSON."""
        sr = self.samplerate
        return {"recording": self._recording.file.path if self._recording else None,
                "recorded_seconds": round(self.frames / sr, 3),
                "record_error": self.error,
                "record_gaps": self.gaps,
                "record_gap_seconds": round(self.gap_frames / sr, 3),
                "record_input_gaps": self.input_gaps,
                "record_input_gap_seconds": round(self.input_gap_frames / sr, 3),
                "record_backlog_seconds": round(self.ring.available / sr, 3),
                "preroll_seconds": round(min(self.position / sr, self.preroll_seconds), 3),
                "clips_pending": sum(1 for s in self._all.values()
                                     if s.kind == "clip" and not s.done.is_set())}

    # -- requests --------------------------------------------------------------------------------
    def _check_running(self) -> None:
        if self._thread is None or self._stop.is_set() or not self._thread.is_alive():
            raise ParameterError("nothing is being captured: start monitoring first")

    def _reserve(self, path_or_dir: str, prefix: str, ext: str) -> tuple[str, Optional[int]]:
        if os.path.isdir(path_or_dir):
            return self._reserve_in(path_or_dir, f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}", ext)
        return path_or_dir, None  # AudioFile checks the format, then reserves it

    @staticmethod
    def _reserve_in(directory: str, stem: str, ext: str) -> tuple[str, int]:
        if not os.path.isdir(directory):
            raise ParameterError(f"cannot save to {directory}: no such folder")
        return reserve_unique(directory, stem, ext)

    def _start_recording(self, path: str, start: int) -> str:
        if self._recording is not None:
            raise ParameterError(f"already recording to {self._recording.file.path}")
        file = AudioFile(path, self.samplerate, self.channels, live=True)
        self._add(_Sink("recording", file, start, None), recording=True)
        return path

    def _add(self, sink: _Sink, recording: bool = False) -> None:
        if len(self._all) >= 1000:  # a night of alerts: forget the oldest finished outputs
            for path in [p for p, s in self._all.items() if s.done.is_set()][:100]:
                del self._all[path]
        self._all[sink.file.path] = sink
        if recording:
            self._recording = sink
            self.path = sink.file.path
        self._request(lambda: self._open(sink))

    def _request(self, fn: Callable[[], None]) -> None:
        self._requests.put(fn)
        self._wake.set()

    # -- writer thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                stopping = self._stop.is_set()  # read first: what came before stop() is written
                self._serve()
                moved = self._pump()
                now = time.monotonic()
                if now - self._last_sync >= SYNC_SECONDS:
                    self._sync()
                    self._last_sync = now
                if moved:
                    continue
                if stopping:
                    break
                self._wake.wait(self._wait_seconds(now))
                self._wake.clear()
            self._serve()
        except Exception as exc:  # noqa: BLE001 - never die silently
            logger.exception("recorder failed")
            self.error = f"recording stopped: recorder failed ({exc!r})"
        finally:
            self._close_all()

    def _wait_seconds(self, now: float) -> float:
        """How long the writer sleeps with its ring empty: :data:`POLL_SECONDS`, or less, to
        sync its open files every :data:`SYNC_SECONDS` (a kill -9 then loses at most about
        SYNC_SECONDS plus one chunk)."""
        if not self._sinks:
            return POLL_SECONDS
        return min(POLL_SECONDS, max(0.0, self._last_sync + SYNC_SECONDS - now))

    def _serve(self) -> None:
        while not self._requests.empty():
            self._requests.get()()

    def _pump(self) -> int:
        chunk = self._chunk
        if self._silences:
            at, frames = self._silences[0]
            if at <= self.ring.read_pos:  # everything the lost input delivered is through
                self._silences.popleft()
                self._fill_gap(frames, INPUT_LOST)
                return frames
            chunk = min(chunk, at - self.ring.read_pos)
        dropped = self.ring.dropped
        block = self.ring.read(chunk)
        gap = self.ring.dropped - dropped  # lost just before `block`: fill with silence
        if gap:
            self._fill_gap(gap)
        if block.shape[0]:
            self._feed(block)
        return gap + block.shape[0]

    def _fill_gap(self, frames: int, reason: str = WRITER_BEHIND) -> None:
        pos = self.position
        if reason == INPUT_LOST:
            self.input_gaps += 1
            self.input_gap_frames += frames
        else:
            self.gaps += 1
            self.gap_frames += frames
        self._gap_log = [g for g in self._gap_log if g[0] + g[1] > self._history.oldest]
        self._gap_log.append((pos, frames, reason))
        logger.warning("recording: %d frames (%.3f s) of silence at %.3f s (%s)",
                       frames, frames / self.samplerate, pos / self.samplerate, reason)
        for sink in self._sinks:
            self._note_gap(sink, pos, frames, reason)
        while frames:
            n = min(frames, self._chunk)
            self._feed(self._zeros[:n])
            frames -= n

    def _note_gap(self, sink: _Sink, pos: int, frames: int, reason: str) -> None:
        hi = pos + frames if sink.stop is None else min(pos + frames, sink.stop)
        lo = max(pos, sink.start)
        if hi > lo:
            sink.note_gap(lo - sink.start, hi - lo, reason)

    def _feed(self, block: np.ndarray) -> None:
        p = self.position
        n = block.shape[0]
        self._history.append(block)
        self.position = p + n
        for sink in list(self._sinks):
            lo = max(p, sink.start)
            hi = p + n if sink.stop is None else min(p + n, sink.stop)
            if hi > lo:
                self._write(sink, block[lo - p:hi - p])
            if sink.stop is not None and self.position >= sink.stop:
                self._finish(sink)

    def _open(self, sink: _Sink) -> None:
        """Start an output: what it wants from the past comes from the pre-roll memory."""
        if sink.done.is_set():
            return
        sink.start = max(sink.start, self._history.oldest)
        hi = self.position if sink.stop is None else min(sink.stop, self.position)
        self._sinks.append(sink)
        for pos, frames, reason in self._gap_log:
            if pos < hi:
                self._note_gap(sink, pos, min(frames, hi - pos), reason)
        for lo in range(sink.start, hi, self._chunk):
            if sink not in self._sinks:
                return  # a write failed
            self._write(sink, self._history.get(lo, min(lo + self._chunk, hi)))
        if sink.stop is not None and self.position >= sink.stop:
            self._finish(sink)

    def _end_at(self, sink: _Sink, end: int) -> None:
        sink.stop = max(sink.start, end)
        if self.position >= sink.stop:
            self._finish(sink)

    def _write(self, sink: _Sink, data: np.ndarray) -> None:
        try:
            sink.file.write(data)
        except RecordingError as exc:
            self._fail(sink, str(exc))

    def _fail(self, sink: _Sink, reason: str) -> None:
        kept = sink.file.frames / self.samplerate
        what = "recording stopped" if sink.kind == "recording" or sink is self._recording \
            else f"saving the {sink.kind} stopped"
        sink.error = f"{what}: {reason}; {kept:.1f} s kept in {sink.file.path}"
        self.error = sink.error
        logger.error("%s", sink.error)
        self._finish(sink)

    def _sync(self) -> None:
        for sink in list(self._sinks):
            try:
                sink.file.sync()
            except RecordingError as exc:
                self._fail(sink, str(exc))

    def _finish(self, sink: _Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)
        try:
            sink.close()
        except Exception as exc:  # noqa: BLE001 - the header rewrite at close failed
            if sink.error is None:
                sink.error = f"closing {sink.file.path} failed: {exc}"
                self.error = sink.error
        if sink is self._recording:
            self._recording = None
        sink.done.set()
        if self.on_saved is not None:
            try:
                self.on_saved(sink.file.path, sink.error)
            except Exception:  # noqa: BLE001 - a caller's bug must not stop the recording
                logger.exception("on_saved failed")

    def _close_all(self) -> None:
        for sink in list(self._sinks):
            self._finish(sink)
        for sink in list(self._all.values()):  # asked for, never opened (writer not started)
            if not sink.done.is_set():
                self._finish(sink)
