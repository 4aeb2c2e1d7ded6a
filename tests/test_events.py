"""Event times, the events CSV and the clips saved on alerts: real clips, the real model, real
files (and real processes killed with SIGKILL)."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import main_cmd, wait_until
from monitor.classifier import SoundEventClassifier
from monitor.classifier.aggregation import CSV_HEADER, Event, EventLog, EventsCsv
from monitor.outputs import csv_text_cell as _neutralise
from monitor.errors import ParameterError
from monitor.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
RATE = 48000
NOISE_DBFS = -70.0  # a quiet room
GAP_SECONDS = 4.0
START_TOLERANCE = 0.25  # s: the promise
END_TOLERANCE = 0.5  # s
# The fire truck's siren fades into engine and horn: the model hears its last seconds as
# 'Vehicle horn', 'Train horn' and 'Music', so no siren label lasts to its end.
NO_END_CHECK = {"tp_firetruck"}


def _clips() -> list:
    rows = []
    with open(DATA / "labels.tsv", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                name, _, _, labels = line.rstrip("\n").split("\t")
                rows.append((name, labels.split("|")))
    return rows


def sound_bounds(y: np.ndarray, rate: float, span_db: float = 30.0) -> tuple[float, float]:
    """Where the sound in a clip is: the first and last 10 ms frame within ``span_db`` of the
    loudest (seconds from the clip's start)."""
    hop = int(rate * 0.01)
    n = len(y) // hop
    level = 10 * np.log10(np.mean(y[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(level > level.max() - span_db)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


def timeline(path: Path, seed: int = 1, names=None, lead: float = 2.0, tail: float = 2.0
             ) -> list:
    """Write the test clips (all, or ``names``), mono, at 48 kHz, placed after ``lead`` s and
    4 s apart in low noise (-70 dBFS), as 32-bit float; returns
    ``[(name, labels, true start s, true end s)]``."""
    rng = np.random.default_rng(seed)
    t, placed, parts = lead, [], []
    for name, labels in _clips():
        if names is not None and name not in names:
            continue
        y, rate = sf.read(DATA / f"{name}.wav", dtype="float32", always_2d=True)
        y = soxr.resample(y.mean(axis=1), rate, RATE)
        a, b = sound_bounds(y, RATE)
        i = int(round(t * RATE))
        parts.append((i, y))
        placed.append((name, labels, i / RATE + a, i / RATE + b))
        t = i / RATE + len(y) / RATE + GAP_SECONDS
    x = (10 ** (NOISE_DBFS / 20) * rng.standard_normal(int((t - GAP_SECONDS + tail) * RATE))
         ).astype(np.float32)
    for i, y in parts:
        x[i:i + len(y)] += y
    sf.write(str(path), x, RATE, subtype="FLOAT")
    return placed


def classify_file(model, path: Path, block: int = 1024) -> tuple:
    """The events of a file fed as the worker feeds a live stream (waiting for the classifier
    every few seconds, so that nothing is dropped)."""
    clf = SoundEventClassifier(model, Settings())
    try:
        with sf.SoundFile(str(path)) as f:
            done = 0
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                if not len(data):
                    break
                done += len(data)
                clf.feed(data.mean(axis=1), f.samplerate, done / f.samplerate)
                if done % (block * 100) == 0:
                    assert clf.wait_idle(60)
        clf.flush()
        assert clf.wait_idle(60)
        assert clf.dropped_seconds == 0 and clf.error is None
        return clf.events
    finally:
        clf.close()


def test_events_start_and_end_with_their_sounds(model, tmp_path):
    placed = timeline(tmp_path / "room.wav")
    events = classify_file(model, tmp_path / "room.wav")
    errors = {}
    for name, labels, start, end in placed:
        near = [e for e in events if e.start < end + 1 and e.end > start - 1]
        matching = sorted((e for e in near if e.label in labels), key=lambda e: e.start)
        assert matching, f"{name}: no event labelled {labels} near {start:.2f} s"
        first = matching[0]
        errors[name] = (first.start - start, max(e.end for e in matching) - end)
    for name, (early, late) in errors.items():
        assert abs(early) <= START_TOLERANCE, f"{name} starts {early:+.3f} s off: {errors}"
        if name not in NO_END_CHECK:
            assert abs(late) <= END_TOLERANCE, f"{name} ends {late:+.3f} s off: {errors}"


def test_event_log_times_from_onset_and_offset():
    closed = []
    log = EventLog(on_close=closed.append)
    log.update([["Dog", 0.6]], 0.0, 0.975, onset=lambda label: 0.3, wall_offset=1000.0)
    log.update([["Dog", 0.8]], 0.48, 1.455, onset=lambda label: 0.3)
    assert log.open["Dog"].start == 0.3 and log.open["Dog"].wall == 1000.3
    log.update([], 0.96, 1.935, offset=lambda label, start: 1.2)
    assert closed == [Event(0.3, "Dog", 0.8, pytest.approx(0.9), False, 1000.3)]
    # Re-opened: never before the previous one ended; an offset past the patch is clamped.
    log.update([["Dog", 0.5]], 1.44, 2.415, onset=lambda label: 0.1)
    log.update([], 1.92, 2.895, offset=lambda label, start: 99.0)
    assert closed[1].start == pytest.approx(1.2) and closed[1].end == pytest.approx(2.415)


def test_event_log_bounded_and_ordered_by_start():
    """Closing more events than ``max_events`` keeps the newest ``max_events`` (memory stays
    bounded all night), and a snapshot is every kept closed and open event ordered by (start,
    label), equal to sorting them all (what it did at each patch before)."""
    rng = np.random.default_rng(1)
    labels = ["Speech", "Dog", "Music", "Bird"]
    log = EventLog(max_events=50)
    t, interleaved = 0.0, 0
    for step in range(400):
        t += 0.48
        # Events open with onsets up to 2 s back (out of closing order) and last 1-4 patches.
        shown = [[lab, 0.5] for k, lab in enumerate(labels) if (step + k) % (2 + k) == 0]
        log.update(shown, t, t + 0.975, onset=lambda label: t - float(rng.uniform(0, 2)))
        snap = log.snapshot()
        reference = sorted(list(log.closed) + list(log.open.values()),
                           key=lambda e: (e.start, e.label))
        assert list(snap) == reference
        assert len(log.closed) <= 50
        # Open events that started before the newest closed one: slotted in, not appended.
        interleaved += any(ev.start < log.closed[-1].start for ev in log.open.values()) \
            if log.closed else 0
    assert len(log.closed) == 50 and interleaved > 50
    assert min(e.start for e in log.closed) > 100.0  # the oldest were the ones forgotten


@pytest.mark.parametrize("text, cell", [("=1+2", "'=1+2"), ("+x", "'+x"), ("-x", "'-x"),
                                        ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
                                        ("\rx", "'\rx"), ("Dog", "Dog"), ("a=b", "a=b")])
def test_neutralise(text, cell):
    assert _neutralise(text) == cell


def test_events_csv_exclusive_and_neutralised(tmp_path):
    path = tmp_path / "ev.csv"
    out = EventsCsv(str(path))
    out.add(Event(1.25, "=HYPERLINK(\"x\")", 0.5, 2.0, wall=0.0, clip="/a/b/c.wav"))
    # Read while still open: each row is on disk as it is added.
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == CSV_HEADER
    assert rows[1][1:] == ["1.250", "3.250", "'=HYPERLINK(\"x\")", "0.5000", "2.000", "c.wav"]
    assert rows[1][0].startswith(time.strftime("%Y-%m-%dT", time.localtime(0)))
    out.close()
    with pytest.raises(ParameterError, match="will not overwrite"):
        EventsCsv(str(path))
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "target.csv")
    with pytest.raises(ParameterError):
        EventsCsv(str(link))
    assert not (tmp_path / "target.csv").exists()


# -- the events CSV of a run that is killed -----------------------------------------------------
def _rows(path: Path) -> list:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows and rows[0] == CSV_HEADER
    return rows[1:]


def test_kill_9_keeps_the_events_closed_so_far(model, tmp_path):
    placed = timeline(tmp_path / "room.wav", names={"ms_bark1", "tp_vacuum_cleaner"}, lead=1.0,
                      tail=20.0)
    reference = tmp_path / "all.csv"
    done = subprocess.run(main_cmd("--headless", "--input", str(tmp_path / "room.wav"),
                                   "--no-realtime", "--events-csv", str(reference)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = _rows(reference)
    out = tmp_path / "killed.csv"
    proc = subprocess.Popen(main_cmd("--headless", "--input", str(tmp_path / "room.wav"),
                                     "--interval", "0.2", "--events-csv", str(out)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        bark_end = placed[0][3]
        # Killed mid-way: once the bark's events are in the file, long before the file ends.
        wait_until(lambda: out.exists() and any(r[3] == "Dog" for r in _rows(out)), 60,
                   "the bark's event in the CSV")
        assert proc.poll() is None, proc.stderr.read()
    finally:
        proc.kill()  # SIGKILL
        proc.wait(30)
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n"), "a row was cut in the middle"
    got = _rows(out)
    assert got and all(len(r) == len(CSV_HEADER) for r in got)
    for row in got:  # each one is an event of the complete run, at the same times
        same = [r for r in expected if r[3] == row[3]
                and abs(float(r[1]) - float(row[1])) < 0.02
                and abs(float(r[2]) - float(row[2])) < 0.02]
        assert same, f"{row} is not in the complete run's {expected}"
        assert float(row[1]) < bark_end + 15  # closed before the kill, not invented after
    dog = next(r for r in got if r[3] == "Dog")
    assert abs(float(dog[1]) - placed[0][2]) <= START_TOLERANCE
    assert time.mktime(time.strptime(dog[0][:19], "%Y-%m-%dT%H:%M:%S")) > time.time() - 300


def test_events_csv_is_never_overwritten(tmp_path):
    out = tmp_path / "ev.csv"
    out.write_text("precious\n")
    done = subprocess.run(main_cmd("--headless", "--generator", "sine:1000", "--duration", "1",
                                   "--events-csv", str(out)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "will not overwrite" in done.stderr
    assert "Traceback" not in done.stderr and out.read_text() == "precious\n"


# -- a clip for each alert ---------------------------------------------------------------------
def test_alert_saves_a_clip_that_contains_the_event(model, tmp_path):
    placed = timeline(tmp_path / "room.wav", names={"ms_bark1"}, lead=10.0, tail=7.0)
    _, _, start, end = placed[0]
    clips = tmp_path / "clips"
    clips.mkdir()
    events = tmp_path / "ev.csv"
    done = subprocess.run(main_cmd("--headless", "--input", str(tmp_path / "room.wav"),
                                   "--watch", "Dog@0.3", "--save-clips", str(clips),
                                   "--preroll", "8", "--clip-after", "2",
                                   "--events-csv", str(events)),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = sorted(clips.iterdir())
    assert len(files) == 1, files
    clip = files[0]
    assert clip.name.endswith("-Dog.wav") and clip.name[:8].isdigit(), clip.name
    assert f"saving a clip to {clip}" in done.stderr
    x = sf.read(str(tmp_path / "room.wav"), dtype="float32")[0]
    y = sf.read(str(clip), dtype="float32", always_2d=True)[0][:, 0]
    # Exactly the captured samples, from before the bark until after its event ended.
    first = np.flatnonzero(x == y[0])
    assert first.size == 1
    a = int(first[0])
    np.testing.assert_array_equal(y, x[a:a + len(y)])
    assert a / RATE < start and (a + len(y)) / RATE > end + 2.0
    # ... and ended by its event (the event closes ~1-2 s after the sound; the file goes on
    # until 7 s after it, where a clip cut short by the end of the run would stop).
    assert (a + len(y)) / RATE <= end + 2.0 + 4.0
    assert len(y) / RATE <= 8.0 + (end - start) + 2.0 + 4.0
    dog = [r for r in _rows(events) if r[3] == "Dog"]
    assert [r[6] for r in dog] == [clip.name]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_events_csv_write_error_is_kept_not_raised(tmp_path):
    path = tmp_path / "ev.csv"
    out = EventsCsv(str(path))
    out.add(Event(0.5, "Cat", 0.5, 1.0))
    full = os.open("/dev/full", os.O_WRONLY)  # the kernel's full disk ...
    os.dup2(full, out._out._out.fd)  # ... behind the file's descriptor from now on
    os.close(full)
    out.add(Event(1.0, "Dog", 0.5, 1.0))  # the classifier thread goes on
    assert out.error and "no space left" in out.error.lower() and str(tmp_path) in out.error
    out.add(Event(2.0, "Dog", 0.5, 1.0))
    assert out.rows == 1
    out.close()
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == CSV_HEADER and [r[3] for r in rows[1:]] == ["Cat"]  # what was written stays


@pytest.mark.parametrize("extra, message", [
    (("--save-clips", "/nonexistent/clips"), "--save-clips: /nonexistent/clips is not a writable"),
    (("--save-clips", ".", "--input", str(DATA / "ms_bark1.wav"), "--no-realtime"),
     "--save-clips needs real time"),
    (("--preroll", "601"), "pre-roll must be from 1 to 600 seconds"),
    (("--clip-after", "-1"), "clip after must be from 0 to 600 seconds"),
])
def test_clip_options_are_checked_first(extra, message):
    args = ["--headless", "--duration", "1", *extra]
    if "--input" not in extra:
        args += ["--generator", "sine:1000"]
    done = subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_end_clip_ends_a_clip_exactly_after_s_later(tmp_path):
    from monitor.recorder import Recorder
    from test_recorder import SR, Unpaced, read, write_counter

    played = write_counter(tmp_path / "in.wav", 20 * SR, SR)
    rec = Recorder(SR, 1, preroll_seconds=5)
    rec.start()
    src = Unpaced(tmp_path / "in.wav", rec)
    try:
        src.play(6 * SR)
        wait_until(lambda: rec.position == 6 * SR, 10, "the writer to catch up")
        path = rec.save_clip(2.0, 3600, "Dog", str(tmp_path))  # until told
        src.play(3 * SR)
        wait_until(lambda: rec.position == 9 * SR, 10, "the writer to catch up")
        rec.end_clip(path, 1.5)
        src.play(4 * SR)
        assert rec.wait_saved(path, 10)
        rec.end_clip(path, 1.0)  # already ended: nothing happens
    finally:
        assert rec.stop(timeout=10)
        src.close()
    np.testing.assert_array_equal(read(path)[:, 0], played[4 * SR:int(10.5 * SR), 0])
