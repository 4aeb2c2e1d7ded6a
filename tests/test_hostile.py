"""Hostile inputs and output paths (issue 11): every file is made here, at run time.

Module level: :mod:`monitor.outputs` (exclusive, no links followed, whole or nothing, streaming
CSV), file input (lying headers, special files, damaged MP3/Ogg, files cut while playing),
huge finite samples through the worker, generator bounds and levels, model and labels files,
formula-safe events CSV. End to end: ``main.py --headless`` in a subprocess, asserting exit
code 2, one ``spectromon:`` line without a traceback, untouched files around the named output
(checksums) and the child's peak memory (``wait4`` rusage).

Cases that need the command line to call the new checks (the lead's cli/headless rework) are
marked ``xfail(strict=False)`` with the missing piece named.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import os
import struct
import signal
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from conftest import REPO
from monitor.classifier.aggregation import Event, write_events_csv
from monitor.classifier.model import MAX_CLASSES, MAX_LABEL_CHARS, find_packaged_model, load_labels
from monitor.dsp.levels import SAMPLE_LIMIT, limit_samples, mix_to_mono
from monitor.errors import ParameterError
from monitor.output_streams import CsvStream, StreamingOutput
from monitor.outputs import (atomic_output, check_output_options, check_output_path, csv_text_cell,
                             open_exclusive, write_atomically, write_bytes)
from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from monitor.sources.base import MAX_CHANNELS, MAX_RATE, MAX_SAMPLES_PER_SECOND, MIN_RATE
from monitor.sources.file import FileSource
from monitor.sources.generator import MAX_TONE_RATE, NOISE_CREST, GeneratorSource, parse_spec
from monitor.worker import AnalysisWorker

PY = "/work/main/.venv/bin/python" if os.path.exists("/work/main/.venv/bin/python") else sys.executable
MAIN = REPO / "main.py"
RUN_TIMEOUT = 60  # seconds; a hang (a FIFO opened for writing) fails instead of blocking
MAX_RSS_MB = 600
FIFO_TIMEOUT = 10.0


# --- helpers -------------------------------------------------------------------------------

def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    assert "Traceback" not in text
    return text


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict:
    """Name → (kind, sha256 or link target) of everything in ``folder``, links not followed."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_symlink():
            out[p.name] = ("link", os.readlink(p))
        elif p.is_fifo():
            out[p.name] = ("fifo", None)
        elif p.is_dir():
            out[p.name] = ("dir", None)
        else:
            out[p.name] = ("file", digest(p))
    return out


def in_thread(fn, timeout: float = FIFO_TIMEOUT):
    """Run ``fn`` on a daemon thread; fail if it has not returned in ``timeout`` s (a FIFO
    opened for writing would block forever). Returns fn's exception or result."""
    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} blocked for {timeout} s"
    return box.get("error", box.get("result"))


def lying_wav(path: Path, rate: int, channels: int, data_bytes: int = 6_000_000,
              bits: int = 16) -> Path:
    """A PCM WAV whose header declares ``rate`` Hz × ``channels`` over ``data_bytes`` of zeros."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF,
                      bits)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
            + struct.pack("<I", data_bytes))
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body) - 4 + 4 + data_bytes) + body)
        f.truncate(f.tell() + data_bytes)
    return path


def sine(seconds: float, rate: int = 48000, channels: int = 1, peak: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = peak * np.sin(2 * np.pi * 440 * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def damaged(path: Path, data: bytes, where: float = 1 / 3, n: int = 4000) -> Path:
    b = bytearray(data)
    i = int(len(b) * where)
    b[i:i + n] = np.random.default_rng(1).integers(0, 256, n, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(b))
    return path


@contextlib.contextmanager
def tiny_disk(tmp_path: Path, size: str = "64k"):
    """A tmpfs of ``size`` (root only); skips when it cannot be mounted (the RLIMIT_FSIZE test
    below covers the write-failure path without a mount)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# --- outputs: pre-flight ---------------------------------------------------------------------

@pytest.fixture
def hostile_folder(tmp_path):
    """A folder holding each kind of thing an output name may hit."""
    d = tmp_path / "out"
    d.mkdir()
    (d / "victim.txt").write_text("precious\n")
    (d / "existing.csv").write_text("old,data\n")
    os.symlink("victim.txt", d / "link.csv")
    os.symlink(str(tmp_path / "elsewhere" / "target.csv"), d / "dangling.csv")
    os.mkfifo(d / "fifo.csv")
    (d / "folder.csv").mkdir()
    return d


HOSTILE_NAMES = {
    "existing.csv": "will not overwrite",
    "link.csv": "symbolic link",
    "dangling.csv": "does not exist; will not create it",
    "fifo.csv": "named pipe",
    "folder.csv": "folder",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
def test_check_output_path_refuses_what_exists(hostile_folder, tmp_path, name):
    before = snapshot(hostile_folder)
    exc = in_thread(lambda: check_output_path(str(hostile_folder / name), "--events-csv"))
    assert isinstance(exc, ParameterError), exc
    assert one_line(exc).startswith("--events-csv: ") and HOSTILE_NAMES[name] in str(exc)
    assert snapshot(hostile_folder) == before
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
@pytest.mark.parametrize("how", ["atomic", "stream", "csv", "exclusive"])
def test_every_writer_refuses_what_exists_and_never_blocks(hostile_folder, tmp_path, name, how):
    path = str(hostile_folder / name)
    before = snapshot(hostile_folder)
    writers = {
        "atomic": lambda: write_bytes(path, b"new", "--save-features"),
        "stream": lambda: StreamingOutput(path, "--x", header=b"h\n"),
        "csv": lambda: CsvStream(path, ["a"], "--events-csv"),
        "exclusive": lambda: open_exclusive(path, "--record"),
    }
    exc = in_thread(writers[how])
    assert isinstance(exc, ParameterError), exc
    one_line(exc)
    assert snapshot(hostile_folder) == before
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("path,words", [
    ("", "needs a file name"),
    ("a\nb.csv", "control character"),
    ("nope/x.csv", "does not exist"),
    ("victim.txt/x.csv", "is a file"),
    ("x" * 300 + ".csv", "too long"),
    ("sub/", "names a folder"),
])
def test_check_output_path_bad_names(hostile_folder, path, words, monkeypatch):
    monkeypatch.chdir(hostile_folder)
    exc = pytest.raises(ParameterError, check_output_path, path, "--record").value
    assert words in one_line(exc)


def test_special_files_outside_the_folder_are_refused():
    for dev in ("/dev/null", "/dev/full", "/dev/zero"):
        exc = in_thread(lambda dev=dev: write_bytes(dev, b"x", "--screenshot"))
        assert isinstance(exc, ParameterError) and "device" in one_line(exc)


def test_screenshot_and_record_extensions_checked_before_the_run(tmp_path):
    with pytest.raises(ParameterError, match=r"must end in \.png"):
        check_output_options({"--screenshot": str(tmp_path / "x.xyz")})
    with pytest.raises(ParameterError, match=r"must end in \.wav"):
        check_output_options({"--record": str(tmp_path / "x.flac")}, {"--record": (".wav",)})
    with pytest.raises(ParameterError, match="same file"):
        check_output_options({"--events-csv": str(tmp_path / "a.csv"),
                              "--save-features": str(tmp_path / "." / "a.csv")})
    check_output_options({"--events-csv": str(tmp_path / "a.csv"), "--record": None,
                          "--record ": None, "--save-features": str(tmp_path / "f.npz")})
    assert list(tmp_path.iterdir()) == []  # the check creates nothing


# --- outputs: writing ------------------------------------------------------------------------

@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named-temp"])
def test_atomic_output_writes_the_exact_name_and_leaves_no_temp(tmp_path, named):
    path = tmp_path / "features.dat"  # not .npz: no suffix is added
    with atomic_output(str(path), "--save-features", _force_named=named) as f:
        np.savez(f, x=np.arange(5))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features.dat"]
    assert np.load(path)["x"].tolist() == [0, 1, 2, 3, 4]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open(2) would make it


@pytest.mark.parametrize("named", [False, True], ids=["O_TMPFILE", "named-temp"])
def test_a_failing_writer_leaves_nothing(tmp_path, named):
    def boom(f):
        f.write(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError):
        with atomic_output(str(tmp_path / "x.npz"), _force_named=named) as f:
            boom(f)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("planted", ["file", "link", "dangling"])
def test_a_name_taken_while_writing_is_not_overwritten(tmp_path, planted):
    """Between the check and the link, someone creates the name: link(2) refuses it."""
    path = tmp_path / "out.csv"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")

    def writer(f):
        f.write(b"new content")
        if planted == "file":
            path.write_text("theirs\n")
        elif planted == "link":
            os.symlink(victim, path)
        else:
            os.symlink(tmp_path / "ghost.txt", path)

    exc = pytest.raises(ParameterError, write_atomically, str(path), writer, "--events-csv").value
    assert "exists now" in one_line(exc)
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "ghost.txt").exists()
    if planted == "file":
        assert path.read_text() == "theirs\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_csv_stream_is_exclusive_and_synced_per_batch(tmp_path):
    path = tmp_path / "events.csv"
    with CsvStream(str(path), ["t", "label"], "--events-csv", batch_rows=2) as out:
        out.write_row([0.5, "Speech"])
        out.write_row([1.0, "=cmd|' /C calc'!A0"])
        # Two rows make a batch: they are on disk before close.
        assert path.read_text().count("\n") == 3
        out.write_row([1.5, "Dog"])
    rows = list(csv.reader(path.open(newline="")))
    assert rows == [["t", "label"], ["0.5", "Speech"], ["1.0", "'=cmd|' /C calc'!A0"],
                    ["1.5", "Dog"]]
    with pytest.raises(ParameterError, match="will not overwrite"):
        CsvStream(str(path), ["t"])


def test_disk_full_leaves_nothing_or_a_valid_file(tmp_path):
    with tiny_disk(tmp_path) as disk:
        big = np.random.default_rng(0).standard_normal(100_000)
        exc = pytest.raises(ParameterError, write_atomically, str(disk / "f.npz"),
                            lambda f: np.savez(f, x=big), "--save-features").value
        message = one_line(exc)
        assert "no space left" in message and str(disk) in message and "f.npz" in message
        assert list(disk.iterdir()) == []
        # The same name works at once for something that fits: nothing was left behind.
        write_atomically(str(disk / "f.npz"), lambda f: np.savez(f, x=big[:100]))
        assert np.load(disk / "f.npz")["x"].shape == (100,)
        (disk / "f.npz").unlink()

        out = CsvStream(str(disk / "e.csv"), ["i", "label"], "--events-csv", batch_rows=7)
        with pytest.raises(ParameterError, match="no space left"):
            for i in range(100_000):
                out.write_row([i, "x" * 40])
        with pytest.raises(ParameterError):  # and stays refused
            out.write_row([0, "late"])
        out.close()
        rows = list(csv.reader((disk / "e.csv").open(newline="")))
        assert rows[0] == ["i", "label"] and len(rows) > 1
        assert (len(rows) - 1) % 7 == 0  # ends after a whole batch
        assert [int(r[0]) for r in rows[1:]] == list(range(len(rows) - 1))
        (disk / "e.csv").unlink()

        # A stream that never got a whole batch on disk is removed.
        (disk / "fill").write_bytes(b"")
        with contextlib.suppress(OSError):
            with open(disk / "fill", "wb") as f:
                f.write(b"\0" * 1_000_000)
        with pytest.raises(ParameterError, match="no space left"):
            s = StreamingOutput(str(disk / "s.csv"), "--events-csv", header=b"h" * 8192)
            s.close()
        assert not (disk / "s.csv").exists()


FSIZE_CHILD = textwrap.dedent("""
    import resource, signal, sys, os
    sys.path.insert(0, {repo!r})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
    from monitor.outputs import write_bytes
    from monitor.output_streams import CsvStream
    from monitor.errors import ParameterError
    folder = sys.argv[1]
    try:
        write_bytes(os.path.join(folder, "big.bin"), b"x" * 200000, "--save-features")
    except ParameterError as exc:
        print(exc)
    out = CsvStream(os.path.join(folder, "e.csv"), ["i"], "--events-csv", batch_rows=10)
    try:
        for i in range(100000):
            out.write_row([i])
    except ParameterError as exc:
        print(exc)
    out.close()
""")


def test_file_too_large_rlimit_fsize(tmp_path):
    """EFBIG without a mount: a child limited to 64 kB files (RLIMIT_FSIZE)."""
    proc = subprocess.run([PY, "-c", FSIZE_CHILD.format(repo=str(REPO)), str(tmp_path)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all("file too large" in line for line in lines), proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv"]
    rows = list(csv.reader((tmp_path / "e.csv").open(newline="")))
    assert (len(rows) - 1) % 10 == 0 and rows[-1] == [str(len(rows) - 2)]


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
                    min_size=1, max_size=40))
def test_any_file_name_is_written_exactly_or_refused_in_one_line(tmp_path, name):
    folder = tmp_path / "h"
    folder.mkdir(exist_ok=True)
    path = str(folder / name)
    try:
        write_bytes(path, b"data", "--screenshot")
    except ParameterError as exc:
        one_line(exc)
        assert os.listdir(folder) == []
        return
    assert open(path, "rb").read() == b"data"
    os.unlink(path)
    assert os.listdir(folder) == []


# --- events CSV: spreadsheet formulas ----------------------------------------------------------

@pytest.mark.parametrize("label", ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)",
                                   "\tTab", "\rCR"])
def test_events_csv_neutralises_formulas(tmp_path, label):
    path = tmp_path / "events.csv"
    write_events_csv(str(path), [Event(0.0, label, 0.5, 0.96), Event(1.0, "Dog", 0.9, 0.5)])
    rows = list(csv.reader(path.open(newline="")))
    col = {name: i for i, name in enumerate(rows[0])}
    assert rows[1][col["label"]] == "'" + label and rows[2][col["label"]] == "Dog"
    assert rows[1][col["start_s"]] == "0.000"  # numbers are left alone
    assert float(rows[1][col["peak_score"]]) == 0.5
    with pytest.raises(ParameterError, match="will not overwrite"):
        write_events_csv(str(path), [])


@given(st.text(max_size=30))
def test_csv_text_cell_never_starts_a_formula(text):
    cell = csv_text_cell(text)
    assert cell in (text, "'" + text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


# --- file input ------------------------------------------------------------------------------

def test_a_lying_header_is_refused_before_allocating(tmp_path):
    path = lying_wav(tmp_path / "lying.wav", 100_000_000, 64)
    tracemalloc.start()
    try:
        exc = pytest.raises(ParameterError, FileSource, str(path)).value
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "sample rate of 100000000 Hz" in one_line(exc) and "768000" in str(exc)
    assert peak < 10_000_000


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.integers(1, 2**32 - 1), channels=st.integers(1, 1024))
def test_declared_formats_are_bounded(tmp_path, rate, channels):
    path = lying_wav(tmp_path / "h.wav", rate, channels, data_bytes=channels * 2 * 64)
    ok = MIN_RATE <= rate <= MAX_RATE and channels <= MAX_CHANNELS \
        and rate * channels <= MAX_SAMPLES_PER_SECOND
    try:
        src = FileSource(str(path))
    except ParameterError as exc:
        message = one_line(exc)
        assert not ok or "cannot read" in message, message
        if not ok:
            assert any(w in message for w in ("sample rate", "channels", "samples/s", "cannot read"))
        return
    assert ok, (rate, channels)
    assert src.samplerate == rate and src.channels == channels
    src.close()


@pytest.fixture
def odd_inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    x = sine(6.0)
    sf.write(str(d / "ok.mp3"), x, 48000)
    sf.write(str(d / "ok.ogg"), x, 48000)
    (d / "empty.wav").write_bytes(b"")
    os.mkfifo(d / "fifo.wav")
    (d / "folder.wav").mkdir()
    (d / "garbage.mp3").write_bytes(np.random.default_rng(2).bytes(50_000))
    (d / "garbage.ogg").write_bytes(np.random.default_rng(3).bytes(50_000))
    (d / "text.wav").write_text("not audio\n")
    os.symlink(d / "missing.wav", d / "dangling.wav")
    mp3 = (d / "ok.mp3").read_bytes()
    ogg = (d / "ok.ogg").read_bytes()
    (d / "cut.mp3").write_bytes(mp3[:len(mp3) // 3])
    damaged(d / "bad.mp3", mp3)
    damaged(d / "bad.ogg", ogg)
    (d / "cut.ogg").write_bytes(ogg[:len(ogg) // 3])
    return d


@pytest.mark.parametrize("name,words", [
    ("empty.wav", "empty (0 bytes)"), ("fifo.wav", "named pipe"), ("folder.wav", "folder"),
    ("garbage.mp3", "can be decoded"), ("garbage.ogg", "format not recognised"),
    ("text.wav", "format not recognised"), ("dangling.wav", "symbolic link"),
    ("missing.wav", "no such file"), ("cut.ogg", "holds no audio"), ("/dev/zero", "device"),
])
def test_odd_inputs_get_one_clear_line(odd_inputs, name, words, capfd):
    path = name if name.startswith("/") else str(odd_inputs / name)
    exc = in_thread(lambda: FileSource(path))
    assert isinstance(exc, ParameterError), exc
    assert words in one_line(exc)
    assert "no such file" not in str(exc) or name == "missing.wav"
    err = capfd.readouterr().err
    assert "libmpg123" not in err and "Note:" not in err, err


def _play_all(src: FileSource, block: int = 4096) -> int:
    n = 0
    for _ in range(10_000):
        data = src.render(block)
        if data.shape[0] == 0:
            return n
        n += data.shape[0]
    raise AssertionError("never ended")


@pytest.mark.parametrize("name,seconds", [("cut.mp3", (1.0, 2.5)), ("bad.ogg", (0.5, 3.0)),
                                          ("bad.mp3", (0.5, 3.0))])
def test_damaged_files_say_so_where_they_end(odd_inputs, name, seconds, capfd):
    src = FileSource(str(odd_inputs / name))
    n = _play_all(src)
    assert seconds[0] * 48000 < n < seconds[1] * 48000
    assert src.error is not None and name in one_line(ParameterError(src.error))
    assert "damaged" in src.error
    src.close()
    err = capfd.readouterr().err
    assert "libmpg123" not in err and "Note:" not in err and "resync" not in err, err


@pytest.mark.parametrize("name", ["ok.mp3", "ok.ogg"])
def test_whole_compressed_files_play_to_the_end_without_error(odd_inputs, name):
    src = FileSource(str(odd_inputs / name))
    assert _play_all(src) == 6 * 48000 and src.error is None and src.finished is False
    src.close()


def test_other_stderr_lines_pass_the_decoder_filter(odd_inputs, capfd):
    from monitor.sources.file import quiet_decoder

    with quiet_decoder():
        os.write(2, b"spectromon: a real message\nNote: Illegal Audio-MPEG-Header 0x0\n")
    assert capfd.readouterr().err == "spectromon: a real message\n"


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_a_looped_file_emptied_while_playing_sets_error(tmp_path, ext):
    path = tmp_path / f"loop.{ext}"
    sf.write(str(path), sine(1.0), 48000)
    src = FileSource(str(path), loop=True, blocksize=4096)
    assert src.render(4096).shape[0] == 4096
    os.truncate(path, 0)
    for _ in range(100):
        if src.render(4096).shape[0] == 0:
            break
    assert src.error is not None, "a looped file emptied while playing ended silently"
    one_line(ParameterError(src.error))
    src.close()


def test_a_looped_whole_file_loops_without_error(tmp_path):
    path = tmp_path / "loop.wav"
    sf.write(str(path), sine(0.25), 48000)
    src = FileSource(str(path), loop=True, blocksize=4096)
    assert sum(src.render(4096).shape[0] for _ in range(30)) == 30 * 4096
    assert src.error is None
    src.close()


# --- huge finite samples ---------------------------------------------------------------------

def _worker(channels: int, **kw) -> AnalysisWorker:
    return AnalysisWorker(Settings(**kw), RingBuffer(1 << 16, channels), 48000.0)


@pytest.mark.parametrize("normalize", ["none", "peak", "rms"])
def test_samples_at_float32_max_give_finite_features(normalize):
    w = _worker(2, normalize=normalize)
    x = np.full((48000, 2), 3e38, np.float32)
    x[1::2] *= -1
    batch = w.process(x)
    for name in ("power_db", "mel_db", "peak_dbfs", "rms_dbfs", "peak_hz"):
        assert np.isfinite(getattr(batch, name)).all(), name
    assert w.clamped == x.shape[0] and w.nonfinite == 0  # mono samples clamped
    assert np.isfinite(w.scope).all()
    if normalize == "none":
        assert batch.peak_dbfs.max() == pytest.approx(20 * np.log10(SAMPLE_LIMIT), abs=0.01)


def test_the_mix_of_huge_channels_does_not_overflow():
    x = np.array([[3e38, 3e38], [-3.4e38, -3.4e38], [3e38, -3e38]], np.float32)
    assert mix_to_mono(x).tolist() == [np.float32(3e38), np.float32(-3.4e38), 0.0]
    limited, n = limit_samples(x)
    assert n == 6 and np.abs(limited).max() == SAMPLE_LIMIT
    quiet = np.full((4, 2), 0.5, np.float32)
    assert limit_samples(quiet)[0] is quiet and limit_samples(quiet)[1] == 0


@hsettings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1,
                       max_size=64),
       channels=st.integers(1, 3), normalize=st.sampled_from(["none", "peak", "rms"]))
def test_any_finite_input_gives_finite_features(values, channels, normalize):
    x = np.resize(np.array(values, dtype=np.float32), (2560, channels))
    w = _worker(channels, n_fft=512, hop=128, n_mels=32, normalize=normalize)
    batch = w.process(x)
    assert len(batch) > 0
    for name in ("power_db", "mel_db", "peak_dbfs", "rms_dbfs", "peak_hz"):
        assert np.isfinite(getattr(batch, name)).all(), name


# --- generators ------------------------------------------------------------------------------

def test_a_sweep_of_zero_width_is_the_sine():
    sweep = GeneratorSource("sweep:1000-1000:1@-6", 48000).render(96000)[:, 0]
    assert np.isfinite(sweep).all()
    t = np.arange(96000)
    a = 10 ** (-6 / 20)
    mid = slice(2000, 46000)  # away from the per-sweep fades
    assert np.allclose(sweep[mid], a * np.sin(2 * np.pi * 1000 * t[mid] / 48000), atol=1e-5)


@pytest.mark.parametrize("spec,words", [
    ("white@0", "at most -12.0 dBFS RMS"), ("pink@-6", "above full scale"),
    ("tones:100,200,300@-6", "at most -9.54 dBFS each"),
    ("tones:" + ",".join(str(50 + i) for i in range(1000)) + "@-80", "at most 64"),
])
def test_generator_specs_beyond_full_scale_or_real_time_are_refused(spec, words):
    assert words in one_line(pytest.raises(ParameterError, parse_spec, spec, 48000).value)


def test_generator_rates_are_bounded():
    with pytest.raises(ParameterError, match="768000"):
        GeneratorSource("sine:100", 1e6)
    assert "at most 4" in str(pytest.raises(ParameterError, parse_spec,
                                            "tones:100,200,300,400,500@-20", 768000).value)


@hsettings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["sine", "tones", "sweep", "white", "pink"]),
       freqs=st.lists(st.floats(20, 20000), min_size=1, max_size=70),
       db=st.floats(-60, 0), seconds=st.floats(0.01, 5))
def test_an_accepted_generator_never_exceeds_full_scale(kind, freqs, db, seconds):
    spec = {"sine": f"sine:{freqs[0]}", "tones": "tones:" + ",".join(map(str, freqs)),
            "sweep": f"sweep:{freqs[0]}-{freqs[-1]}:{seconds}", "white": "white",
            "pink": "pink"}[kind] + f"@{db}"
    try:
        gen = GeneratorSource(spec, 48000, seed=1)
    except ParameterError as exc:
        one_line(exc)
        if kind == "tones":
            assert len(freqs) * 48000 > MAX_TONE_RATE or len(freqs) * 10 ** (db / 20) > 1
        else:
            assert kind in ("white", "pink") and NOISE_CREST * 10 ** (db / 20) > 1
        return
    x = gen.render(48000)
    assert np.isfinite(x).all() and np.abs(x).max() <= 1.0


def test_noise_level_is_rms():
    x = GeneratorSource("white@-20", 48000, seed=3).render(480000)[:, 0].astype(np.float64)
    assert 20 * np.log10(np.sqrt(np.mean(x ** 2))) == pytest.approx(-20.0, abs=0.05)
    assert np.abs(x).max() <= NOISE_CREST * 10 ** (-20 / 20) + 1e-7


# --- model and labels ------------------------------------------------------------------------

@pytest.fixture
def labels_dir(tmp_path):
    d = tmp_path / "labels"
    d.mkdir()
    head = "index,mid,display_name\n"
    (d / "bad_utf8.csv").write_bytes(head.encode() + b"0,/m/a,Speech\n1,/m/b,\xff\xfeDog\n")
    (d / "field.csv").write_text(head + "0,/m/a," + "x" * 131072 + "\n")
    (d / "quoted_field.csv").write_text(head + '0,/m/a,"' + "x" * 140000 + '"\n')
    (d / "nul.csv").write_bytes(head.encode() + b"0,/m/a,Sp\0eech\n")
    (d / "newline.csv").write_text(head + '0,/m/a,"two\nlines"\n')
    (d / "short.csv").write_text(head + "0,/m/a\n")
    (d / "gap.csv").write_text(head + "0,/m/a,A\n2,/m/b,B\n")
    with open(d / "million.csv", "w") as f:
        f.write(head)
        f.writelines(f"{i},/m/{i},Label {i}\n" for i in range(1_000_000))
    (d / "million_short.csv").write_text("\n" * 1_000_000)
    return d


@pytest.mark.parametrize("name,words", [
    ("bad_utf8.csv", "not UTF-8 text (byte 0xff on line 3)"),
    ("field.csv", f"at most {MAX_LABEL_CHARS}"), ("quoted_field.csv", "field larger"),
    ("nul.csv", "control character"), ("newline.csv", "control character"),
    ("short.csv", "line 2 is not index,mid,display_name"), ("gap.csv", "0..N-1"),
    ("million.csv", "accepted"), ("million_short.csv", f"more than the {MAX_CLASSES}"),
])
def test_bad_labels_files_get_one_line_and_bounded_memory(labels_dir, name, words):
    tracemalloc.start()
    try:
        exc = pytest.raises(ParameterError, load_labels, str(labels_dir / name)).value
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in one_line(exc)
    assert peak < 20_000_000  # the 22 MB file is refused from its size, never read


def test_packaged_labels_still_load():
    labels = load_labels(find_packaged_model().labels_path)
    assert len(labels) == 521 and labels[0] == "Speech"


@pytest.fixture
def models(tmp_path):
    import onnx
    from onnx import helper

    d = tmp_path / "models"
    d.mkdir()
    (d / "empty.onnx").write_bytes(b"")
    with open(d / "huge.onnx", "wb") as f:
        f.truncate(3_000_000_000)  # sparse: 3 GB that take no disk
    (d / "garbage.onnx").write_bytes(np.random.default_rng(5).bytes(1000))
    onnx.save(helper.make_model(helper.make_graph([], "g", [], [])), str(d / "no_inputs.onnx"))
    os.mkfifo(d / "fifo.onnx")
    (d / "folder.onnx").mkdir()
    return d


@pytest.mark.parametrize("name,words", [
    ("empty.onnx", "empty (0 bytes)"), ("huge.onnx", "3.0 GB, more than"),
    ("garbage.onnx", "cannot load model"), ("no_inputs.onnx", "no inputs"),
    ("fifo.onnx", "named pipe"), ("folder.onnx", "folder"), ("missing.onnx", "no such file"),
])
def test_bad_model_files_get_one_line_without_being_read(models, name, words, monkeypatch):
    import onnx

    from monitor.classifier import load_model

    loads = []
    real_load = onnx.load

    def spy(path, *a, **kw):  # the real loader, counted
        loads.append(os.path.getsize(path))
        return real_load(path, *a, **kw)

    monkeypatch.setattr(onnx, "load", spy)
    labels = find_packaged_model().labels_path
    exc = in_thread(lambda: load_model(Settings(model=str(models / name), labels=labels)))
    assert isinstance(exc, ParameterError), exc
    assert words in one_line(exc)
    assert all(size < 1_000_000 for size in loads)  # the 3 GB file is never opened by onnx


# --- end to end: main.py --headless ----------------------------------------------------------

# The child's peak RSS must be its own: a process forked from this (large) pytest process counts
# the parent's pages it shared before exec in ru_maxrss (Linux keeps the old mm's high-water
# mark across exec). A tiny launcher, itself exec'd, forks the real child and reports its rusage.
_LAUNCH = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
with open(os.environ["SPECTROMON_TEST_RUSAGE"], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_main_rusage(*args: str, cwd: Path, timeout: float = RUN_TIMEOUT):
    """As :func:`run_main`, with the peak RSS of this child alone (``os.wait4`` in a launcher
    that is not a fork of pytest)."""
    out, err, rusage = cwd / ".stdout", cwd / ".stderr", cwd / ".rusage"
    env = dict(os.environ, XDG_CONFIG_HOME=str(cwd / ".config"), QT_QPA_PLATFORM="offscreen",
               SPECTROMON_TEST_RUSAGE=str(rusage))
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([PY, "-c", _LAUNCH, PY, str(MAIN), *args], cwd=cwd, stdout=fo,
                                stderr=fe, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        proc.wait()
    finally:
        timer.cancel()
    stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    out.unlink()
    err.unlink()
    assert proc.returncode != -9, f"main.py {' '.join(args)} hung for {timeout} s"
    maxrss = int(rusage.read_text())
    rusage.unlink()
    return proc.returncode, stdout, stderr, maxrss / 1024


def usage_error(rc: int, stderr: str, rss_mb: float) -> str:
    assert rc == 2, stderr
    assert "Traceback" not in stderr, stderr
    ours = [line for line in stderr.splitlines() if line.strip()]
    assert len(ours) == 1, stderr
    assert rss_mb < MAX_RSS_MB
    return ours[0]


@pytest.fixture
def e2e(tmp_path):
    d = tmp_path / "e2e"
    d.mkdir()
    return d


INPUT_CASES = {
    "lying.wav": "sample rate of 100000000 Hz",
    "lying64.wav": "samples/s",
    "empty.wav": "empty",
    "fifo.wav": "named pipe",
    "folder.wav": "folder",
    "/dev/zero": "device",
    "garbage.mp3": "can be decoded",
}


@pytest.mark.parametrize("name", sorted(INPUT_CASES))
def test_e2e_bad_inputs_one_line_exit_2_bounded_memory(e2e, name):
    lying_wav(e2e / "lying.wav", 100_000_000, 64)
    lying_wav(e2e / "lying64.wav", 768_000, 64)
    (e2e / "empty.wav").write_bytes(b"")
    os.mkfifo(e2e / "fifo.wav")
    (e2e / "folder.wav").mkdir()
    (e2e / "garbage.mp3").write_bytes(np.random.default_rng(2).bytes(50_000))
    before = snapshot(e2e)
    rc, out, err, rss = run_main_rusage("--headless", "--no-classifier", "--duration", "1",
                                        "--input", name, cwd=e2e)
    assert INPUT_CASES[name] in usage_error(rc, err, rss)
    assert out == ""
    assert snapshot(e2e) == before


def test_e2e_huge_finite_stereo_gives_finite_output(e2e):
    x = np.random.default_rng(6).uniform(-3e38, 3e38, (48000, 2)).astype(np.float32)
    sf.write(str(e2e / "huge.wav"), x, 48000, subtype="FLOAT")
    rc, out, err, rss = run_main_rusage("--headless", "--no-classifier", "--no-realtime",
                                        "--input", "huge.wav", "--save-features", "f.npz",
                                        cwd=e2e)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines and all(d["peak_dbfs"] is not None and d["peak_dbfs"] < 100 for d in lines)
    data = np.load(e2e / "f.npz")
    assert np.isfinite(data["power_db"]).all() and np.isfinite(data["mel_db"]).all()
    assert rss < MAX_RSS_MB


def test_e2e_clamped_samples_are_counted_in_the_output(e2e):
    x = np.full((48000, 2), 3e38, np.float32)
    sf.write(str(e2e / "huge.wav"), x, 48000, subtype="FLOAT")
    rc, out, err, _ = run_main_rusage("--headless", "--no-classifier", "--no-realtime",
                                      "--input", "huge.wav", cwd=e2e)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["clamped"] == x.shape[0]  # a running count, like "clipped" and "nonfinite"


@pytest.mark.parametrize("spec,rc", [("sweep:1000-1000:1", 0), ("white@0", 2),
                                     ("tones:" + ",".join(str(100 + i) for i in range(1000)), 2)])
def test_e2e_generators(e2e, spec, rc):
    code, out, err, rss = run_main_rusage("--headless", "--no-classifier", "--duration", "0.6",
                                          "--generator", spec, cwd=e2e)
    if rc == 2:
        assert "generator" in usage_error(code, err, rss)
    else:
        assert code == 0, err
        lines = [json.loads(line) for line in out.splitlines()]
        assert lines and all(d["rms_dbfs"] is None or np.isfinite(d["rms_dbfs"]) for d in lines)


@pytest.mark.parametrize("case", ["huge", "empty", "bad_labels"])
def test_e2e_bad_model_or_labels(e2e, case):
    with open(e2e / "huge.onnx", "wb") as f:
        f.truncate(3_000_000_000)
    (e2e / "empty.onnx").write_bytes(b"")
    (e2e / "bad.csv").write_bytes(b"index,mid,display_name\n0,/m/a,\xff\n")
    args = {"huge": ["--model", "huge.onnx"], "empty": ["--model", "empty.onnx"],
            "bad_labels": ["--model", "empty.onnx", "--labels", "bad.csv"]}[case]
    sf.write(str(e2e / "in.wav"), sine(1.0), 48000)
    rc, out, err, rss = run_main_rusage("--headless", "--no-realtime", "--input", "in.wav",
                                        *args, cwd=e2e)
    line = usage_error(rc, err, rss)
    assert ("3.0 GB" in line) if case == "huge" else ("empty" in line)


@pytest.mark.parametrize("name", ["existing.csv", "link.csv", "dangling.csv", "fifo.csv",
                                  "folder.csv"])
def test_e2e_events_csv_never_touches_what_exists(e2e, name):
    (e2e / "victim.txt").write_text("precious\n")
    (e2e / "existing.csv").write_text("old,data\n")
    os.symlink("victim.txt", e2e / "link.csv")
    os.symlink(str(e2e / "elsewhere.csv"), e2e / "dangling.csv")
    os.mkfifo(e2e / "fifo.csv")
    (e2e / "folder.csv").mkdir()
    sf.write(str(e2e / "in.wav"), sine(1.0), 48000)
    before = snapshot(e2e)
    rc, out, err, rss = run_main_rusage("--headless", "--no-realtime", "--input", "in.wav",
                                        "--events-csv", name, cwd=e2e)
    usage_error(rc, err, rss)
    assert snapshot(e2e) == before
    assert not (e2e / "elsewhere.csv").exists()




@pytest.mark.parametrize("option,name", [
    pytest.param("--events-csv", "existing.csv", marks=()),
    pytest.param("--save-features", "link.npz", marks=()),
    ("--record", "x.flac"), ("--record", "dangling.wav"), ("--record", "fifo.wav"),
    ("--record", "link.npz")])
def test_e2e_outputs_are_refused_before_the_run(e2e, option, name):
    (e2e / "existing.csv").write_text("old\n")
    (e2e / "victim.npz").write_bytes(b"precious")
    os.symlink("victim.npz", e2e / "link.npz")
    os.mkfifo(e2e / "fifo.wav")
    os.symlink(str(e2e / "elsewhere.wav"), e2e / "dangling.wav")
    sf.write(str(e2e / "in.wav"), sine(1.0), 48000)
    before = snapshot(e2e)
    rc, out, err, rss = run_main_rusage("--headless", "--no-realtime", "--no-classifier",
                                        "--input", "in.wav", option, name, cwd=e2e)
    usage_error(rc, err, rss)
    assert out == ""  # refused before a single line of monitoring
    assert snapshot(e2e) == before
    assert not (e2e / "elsewhere.wav").exists()


def test_e2e_save_features_writes_the_exact_name(e2e):
    sf.write(str(e2e / "in.wav"), sine(1.0), 48000)
    rc, out, err, _ = run_main_rusage("--headless", "--no-realtime", "--no-classifier",
                                      "--input", "in.wav", "--save-features", "out.dat", cwd=e2e)
    assert rc == 0, err
    assert sorted(p.name for p in e2e.iterdir()) == ["in.wav", "out.dat"]
    assert "mel_db" in np.load(e2e / "out.dat")


@pytest.mark.parametrize("name", ["bad.ogg", "cut.mp3"])
def test_e2e_damaged_input_is_reported(e2e, name):
    x = sine(6.0)
    ext = name.split(".")[1]
    sf.write(str(e2e / f"ok.{ext}"), x, 48000)
    data = (e2e / f"ok.{ext}").read_bytes()
    if name == "bad.ogg":
        damaged(e2e / name, data)
    else:
        (e2e / name).write_bytes(data[:len(data) // 3])
    rc, out, err, _ = run_main_rusage("--headless", "--no-realtime", "--no-classifier",
                                      "--input", name, cwd=e2e)
    assert "Traceback" not in err
    assert "damaged or was cut short" in err, err
    assert "libmpg123" not in err and "Note:" not in err


def test_a_file_system_without_hard_links_gets_an_exclusive_copy(tmp_path, monkeypatch):
    """Where link(2) is refused (FAT, some network disks), the temporary file is copied into
    a file created with O_EXCL: still exclusive, still whole."""
    import monitor.outputs as outputs

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(outputs.os, "link", no_links)
    data = np.random.default_rng(7).bytes(3_000_000)
    write_bytes(str(tmp_path / "a.bin"), data)
    assert (tmp_path / "a.bin").read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    with pytest.raises(ParameterError, match="will not overwrite"):
        write_bytes(str(tmp_path / "a.bin"), b"x")


def test_closed_standard_fds_are_reopened_before_outputs(tmp_path):
    """Started with stderr closed, the next file opened gets fd 2, and whatever a library
    writes to "stderr" (libmpg123's notes) lands in it; ensure_standard_fds() puts /dev/null
    there first."""
    child = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        from monitor.outputs import ensure_standard_fds
        from monitor.output_streams import CsvStream
        if sys.argv[1] == "fix":
            ensure_standard_fds()
        out = CsvStream(sys.argv[2], ["a"], batch_rows=1)
        os.write(2, b"Note: a C library writing to stderr\\n")
        out.write_row([1])
        out.close()
    """)

    def run(mode: str) -> bytes:
        path = tmp_path / f"{mode}.csv"
        proc = subprocess.run([PY, "-c", child, mode, str(path)], stdout=subprocess.PIPE,
                              text=True, timeout=RUN_TIMEOUT, check=False,
                              preexec_fn=lambda: os.close(2))  # started with stderr closed
        assert proc.returncode == 0
        return path.read_bytes()

    assert run("fix") == b"a\r\n1\r\n"
    assert run("nofix") != b"a\r\n1\r\n"  # the class is real: without it the file is damaged
