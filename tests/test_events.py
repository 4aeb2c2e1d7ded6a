"""Event times, the events CSV and the clips saved on alerts: real clips, the real model, real
files (and real processes killed with SIGKILL)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import main_cmd, unavailable, wait_until
from monitor.classifier import INSTALL_COMMAND, SoundEventClassifier, load_model
from monitor.classifier.aggregation import CSV_HEADER, Event, EventLog, EventsCsv, _neutralise
from monitor.classifier.model import ModelUnavailable
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


@pytest.fixture(scope="module")
def model():
    try:
        return load_model(Settings())
    except ModelUnavailable as exc:
        unavailable(f"YAMNet model unavailable ({exc}): {INSTALL_COMMAND}")


def sound_bounds(y: np.ndarray, rate: float, span_db: float = 30.0) -> tuple[float, float]:
    """Where the sound in a clip is: the first and last 10 ms frame within ``span_db`` of the
    loudest (seconds from the clip's start)."""
    hop = int(rate * 0.01)
    n = len(y) // hop
    level = 10 * np.log10(np.mean(y[:n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(level > level.max() - span_db)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


def timeline(path: Path, seed: int = 1) -> list:
    """Write every test clip, mono, at 48 kHz, placed after 2 s and 4 s apart in low noise
    (-70 dBFS); returns ``[(name, labels, true start s, true end s)]``."""
    rng = np.random.default_rng(seed)
    t, placed, parts = 2.0, [], []
    for name, labels in _clips():
        y, rate = sf.read(DATA / f"{name}.wav", dtype="float32", always_2d=True)
        y = soxr.resample(y.mean(axis=1), rate, RATE)
        a, b = sound_bounds(y, RATE)
        i = int(round(t * RATE))
        parts.append((i, y))
        placed.append((name, labels, i / RATE + a, i / RATE + b))
        t = i / RATE + len(y) / RATE + GAP_SECONDS
    x = (10 ** (NOISE_DBFS / 20) * rng.standard_normal(int((t + 2) * RATE))).astype(np.float32)
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
