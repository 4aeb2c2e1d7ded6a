"""The session's rules in plain pytest: no Qt, no audio hardware.

Sources are real generators and real files. The "default input" and a device that is gone are
stood in for by ``source_factory`` (the real PortAudio cases, a device that fails and a server
that dies, are in tests/test_device_loss.py and tests/test_cli_e2e.py).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

from monitor.errors import ParameterError
from monitor.session import (DEMO_SOURCE_NOTE, Problems, Session, clean_saved, fit_settings,
                             merge_choices)
from monitor.settings import Settings
from monitor.sources import GeneratorSource, open_source

DEFAULT_TONE = "sine:440"  # what "the default input" plays in these tests


def factory(available: bool = True, gone=("gone",)):
    """``settings -> Source``: generators and files as usual; the default input is a 440 Hz
    generator (or missing when not ``available``); the devices in ``gone`` refuse to open."""

    def make(settings: Settings):
        if settings.input or settings.generator:
            return open_source(settings)
        if settings.device in gone or (settings.device is None and not available):
            raise ParameterError(f"unknown input device {settings.device!r}")
        return GeneratorSource(DEFAULT_TONE, settings.samplerate or 48000.0)

    return make


@pytest.fixture
def sessions():
    made = []

    def make(given=None, saved=None, **kw) -> Session:
        kw.setdefault("source_factory", factory())
        session = Session({"classifier": False, **(given or {})}, saved, **kw)
        made.append(session)
        return session

    yield make
    for s in made:
        s.close()


@pytest.fixture
def file16k(tmp_path):
    path = tmp_path / "tone16k.wav"
    t = np.arange(16000 * 2) / 16000
    sf.write(path, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), 16000)
    return str(path)


# -- merging ---------------------------------------------------------------------------------
def test_command_line_wins_and_a_named_source_drops_the_saved_one():
    saved = {"device": 3, "samplerate": 96000.0, "n_fft": 4096, "colormap": "magma"}
    assert merge_choices(saved, {"n_fft": 1024}) == {**saved, "n_fft": 1024}
    merged = merge_choices(saved, {"device": "pulse"})
    assert merged == {"device": "pulse", "n_fft": 4096, "colormap": "magma"}
    assert "samplerate" not in merge_choices(saved, {"generator": "pink"})


def test_a_file_or_generator_is_never_restored_from_saved_settings():
    kept, dropped = clean_saved({"input": "/tmp/x.wav", "generator": "pink", "loop": True,
                                 "realtime": False, "n_fft": 4096})
    assert kept == {"n_fft": 4096} and not dropped


def test_session_with_saved_device_and_command_line_device(sessions):
    session = sessions({"device": "other"}, {"device": "gone", "samplerate": 22050.0},
                       source_factory=factory())
    session.start()
    assert session.settings.device == "other" and session.pipeline.samplerate == 48000.0


# -- the hop rule ----------------------------------------------------------------------------
def test_hop_follows_n_fft_unless_chosen(sessions):
    session = sessions({"generator": "sine:1000"})
    session.start()
    for n_fft in (256, 2048, 16384, 1024):
        assert session.change({"n_fft": n_fft})
        assert session.settings.hop == n_fft // 4
    assert session.change({"hop": 300})  # chosen: it stays …
    assert session.change({"n_fft": 4096}) and session.settings.hop == 300
    assert session.change({"n_fft": 256})  # … until it does not fit, then n_fft/4 and a note
    assert session.settings.hop == 64 and "hop 300" in session.problems.get("fit:hop").text
    assert session.change({"n_fft": 2048})  # and it comes back when it fits again
    assert session.settings.hop == 300 and session.problems.get("fit:hop") is None


def test_command_line_n_fft_gives_a_quarter_hop():
    settings, notes = fit_settings({"n_fft": 8192}, 48000.0)
    assert settings.hop == 2048 and not notes


@pytest.mark.parametrize("n_fft,hop", [(2048, 1), (2048, 31), (16384, 4), (256, 257)])
def test_hop_outside_n_fft_over_64_to_n_fft_is_refused(n_fft, hop):
    with pytest.raises(ParameterError, match="hop must be from"):
        fit_settings({"n_fft": n_fft, "hop": hop}, 48000.0, strict={"n_fft", "hop"})


# -- the mel rule ----------------------------------------------------------------------------
def test_lowered_mels_come_back_and_the_note_goes(sessions):
    session = sessions({"generator": "sine:1000"})
    session.start()
    assert session.change({"n_fft": 256})
    lowered = session.settings.n_mels
    assert 10 < lowered < 128 and f"to {lowered}" in session.problems.get("fit:n_mels").text
    assert session.change({"n_fft": 2048})
    assert session.settings.n_mels == 128 and session.problems.get("fit:n_mels") is None


def test_explicit_mels_that_do_not_fit_are_refused(sessions):
    with pytest.raises(ParameterError, match="n_mels 128 is too many"):
        sessions({"generator": "sine:1000", "n_fft": 256, "n_mels": 128}).start()
    session = sessions({"generator": "sine:1000", "n_fft": 256})
    session.start()
    assert not session.change({"n_mels": 1000})
    assert "n_mels 1000" in session.problems.get("change").text
    assert session.settings.n_mels < 128
    assert session.change({"n_mels": 20}) and session.problems.get("change") is None


# -- the frequency range rule ------------------------------------------------------------------
def test_saved_range_beyond_nyquist_is_reset_and_said(sessions, file16k):
    session = sessions({"input": file16k}, {"fmin": 50.0, "fmax": 20000.0})
    session.start()
    assert session.settings.fmax is None and session.settings.fmin == 0.0
    text = session.problems.get("fit:range").text
    assert "fmax 20000 Hz" in text and "fmin 50 Hz" in text and "8000 Hz" in text
    # The choice is remembered: a 48 kHz source gets it back.
    assert session.change({"input": None, "generator": "sine:1000"})
    assert session.settings.fmax == 20000.0 and session.problems.get("fit:range") is None


def test_given_range_beyond_nyquist_is_refused(sessions, file16k):
    with pytest.raises(ParameterError, match="Nyquist"):
        sessions({"input": file16k, "fmax": 20000.0}).start()


def test_live_change_beyond_nyquist_is_refused_and_nothing_changes(sessions):
    session = sessions({"generator": "sine:1000"})
    session.start()
    before = session.settings
    assert not session.change({"fmax": 30000.0})
    assert session.settings is before and "Nyquist" in session.problems.get("change").text


# -- fallbacks --------------------------------------------------------------------------------
def test_saved_device_gone_falls_back_to_the_default_input(sessions):
    session = sessions({}, {"device": "gone", "blocksize": 1024})
    session.start()
    assert session.pipeline.source.description.startswith("generator")
    assert session.settings.device is None and session.settings.blocksize == 0
    problem = session.problems.get("input")
    assert problem.severity == "warning" and "saved input unavailable" in problem.text
    assert "device" not in session.saved_choices()  # the broken saved input is forgotten


def test_given_device_gone_is_an_error_even_with_a_demo(sessions):
    with pytest.raises(ParameterError, match="gone"):
        sessions({"device": "gone"}, allow_demo=True).start()


def test_no_input_shows_the_demo_only_where_allowed(sessions):
    with pytest.raises(ParameterError, match="unknown input device"):
        sessions(source_factory=factory(available=False)).start()
    session = sessions(source_factory=factory(available=False), allow_demo=True)
    session.start()
    assert session.on_demo and session.pipeline.source.path.endswith("demo.wav")
    assert DEMO_SOURCE_NOTE in session.problems.get("input").text


def test_failed_source_change_keeps_the_old_source(sessions, tmp_path):
    session = sessions({"generator": "sine:1000"})
    session.start()
    assert not session.change({"input": str(tmp_path / "missing.wav")})
    assert session.settings.generator == "sine:1000" and session.pipeline.source.active
    assert session.problems.get("change").severity == "error"


def test_channel_beyond_the_source_is_refused_live_and_saved_one_is_dropped(sessions):
    session = sessions({"generator": "sine:1000"})
    session.start()
    pipeline = session.pipeline
    assert not session.change({"channel": 2})
    assert session.pipeline is pipeline and session.settings.channel is None
    session2 = sessions({}, {"channel": 2})
    session2.start()
    assert session2.settings.channel is None and session2.problems.get("fit:channel")


# -- saved settings that no longer work ----------------------------------------------------------
@pytest.mark.parametrize("bad", [{"threshold": 5}, {"fps": 1e308}, {"htk": 5},
                                 {"peak_hold": float("nan")}, {"n_fft": 1000},
                                 {"watch": [["Dog"]]}, {"latency": "fast"}, {"colormap": 3}])
def test_a_bad_saved_value_is_dropped_alone(bad):
    kept, dropped = clean_saved({**bad, "colormap": "magma", "history": 30.0} if "colormap" not in bad
                                else {**bad, "history": 30.0})
    assert len(dropped) == 1 and next(iter(bad)) in dropped[0]
    assert kept["history"] == 30.0 and next(iter(bad)) not in kept


def test_saved_values_that_conflict_drop_one_and_keep_the_rest():
    kept, dropped = clean_saved({"fmin": 9000.0, "fmax": 2000.0, "colormap": "magma"})
    assert len(dropped) == 1 and kept["colormap"] == "magma"
    Settings(**kept).validate()


def test_a_saved_value_that_conflicts_with_the_command_line_gives_way():
    kept, dropped = clean_saved({"fmin": 9000.0, "colormap": "magma"}, {"fmax": 5000.0})
    assert kept == {"colormap": "magma"} and "fmin" in dropped[0]
    session = Session({"fmax": 5000.0, "generator": "sine:1000", "classifier": False},
                      {"fmin": 9000.0})
    assert session.settings.fmin == 0.0 and session.settings.fmax == 5000.0


def test_saved_problems_name_reset_settings(sessions):
    session = sessions({"generator": "sine:1000"}, {"threshold": 5})
    assert "--reset-settings" in session.problems.top().text


# -- start, stop, problems -----------------------------------------------------------------------
def test_start_and_stop_are_idempotent(sessions):
    session = sessions({"generator": "sine:1000"})
    pipeline = session.start()
    assert session.start() is pipeline
    session.stop()
    session.stop()
    assert not pipeline.source.active


def test_problems_replace_by_key_and_sort_by_severity():
    problems = Problems()
    problems.report("a", "one", "info")
    problems.report("b", "two", "error")
    version = problems.version
    problems.report("b", "two", "error")
    assert problems.version == version  # the same problem again is no change
    problems.report("a", "one again", "warning")
    assert [p.key for p in problems.items()] == ["b", "a"]
    assert problems.top().text == "two" and problems.top("error").key == "b"
    problems.clear("b")
    assert problems.top("error") is None and problems.top().text == "one again"
    with pytest.raises(ValueError):
        problems.report("c", "x", "fatal")


def test_a_dead_worker_is_reported_and_restarted(sessions):
    session = sessions({"generator": "sine:1000"})
    session.start()
    worker = session.pipeline.worker
    died = threading.Event()
    original = worker.process

    def fail_once(block):
        if not died.is_set():
            died.set()
            raise RuntimeError("injected")
        return original(block)

    worker.process = fail_once
    assert died.wait(10)
    worker._thread.join(10)  # the thread ends with the exception
    session.poll()
    assert "injected" in session.problems.get("worker").text
    assert worker._thread.is_alive() and worker.restarts == 1
    start = worker.frames_in
    assert wait_for(lambda: worker.frames_in > start)


def test_a_failing_file_is_an_input_error_with_no_retry(sessions, tmp_path):
    session = sessions({"generator": "sine:1000"})
    session.start()
    session.pipeline.source.error = "cannot read x.wav"
    session.poll()
    assert session.problems.get("input").text == "cannot read x.wav"
    assert session.status().problem == "cannot read x.wav"


def wait_for(condition, timeout: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False


# -- any saved settings, a valid command line: the run starts ----------------------------------
from hypothesis import HealthCheck, given as hypothesis_given, settings as hsettings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from monitor.settings import FIELDS  # noqa: E402

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))


def _value(field):
    if field.kind == "bool":
        return st.booleans()
    if field.kind in ("int", "float"):
        lo, hi = field.lo if field.lo is not None else -1e6, field.hi if field.hi is not None else 1e6
        base = st.integers(int(lo), int(hi)) if field.kind == "int" else st.floats(lo, hi)
        return st.one_of(base, _JUNK)
    if field.choices:
        return st.one_of(st.sampled_from(field.choices), _JUNK)
    return _JUNK


_SAVED = st.fixed_dictionaries({}, optional={f.name: _value(f) for f in FIELDS
                                             if f.persist and f.name not in ("device", "model",
                                                                             "labels")})


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@hypothesis_given(_SAVED)
def test_saved_settings_never_block_a_valid_command_line(saved):
    session = Session({"generator": "sine:1000", "classifier": False}, saved,
                      source_factory=factory())
    try:
        session.start()
        assert session.pipeline.source.active or session.pipeline.source.finished
    finally:
        session.close()
