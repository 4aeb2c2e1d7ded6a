"""The recorder: every captured sample on disk, however far behind the analysis is; pre-roll and
clips exact to the sample; gaps, full disks, kills and slow stops handled in plain sight.

Signals are 16-bit counters (every sample differs from its neighbours), so each recorded sample
can be checked against the one played. Files are real (soundfile), sources are real
(FileSource, and PortAudio through the PulseAudio virtual microphone).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import RATE, REPO, wait_until
from monitor.errors import ParameterError
from monitor.pipeline import Pipeline
from monitor.recorder import Recorder
from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from monitor.sources.file import FileSource

SR = 8000  # unpaced tests: small numbers, same code


def counter(n: int, channels: int = 1, start: int = 1) -> np.ndarray:
    """int16 samples start, start+1, ... wrapping at the int16 range (frames × channels);
    channel c is offset by 1000·c."""
    k = (np.arange(n, dtype=np.int64)[:, None] + start + 1000 * np.arange(channels)) % 65536
    return np.where(k >= 32768, k - 65536, k).astype(np.int16)


def write_counter(path: Path, n: int, samplerate: int, channels: int = 1) -> np.ndarray:
    """Write a 16-bit counter WAV; return it as the float32 a source delivers (/32768)."""
    ints = counter(n, channels)
    sf.write(str(path), ints, samplerate, subtype="PCM_16")
    return ints.astype(np.float32) / 32768


def read(path) -> np.ndarray:
    return sf.read(str(path), dtype="float32", always_2d=True)[0]


class Unpaced:
    """A real FileSource's blocks pushed through its real delivery path as fast as the recorder
    takes them (instead of at the wall clock's pace), so that minutes take a moment."""

    def __init__(self, path: Path, recorder: Recorder) -> None:
        self.source = FileSource(str(path), blocksize=256)
        self.source._ring = RingBuffer(4096, self.source.channels)  # the analysis ring, unread
        self.recorder = recorder
        recorder.attach(self.source)

    def play(self, frames: int) -> None:
        """Deliver the next ``frames``; never more than half the recorder's ring ahead of it."""
        ring = self.recorder.ring
        while frames > 0:
            block = self.source.render(min(256, frames))
            assert block.shape[0], "the file ran out"
            self.source._deliver(block)
            frames -= block.shape[0]
            if ring.available > ring.capacity // 2:
                wait_until(lambda: ring.available < ring.capacity // 4, 30, "the recorder to drain")

    def close(self) -> None:
        self.source.close()


def stall_writer(recorder: Recorder) -> threading.Event:
    """Fault injection: the writer thread blocks (as on a disk that stops answering) until the
    returned event is set."""
    release, stalled = threading.Event(), threading.Event()

    def block():
        stalled.set()
        release.wait(60)

    recorder._request(block)
    assert stalled.wait(10), "the writer never took the request"
    return release


# -- pre-roll and clips -----------------------------------------------------------------------
def test_preroll_saves_exactly_the_last_30_s(tmp_path):
    played = write_counter(tmp_path / "in.wav", 50 * SR, SR, channels=2)
    rec = Recorder(SR, 2)  # default pre-roll: 30 s
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    try:
        src.play(45 * SR + 123)
        out = rec.save_preroll(str(tmp_path))
        assert Path(out).parent == tmp_path and Path(out).name.startswith("preroll-")
        src.play(2 * SR)  # later audio is not in it
        assert rec.wait_saved(out, 10)
    finally:
        assert rec.stop(timeout=10)
        src.close()
    np.testing.assert_array_equal(read(out), played[15 * SR + 123:45 * SR + 123])
    assert rec.saved_error(out) is None and rec.gaps == 0


def test_preroll_can_continue_as_the_recording(tmp_path):
    played = write_counter(tmp_path / "in.wav", 20 * SR, SR)
    rec = Recorder(SR, 1, preroll_seconds=5)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    try:
        src.play(8 * SR)
        out = rec.save_preroll(str(tmp_path / "night.wav"), seconds=3, continue_recording=True)
        assert rec.recording and rec.path == out
        with pytest.raises(ParameterError, match="already recording"):
            rec.save_preroll(str(tmp_path), continue_recording=True)
        src.play(4 * SR)
    finally:
        assert rec.stop(timeout=10)
        src.close()
    np.testing.assert_array_equal(read(out), played[5 * SR:12 * SR])
    assert rec.frames == 7 * SR


def test_preroll_before_enough_was_captured_saves_what_there_is(tmp_path):
    played = write_counter(tmp_path / "in.wav", 5 * SR, SR)
    rec = Recorder(SR, 1)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    try:
        src.play(2 * SR)
        out = rec.save_preroll(str(tmp_path / "early.flac"))  # written at once: FLAC is fine
        assert rec.wait_saved(out, 10)
    finally:
        rec.stop(timeout=10)
        src.close()
    np.testing.assert_allclose(read(out), played[:2 * SR], atol=2 ** -23)  # 24-bit
    assert sf.info(out).subtype == "PCM_24"


def test_clip_holds_before_and_after_and_is_named_with_time_and_label(tmp_path):
    played = write_counter(tmp_path / "in.wav", 30 * SR, SR)
    saved = []
    rec = Recorder(SR, 1, preroll_seconds=10, on_saved=lambda p, e: saved.append((p, e)))
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    clips = tmp_path / "clips"
    clips.mkdir()
    try:
        src.play(12 * SR + 7)
        clip = rec.save_clip(4.0, 2.5, "Dog bark / growl", str(clips))
        again = rec.save_clip(1.0, 1.0, "Dog bark / growl", str(clips))  # same second
        assert not rec.wait_saved(clip, 0)  # its end has not been played yet
        src.play(3 * SR)
        assert rec.wait_saved(clip, 10) and rec.wait_saved(again, 10)
    finally:
        rec.stop(timeout=10)
        src.close()
    name = Path(clip).name
    assert name.endswith("-Dog_bark_growl.wav") and name[:8].isdigit(), name
    assert Path(again).name == name.replace(".wav", "-2.wav")
    alert = 12 * SR + 7
    np.testing.assert_array_equal(read(clip), played[alert - 4 * SR:alert + int(2.5 * SR)])
    np.testing.assert_array_equal(read(again), played[alert - SR:alert + SR])
    assert sorted(saved) == sorted([(clip, None), (again, None)])


def test_a_clip_cut_short_by_stop_is_closed_and_valid(tmp_path):
    played = write_counter(tmp_path / "in.wav", 10 * SR, SR)
    rec = Recorder(SR, 1, preroll_seconds=5)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    src.play(3 * SR)
    clip = rec.save_clip(2, 60, "long", str(tmp_path))
    src.play(SR)
    assert rec.stop(timeout=10)
    src.close()
    np.testing.assert_array_equal(read(clip), played[SR:4 * SR])


def test_requests_the_recorder_cannot_meet_are_one_line(tmp_path):
    rec = Recorder(SR, 1, preroll_seconds=5)
    with pytest.raises(ParameterError, match="start monitoring"):
        rec.save_preroll(str(tmp_path))
    rec.start()
    try:
        for call, match in ((lambda: rec.save_preroll(str(tmp_path), seconds=6), "at most"),
                            (lambda: rec.save_clip(6, 1, "x", str(tmp_path)), "at most 5"),
                            (lambda: rec.save_clip(1, 1, "x", str(tmp_path / "no")), "no such"),
                            (lambda: rec.save_preroll(str(tmp_path / "a.flac"),
                                                      continue_recording=True), "FLAC")):
            with pytest.raises(ParameterError, match=match) as info:
                call()
            assert "\n" not in str(info.value)
    finally:
        rec.stop()
    with pytest.raises(ParameterError, match="at most 600"):
        Recorder(SR, 1, preroll_seconds=601)


def test_offline_runs_record_on_the_callers_thread(tmp_path):
    """--no-realtime reads the file as fast as it is analysed; no source thread delivers."""
    played = write_counter(tmp_path / "in.wav", 3 * SR, SR, channels=2)
    out = tmp_path / "rec.wav"
    rec = Recorder(SR, 2, path=str(out))
    for i in range(0, 3 * SR, 1000):
        rec.feed(played[i:i + 1000])
    assert rec.stop()
    np.testing.assert_array_equal(read(out), played)


# -- formats and exclusive creation ------------------------------------------------------------
@pytest.mark.parametrize("name, match", [("x.ogg", "cannot record to .*use .wav"),
                                         ("x.mp3", "use .wav"), ("x", "no extension"),
                                         ("x.flac", "crash would leave it unreadable")])
def test_formats_that_cannot_survive_a_crash_are_refused(tmp_path, name, match):
    with pytest.raises(ParameterError, match=match) as info:
        Recorder(SR, 1, path=str(tmp_path / name))
    assert "\n" not in str(info.value)
    assert not (tmp_path / name).exists()


def test_never_overwrites_nor_follows_a_link(tmp_path):
    existing = tmp_path / "old.wav"
    existing.write_bytes(b"precious")
    with pytest.raises(ParameterError, match="will not overwrite"):
        Recorder(SR, 1, path=str(existing))
    target = tmp_path / "target.wav"
    (tmp_path / "link.wav").symlink_to(target)
    with pytest.raises(ParameterError, match="symbolic link .* will not create it"):
        Recorder(SR, 1, path=str(tmp_path / "link.wav"))
    assert existing.read_bytes() == b"precious" and not target.exists()


def test_recording_is_exactly_as_captured_nonfinite_included(tmp_path):
    """All channels, NaN and Inf kept in the file while the analysis counts and cleans them."""
    x = (np.arange(6000, dtype=np.float32).reshape(3000, 2) / 8000) - 0.3
    x[10, 0], x[20, 1], x[30, 0] = np.nan, np.inf, -np.inf
    sf.write(str(tmp_path / "in.wav"), x, 48000, subtype="FLOAT")
    out = tmp_path / "rec.wav"
    pipeline = Pipeline(Settings(input=str(tmp_path / "in.wav"), classifier=False),
                        record=str(out))
    pipeline.start()
    try:
        wait_until(lambda: pipeline.source.finished and pipeline.recorder.position == 3000, 10,
                   "the file to be played and recorded")
    finally:
        pipeline.stop()
    assert pipeline.recorder.join(10)
    assert sf.info(str(out)).subtype == "FLOAT" and sf.info(str(out)).channels == 2
    np.testing.assert_array_equal(read(out), x)
    assert pipeline.worker.nonfinite == 3


# -- the writer falling behind -------------------------------------------------------------------
def test_the_ring_outlasts_the_writers_longest_wait():
    """The writer sleeps up to POLL_SECONDS with its ring empty: however small a ring is asked
    for, it holds several such waits, so an idle wait never costs a sample."""
    from monitor import recorder

    for seconds in (0.01, 0.5, recorder.RING_SECONDS):
        rec = Recorder(SR, 2, ring_seconds=seconds)
        assert rec.ring.capacity >= recorder.RING_POLLS * recorder.POLL_SECONDS * SR
        assert rec.ring.capacity >= int(seconds * SR)
    assert recorder.RING_POLLS >= 2


def test_writer_far_behind_fills_silence_counts_and_lists_the_gap(tmp_path):
    played = write_counter(tmp_path / "in.wav", 10 * SR, SR)
    out = tmp_path / "rec.wav"
    rec = Recorder(SR, 1, path=str(out), preroll_seconds=1, ring_seconds=1.0)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    try:
        src.play(2 * SR)
        wait_until(lambda: rec.position == 2 * SR, 10, "the recorder to catch up")
        release = stall_writer(rec)
        for _ in range(3 * SR // 256):  # 3 s into a 1 s ring, the writer stuck
            src.source._deliver(src.source.render(256))
        lost = 3 * SR // 256 * 256 - rec.ring.capacity
        release.set()
        wait_until(lambda: rec.ring.available == 0, 10, "the writer to resume")
        src.play(2 * SR)
    finally:
        assert rec.stop(timeout=10)
        src.close()
    total = 2 * SR + 3 * SR // 256 * 256 + 2 * SR
    y = read(out)
    assert y.shape[0] == total  # time stays aligned: as many frames as were captured
    gap = slice(2 * SR, 2 * SR + lost)
    assert np.all(y[gap] == 0)
    np.testing.assert_array_equal(y[:gap.start], played[:gap.start])
    np.testing.assert_array_equal(y[gap.stop:], played[gap.stop:total])
    assert (rec.gaps, rec.gap_frames) == (1, lost)
    assert rec.status()["record_gaps"] == 1
    assert rec.gaps_in(str(out)) == [(2 * SR, lost)]
    rows = (tmp_path / "rec.wav.gaps.csv").read_text().splitlines()
    assert rows[0].startswith("file_frame,frames") and rows[1].startswith(f"{2 * SR},{lost},")


def test_stop_does_not_wait_for_a_slow_writer_and_keeps_the_tail(tmp_path):
    played = write_counter(tmp_path / "in.wav", 4 * SR, SR)
    out = tmp_path / "rec.wav"
    rec = Recorder(SR, 1, path=str(out), preroll_seconds=1)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    src.play(SR)
    release = stall_writer(rec)
    src.play(SR)  # the tail, not yet written
    assert rec.stop(timeout=0.2) is False  # returned while the writer is still busy
    release.set()
    assert rec.join(10)
    src.close()
    np.testing.assert_array_equal(read(out), played[:2 * SR])


# -- crashes and full disks (child processes) ---------------------------------------------------
CHILD = textwrap.dedent("""
    import json, sys, time
    from monitor.pipeline import Pipeline
    from monitor.settings import Settings
    mode, source, out = sys.argv[1:4]
    pipeline = Pipeline(Settings(input=source, classifier=False), record=out)
    pipeline.start()
    rec = pipeline.recorder
    while True:
        time.sleep(0.05)
        if mode == "kill":
            print(json.dumps({"captured": rec.ring.written}), flush=True)
        elif rec.error:
            before = pipeline.worker.frames_in
            deadline = time.monotonic() + 20
            while pipeline.worker.frames_in < before + 4800 and time.monotonic() < deadline:
                time.sleep(0.05)
            print(json.dumps({"error": rec.error, "problem": pipeline.status().problem,
                              "analysed_after": pipeline.worker.frames_in - before,
                              "frames": rec.frames}), flush=True)
            pipeline.stop()
            rec.join(10)
            break
""")


def _child(tmp_path: Path, *args: str, preexec=None) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen([sys.executable, str(script), *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    played = write_counter(tmp_path / "in.wav", 30 * RATE, RATE)
    out = tmp_path / "rec.wav"
    proc = _child(tmp_path, "kill", str(tmp_path / "in.wav"), str(out))
    try:
        captured = 0
        while captured < 3 * RATE:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            captured = json.loads(line)["captured"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    y = read(out)  # soundfile reads it
    assert y.shape[0] >= captured - RATE, f"{y.shape[0]} frames of {captured} captured"
    np.testing.assert_array_equal(y, played[:y.shape[0]])


FLAC_CHILD = textwrap.dedent("""
    import sys, numpy as np, soundfile as sf
    f = sf.SoundFile(sys.argv[1], "w", 48000, 1, format="FLAC", subtype="PCM_24")
    for _ in range(20):
        f.write(np.random.default_rng(1).uniform(-0.5, 0.5, (4800, 1)).astype(np.float32))
        f.flush()
    print("written", flush=True)
    sys.stdin.read()
""")


def test_why_flac_is_refused_for_recording(tmp_path):
    """libsndfile writes the FLAC stream header at close: killed mid-write, the file does not
    read (if this starts to pass, FLAC can be allowed for live recording)."""
    out = tmp_path / "killed.flac"
    proc = subprocess.Popen([sys.executable, "-c", FLAC_CHILD, str(out)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.kill()
        proc.wait(30)
    assert out.stat().st_size > 1000
    with pytest.raises((ValueError, RuntimeError, MemoryError, sf.LibsndfileError)):
        sf.read(str(out))


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs (as root), else a child-process file size limit of 256 KiB."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True)
    if done.returncode == 0:
        try:
            yield mnt, None
        finally:
            subprocess.run(["umount", str(mnt)], check=True)
        return

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    yield mnt, limit


def test_disk_full_says_which_disk_keeps_a_valid_file_and_monitoring_goes_on(tmp_path, small_disk):
    folder, limit = small_disk
    played = write_counter(tmp_path / "in.wav", 20 * RATE, RATE)
    out = folder / "rec.wav"
    proc = _child(tmp_path, "full", str(tmp_path / "in.wav"), str(out), preexec=limit)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    report = json.loads(stdout.strip().splitlines()[-1])
    error = report["error"]
    assert error.startswith("recording stopped: ") and str(out) in error, error
    if limit is None:
        assert f"the disk {folder} is full" in error, error
    else:
        assert "largest size allowed" in error, error
    assert report["problem"] == error
    assert report["analysed_after"] >= 4800  # monitoring went on after the error
    y = read(out)  # closed and valid, what was written so far
    # Up to one write (0.1 s) of the block that hit the end of the disk is in it too.
    assert 0 < y.shape[0] <= report["frames"] + RATE // 10
    np.testing.assert_array_equal(y, played[:y.shape[0]])


# -- through the virtual microphone ------------------------------------------------------------
class StalledAnalysis:
    """An analysis consumer that blocks the worker for ``seconds`` on its first block."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.release = threading.Event()

    def feed(self, mono, samplerate, stream_time) -> None:
        if not self.started.is_set():
            self.started.set()
            self.release.wait(self.seconds)


@pytest.mark.pulse
def test_microphone_recording_holds_every_played_sample_while_analysis_stalls_10_s(
        pulse_mic, tmp_path):
    from monitor.sources.microphone import MicrophoneSource

    seconds = 12
    played = counter(seconds * RATE)[:, 0]
    # A lead-in of silence: PulseAudio drops the first milliseconds of a new stream into a
    # null sink when its monitor is already being read (62 samples, seen here); let it drop
    # silence, not the signal under test.
    lead_in = np.zeros(RATE // 2, np.int16)
    sf.write(str(tmp_path / "counter.wav"), np.concatenate((lead_in, played)), RATE,
             subtype="PCM_16")
    out = tmp_path / "mic.wav"
    stall = StalledAnalysis(10.0)
    pipeline = Pipeline(Settings(device="pulse", samplerate=RATE, channels=1, classifier=False),
                        source=MicrophoneSource(device="pulse", samplerate=RATE, channels=1),
                        record=str(out), consumers=[stall])
    try:
        pipeline.start()
        wait_until(stall.started.is_set, 10, "the analysis to take its first block")
        pulse_mic.play(tmp_path / "counter.wav")  # returns once all of it was played
        target = pipeline.recorder.ring.written + RATE // 2  # the capture latency's tail
        wait_until(lambda: pipeline.recorder.position >= target, 10, "the tail to be recorded")
        assert pipeline.ring.dropped > 0, "the analysis did not fall behind: no stall tested"
    finally:
        stall.release.set()
        pipeline.stop()
    assert pipeline.recorder.join(10)
    got = np.round(read(out)[:, 0] * 32768).astype(np.int64)
    nonzero = np.flatnonzero(got)
    assert nonzero.size, "nothing was captured"
    first = nonzero[0]
    assert got.size >= first + played.size, "the recording ends before the signal does"
    np.testing.assert_array_equal(got[first:first + played.size], played.astype(np.int64))
    assert pipeline.recorder.gaps == 0


@pytest.mark.pulse
def test_int16_tone_clipped_at_both_rails_counts_its_clipped_samples(pulse_mic, tmp_path):
    from monitor.sources.microphone import MicrophoneSource

    t = np.arange(RATE) / RATE
    tone = np.clip(np.round(2.0 * 32768 * np.sin(2 * np.pi * 500 * t)), -32768, 32767)
    tone = tone.astype(np.int16)
    expected = int(np.count_nonzero((tone == 32767) | (tone == -32768)))
    lead_in = np.zeros(RATE // 2, np.int16)  # see the recording test: PulseAudio drops some
    sf.write(str(tmp_path / "clipped.wav"), np.concatenate((lead_in, tone)), RATE,
             subtype="PCM_16")
    pipeline = Pipeline(Settings(device="pulse", samplerate=RATE, channels=1, classifier=False),
                        source=MicrophoneSource(device="pulse", samplerate=RATE, channels=1))
    try:
        pipeline.start()
        wait_until(lambda: pipeline.ring.written > 0, 10, "the first audio callback")
        pulse_mic.play(tmp_path / "clipped.wav")
        target = pipeline.ring.written + RATE // 2
        wait_until(lambda: pipeline.worker.frames_in >= target, 10, "the tail of the tone")
    finally:
        pipeline.stop()
    assert pipeline.ring.dropped == 0
    assert pipeline.worker.clipped == expected  # positive rail (0.99997) and negative (-1.0)
