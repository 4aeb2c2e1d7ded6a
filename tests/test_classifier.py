"""The sound-event classifier: frontend, resampler, real YAMNet model on real clips,
aggregation, watch list, event log, and the command line around it."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the widget tests: real Qt, no screen

from conftest import main_cmd
from monitor.classifier import (INSTALL_COMMAND, SoundEventClassifier, load_model,
                                open_classifier)
from monitor.classifier.aggregation import EventLog, ScoreSmoother, WatchList, ranked
from monitor.classifier.frontend import (PATCH_HOP_SAMPLES, PATCH_SAMPLES, LogMelFrontend,
                                         log_mel_patches, yamnet_mel_matrix)
from monitor.classifier.model import find_packaged_model
from monitor.classifier.ontology import LabelTree
from monitor.classifier.stream import StreamingResampler, resolve_watch
from monitor.settings import ParameterError, Settings
from monitor.sources.file import FileSource
from monitor.sources.generator import GeneratorSource

DATA = Path(__file__).resolve().parent / "data"
RUN_TIMEOUT = 120  # seconds for a subprocess; a hang fails instead of blocking the suite


def _clips() -> list:
    rows = []
    with open(DATA / "labels.tsv", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                name, rate, channels, labels = line.rstrip("\n").split("\t")
                rows.append((name, int(rate), int(channels), labels.split("|")))
    return rows


def _classifier(model, **settings) -> SoundEventClassifier:
    return SoundEventClassifier(model, Settings(**settings))


def _feed_source(clf: SoundEventClassifier, source, seconds: float = None, block: int = 1000,
                 t0: float = 0.0) -> None:
    """Feed a source's mono mix in blocks as the analysis worker would, then finish the stream."""
    done = 0
    limit = None if seconds is None else int(seconds * source.samplerate)
    while limit is None or done < limit:
        n = block if limit is None else min(block, limit - done)
        data = source.render(n)
        if data.shape[0] == 0:
            break
        done += data.shape[0]
        clf.feed(data.mean(axis=1, dtype=np.float32), source.samplerate,
                 t0 + done / source.samplerate)
    clf.flush()
    assert clf.wait_idle(timeout=60), "the classifier did not catch up"
    assert clf.error is None


def _clip_top(clf: SoundEventClassifier, k: int = 3) -> list:
    """Labels of the clip-averaged per-patch scores, best first."""
    assert clf.results, "no patch was classified"
    mean = np.mean([r.scores for r in clf.results], axis=0)
    return [clf.labels[i] for i in np.argsort(-mean)[:k]]


# --- frontend ----------------------------------------------------------------------------------

def test_mel_matrix_is_librosa_htk_without_norm():
    expected = librosa.filters.mel(sr=16000, n_fft=512, n_mels=64, fmin=125.0, fmax=7500.0,
                                   htk=True, norm=None)
    np.testing.assert_allclose(yamnet_mel_matrix().T, expected, rtol=1e-5, atol=1e-7)


def _reference_log_mel(y: np.ndarray) -> np.ndarray:
    """The issue's steps, computed independently with librosa: 400-sample periodic Hann frames
    every 160 samples, 512-point FFT, magnitude, 64 HTK mels 125-7500 Hz, log(mel + 0.001).

    librosa centres the 400-sample window in its 512-sample frame; 56 leading zeros put the
    window over samples [k·160, k·160 + 400) as in YAMNet (magnitudes ignore the shift)."""
    padded = np.concatenate((np.zeros(56, np.float32), y))
    spec = np.abs(librosa.stft(padded, n_fft=512, hop_length=160, win_length=400,
                               window="hann", center=False))
    mel = librosa.feature.melspectrogram(S=spec, sr=16000, n_mels=64, fmin=125.0, fmax=7500.0,
                                         htk=True, norm=None, power=1.0)
    return np.log(mel + 0.001).T  # (frames, 64)


def test_frontend_matches_direct_implementation():
    rng = np.random.default_rng(1)
    t = np.arange(3 * 16000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    patches = log_mel_patches(y)
    ref = _reference_log_mel(y)
    n = 1 + (y.size - PATCH_SAMPLES) // PATCH_HOP_SAMPLES
    assert patches.shape == (n, 96, 64)
    for i, patch in enumerate(patches):
        np.testing.assert_allclose(patch, ref[48 * i: 48 * i + 96], atol=2e-3)


def test_frontend_streaming_equals_offline():
    rng = np.random.default_rng(2)
    y = (0.2 * rng.standard_normal(40000)).astype(np.float32)
    offline = log_mel_patches(y)
    frontend = LogMelFrontend()
    streamed, pos = [], 0
    for size in rng.integers(1, 3000, size=100):
        streamed += frontend.process(y[pos:pos + size])
        pos += size
    streamed += frontend.process(y[pos:])
    assert [p.index for p in streamed] == list(range(len(offline)))
    np.testing.assert_allclose(np.stack([p.log_mel for p in streamed]), offline, atol=1e-5)


def test_silence_is_log_offset():
    patches = log_mel_patches(np.zeros(PATCH_SAMPLES, np.float32))
    np.testing.assert_allclose(patches, np.log(0.001), rtol=1e-6)


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_resampler_preserves_tone_frequency(rate):
    freq = 1234.0 if rate > 8000 else 987.0
    t = np.arange(3 * rate) / rate
    x = np.sin(2 * np.pi * freq * t).astype(np.float32)
    res = StreamingResampler(rate)
    rng = np.random.default_rng(3)
    out, pos = [], 0
    while pos < x.size:
        size = int(rng.integers(1, 2000))
        out.append(res.process(x[pos:pos + size]))
        pos += size
    out.append(res.finish())
    y = np.concatenate(out)
    assert abs(y.size - x.size * 16000 / rate) <= 2  # nothing dropped, nothing repeated
    seg = y[4000:-4000] * np.hanning(y.size - 8000)
    spectrum = np.abs(np.fft.rfft(seg, 1 << 18))
    peak = np.argmax(spectrum) * 16000 / (1 << 18)
    assert abs(peak - freq) < 1.0
    # Amplitude kept too (the passband is flat): RMS of a unit sine.
    assert abs(np.sqrt(np.mean(y[4000:-4000] ** 2)) - np.sqrt(0.5)) < 0.01


def test_resampler_removes_content_above_8khz():
    rate = 48000
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 12000 * t).astype(np.float32)  # would alias to 4 kHz
    res = StreamingResampler(rate)
    y = np.concatenate([res.process(x), res.finish()])
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 1e-3


# --- the model ---------------------------------------------------------------------------------

def test_model_is_unpacked_once_into_the_cache(tmp_path):
    first = find_packaged_model(cache=str(tmp_path))
    assert Path(first.onnx_path).is_file() and (Path(first.onnx_path).parent / "model.data").is_file()
    stamp = Path(first.onnx_path).stat().st_mtime_ns
    again = find_packaged_model(cache=str(tmp_path))
    assert again == first and Path(again.onnx_path).stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [Path(first.onnx_path).parent.name]  # no temp left


def test_missing_model_says_unavailable_with_install_command():
    clf, reason = open_classifier(Settings(), distribution="spectromon-no-such-model-package")
    assert clf is None
    assert reason.startswith("classifier unavailable: ")
    assert reason.endswith(f"install with: {INSTALL_COMMAND}")
    assert "\n" not in reason


def test_bad_model_path_is_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="no such file"):
        open_classifier(Settings(model="/nope.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(ParameterError, match="cannot load model"):
        open_classifier(Settings(model=str(junk)))


def test_custom_model_and_labels_load(model, tmp_path):
    """--model/--labels with a YAMNet-compatible file: here the packaged one, copied."""
    packaged = find_packaged_model()
    src = Path(packaged.onnx_path).parent
    for name in ("model.onnx", "model.data"):
        shutil.copy(src / name, tmp_path / name)
    shutil.copy(packaged.labels_path, tmp_path / "labels.csv")
    clf, reason = open_classifier(Settings(model=str(tmp_path / "model.onnx"),
                                           labels=str(tmp_path / "labels.csv")))
    assert reason is None
    try:
        assert clf.labels == model.labels
    finally:
        clf.close()


def test_float_rewrite_agrees_with_int8(model):
    int8 = load_model(Settings(), precision="int8")
    assert (int8.precision, model.precision) == ("int8", "float")
    y, sr = sf.read(DATA / "ms_bark1.wav", dtype="float32")
    patch = log_mel_patches(librosa.resample(y, orig_sr=sr, target_sr=16000))[0]
    a, b = int8.logits(patch), model.logits(patch)
    # int8 logits move in 0.76-logit steps; the float graph lands between them.
    assert len(np.unique(a)) < len(np.unique(b))
    # onnxruntime's int8 kernels round differently by instruction set: the correlation of the
    # two was 0.99 with AVX-512 and 0.961 with AVX2 only (AMD EPYC). What both keep is the
    # ranking. int8 scores tie (they are steps), so its top is taken with ties included.
    int8_best = set(np.flatnonzero(a == a.max()))
    int8_top5 = set(np.flatnonzero(a >= np.sort(a)[-5]))
    float_top5 = set(np.argsort(-b)[:5])
    assert int(np.argmax(b)) in int8_best
    assert len(int8_top5 & float_top5) >= 3, (sorted(int8_top5), sorted(float_top5))


# --- whole pipeline on real clips --------------------------------------------------------------

@pytest.mark.parametrize("name,rate,channels,acceptable", _clips(), ids=[c[0] for c in _clips()])
def test_clip_top3_has_an_acceptable_label(model, name, rate, channels, acceptable):
    source = FileSource(str(DATA / f"{name}.wav"), blocksize=1024)
    assert (source.samplerate, source.channels) == (rate, channels)
    clf = _classifier(model)
    try:
        _feed_source(clf, source, block=1024)
        top3 = _clip_top(clf)
    finally:
        clf.close()
        source.close()
    assert set(top3) & set(acceptable), f"{name}: top 3 {top3}, acceptable {acceptable}"


def test_live_pipeline_feeds_the_classifier(model):
    """The real path: paced file source → ring → analysis worker thread → classifier thread."""
    from conftest import wait_until
    from monitor.pipeline import Pipeline

    settings = Settings(input=str(DATA / "ms_bark1.wav"))
    clf = SoundEventClassifier(model, settings)
    pipeline = Pipeline(settings, consumers=[clf])
    try:
        pipeline.start()
        wait_until(lambda: pipeline.source.finished, 30.0, "the file to play")
    finally:
        pipeline.stop()
    try:
        clf.flush()
        assert clf.wait_idle(timeout=30)
        assert "Dog" in _clip_top(clf)
        assert clf.results[0].start == pytest.approx(0.0, abs=1e-6)
        assert clf.dropped_seconds == 0 and clf.error is None
    finally:
        clf.close()


def test_sine_is_sine_wave_or_beep(model):
    clf = _classifier(model)
    try:
        _feed_source(clf, GeneratorSource("sine:1000@-6", 48000.0), seconds=3.0)
        assert _clip_top(clf, 1)[0] in ("Sine wave", "Beep, bleep")
    finally:
        clf.close()


def test_silence_is_silence(model):
    clf = _classifier(model)
    try:
        _feed_source(clf, GeneratorSource("silence", 44100.0), seconds=2.0)
        assert _clip_top(clf, 1) == ["Silence"]
        assert clf.top(1)[0][0] == "Silence"
    finally:
        clf.close()


def test_espeak_speech_is_speech(model, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "The quick brown fox jumps over the lazy dog. "
                    "Spectrograms show sound as pictures."], check=True, timeout=60)
    source = FileSource(str(wav), blocksize=512)
    clf = _classifier(model)
    try:
        _feed_source(clf, source, block=512)
        assert _clip_top(clf, 1) == ["Speech"]
    finally:
        clf.close()
        source.close()


def test_patch_times_follow_stream_time(model):
    """Patch i of a stream starting at stream time T covers [T + 0.48 i, T + 0.48 i + 0.975)."""
    clf = _classifier(model)
    try:
        _feed_source(clf, GeneratorSource("white@-20", 48000.0), seconds=2.5, block=480, t0=100.0)
        starts = [r.start for r in clf.results]
        np.testing.assert_allclose(starts, 100.0 + 0.48 * np.arange(len(starts)), atol=1e-9)
        np.testing.assert_allclose([r.end - r.start for r in clf.results], 0.975)
        t_start, t_end, scores = clf.activity(["White noise", "no such label"], since=101.0)
        assert t_end.min() > 101.0 and scores.shape == (len(t_start), 2)
        assert np.isnan(scores[:, 1]).all() and (scores[:, 0] > 0).all()
    finally:
        clf.close()


def test_samplerate_change_starts_a_new_stream(model):
    clf = _classifier(model)
    try:
        _feed_source(clf, GeneratorSource("sine:1000@-6", 48000.0), seconds=1.5)
        n = len(clf.results)
        _feed_source(clf, GeneratorSource("silence", 22050.0), seconds=1.5, t0=1.5)
        later = clf.results[n:]
        assert later and later[0].start == pytest.approx(1.5) and later[0].index == 0
        assert _clip_top(clf, 1)  # still classifying
        assert clf.labels[int(np.argmax(later[-1].scores))] == "Silence"
    finally:
        clf.close()


# --- aggregation, ordering, watch list, events -------------------------------------------------

def test_smoother_mean_and_max():
    s = ScoreSmoother(3, "mean")
    for v in (0.0, 0.3, 0.9, 0.6):
        out = s.add(np.array([v], np.float32))
    assert out[0] == pytest.approx((0.3 + 0.9 + 0.6) / 3)
    s.configure(3, "max")
    assert s.add(np.array([0.0], np.float32))[0] == pytest.approx(0.9)
    s.configure(1, "max")
    assert s.add(np.array([0.2], np.float32))[0] == pytest.approx(0.2)


def test_ranked_threshold_and_specific_first():
    labels = ["Speech", "Animal", "Domestic animals, pets", "Dog", "Bark", "Music"]
    scores = np.array([0.6, 0.95, 0.5, 0.9, 0.55, 0.05], np.float32)
    assert [x[0] for x in ranked(scores, labels, 0.1)] == [
        "Animal", "Dog", "Speech", "Bark", "Domestic animals, pets"]
    assert [x[0] for x in ranked(scores, labels, 0.56)] == ["Animal", "Dog", "Speech"]
    assert len(ranked(scores, labels, 0.1, k=2)) == 2
    tree = LabelTree.from_tsv(labels=labels)
    assert [x[0] for x in ranked(scores, labels, 0.1, tree=tree)] == [
        "Bark", "Dog", "Domestic animals, pets", "Animal", "Speech"]


def test_every_yamnet_label_is_placed_in_the_audioset_hierarchy(model):
    """The shipped table is the whole ontology (632 classes, 7 top-level) and holds each of
    the model's 521 labels under one of the top-level classes."""
    tree = LabelTree.from_tsv()
    assert len(tree) == 632
    tops = {"Human sounds", "Animal", "Music", "Natural sounds", "Sounds of things",
            "Source-ambiguous sounds", "Channel, environment and background"}
    assert {r for label in tree for r in tree.roots(label)} == tops
    assert len(model.labels) == 521
    unplaced = [label for label in model.labels if not tree.roots(label)]
    assert not unplaced, unplaced


def test_ancestors_follow_the_ontology_through_classes_yamnet_lacks(model):
    tree = LabelTree.from_tsv()
    assert tree.ancestors("Bark") == {"Dog", "Domestic animals, pets", "Animal"}
    assert tree.ancestors("Speech") == {"Human voice", "Human sounds"}
    known = LabelTree.from_tsv(labels=model.labels)
    assert known.ancestors("Bark") == {"Dog", "Domestic animals, pets", "Animal"}
    assert known.ancestors("Speech") == set()  # Human voice and Human sounds are abstract
    assert known.ancestors("Jazz") == {"Music"}  # through "Music genre", not a YAMNet label
    assert {"Emergency vehicle", "Vehicle"} <= known.ancestors("Fire engine, fire truck (siren)")
    assert {"Brass instrument", "Musical instrument", "Music"} <= known.ancestors("Trumpet")
    assert known.ancestors("Not a class") == set() and "Not a class" not in known


def test_missing_hierarchy_file_gives_an_empty_tree(tmp_path):
    tree = LabelTree.from_tsv(str(tmp_path / "missing.tsv"))
    assert len(tree) == 0 and tree.specific_first([["Animal", 0.9], ["Dog", 0.8]]) == [
        ["Animal", 0.9], ["Dog", 0.8]]


def test_top_follows_live_settings(model):
    clf = _classifier(model, threshold=0.0)
    try:
        _feed_source(clf, FileSource(str(DATA / "ms_bark1.wav")))
        top = clf.top(5)
        assert len(top) == 5 and top == sorted(top, key=lambda x: -x[1])
        assert "Dog" in [x[0] for x in top]
        clf.apply_settings(clf.settings.replace(threshold=0.9))
        assert all(score >= 0.9 for _, score in clf.top(5)) and clf.top(5)
        clf.apply_settings(clf.settings.replace(threshold=0.3, specific_first=True))
        names = [x[0] for x in clf.top(5)]
        assert names.index("Dog") < names.index("Domestic animals, pets") < names.index("Animal")
    finally:
        clf.close()


def test_watch_list_fires_alert(model):
    clf = _classifier(model, watch=(("dog", 0.5), ("Siren", 0.5)))
    try:
        _feed_source(clf, FileSource(str(DATA / "ms_bark1.wav")))
        alerts = clf.alerts
        assert [a.label for a in alerts] == ["Dog"]  # canonical name, fired once (rising edge)
        assert alerts[0].score >= 0.5 and alerts[0].time == pytest.approx(0.0)
    finally:
        clf.close()


def test_watch_list_unit_rising_edge():
    w = WatchList([(0, "Dog", 0.5)])
    assert w.update(np.array([0.6]), 0.0) and not w.update(np.array([0.7]), 0.48)
    assert not w.update(np.array([0.1]), 0.96) and w.active == frozenset()
    assert w.update(np.array([0.9]), 1.44)[0].time == 1.44
    assert len(w.alerts) == 2


def test_unknown_watch_label_is_parameter_error():
    with pytest.raises(ParameterError, match="did you mean 'Dog'"):
        resolve_watch((("Dgo", 0.3),), ("Speech", "Dog", "Door"))
    with pytest.raises(ParameterError, match="from 0 to 1"):
        resolve_watch((("Dog", 1.5),), ("Dog",))


def test_event_log_unit():
    log = EventLog()
    log.update([["Dog", 0.6]], 0.0, 0.975)
    log.update([["Dog", 0.8], ["Bark", 0.4]], 0.48, 1.455)
    log.update([["Bark", 0.3]], 0.96, 1.935)
    log.update([], 1.44, 2.415)
    events = log.snapshot()
    assert [(e.label, e.start, e.peak, e.open) for e in events] == [
        ("Dog", 0.0, 0.8, False), ("Bark", 0.48, 0.4, False)]
    assert events[0].duration == pytest.approx(1.455) and events[1].duration == pytest.approx(1.455)


def test_events_csv(model, tmp_path):
    clf = _classifier(model)
    try:
        _feed_source(clf, FileSource(str(DATA / "ms_bark1.wav")))
        out = tmp_path / "events.csv"
        clf.write_events_csv(str(out))
    finally:
        clf.close()
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["start_local", "start_s", "end_s", "label", "peak_score", "duration_s",
                       "clip"]
    by_label = {r[3]: r for r in rows[1:]}
    dog = by_label["Dog"]
    # The bark begins 0.21 s into the clip and ends at 1.73 s (tests/test_events.py times it).
    assert 0.0 <= float(dog[1]) <= 0.3 and 0.9 < float(dog[4]) <= 1.0
    assert 1.0 <= float(dog[5]) <= 1.827  # within the clip


def test_close_never_hangs_and_keeps_results(model):
    clf = _classifier(model)
    clf.feed(np.zeros(48000, np.float32), 48000.0, 1.0)
    clf.close()
    clf.close()
    assert clf.wait_idle(timeout=1.0) in (True, False)  # returns at once either way
    clf.feed(np.zeros(480, np.float32), 48000.0, 1.01)  # after close: ignored, no error
    assert clf.error is None


# --- command line ------------------------------------------------------------------------------

def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_cmd(*args), capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def test_cli_bad_model_exits_2():
    proc = _run("--headless", "--generator", "sine:1000", "--model", "/nope.onnx", "--duration", "1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "spectromon: error: cannot load model /nope.onnx: no such file" in proc.stderr


def test_cli_unknown_watch_label_exits_2():
    proc = _run("--headless", "--generator", "sine:1000", "--watch", "Dgo@0.3", "--duration", "1")
    assert proc.returncode == 2 and "unknown label to watch: 'Dgo'" in proc.stderr


def test_headless_json_has_top_and_events_csv(model, tmp_path):
    events = tmp_path / "ev.csv"
    proc = _run("--headless", "--input", str(DATA / "ms_bark1.wav"), "--no-realtime",
                "--events-csv", str(events))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines and all("top" in line for line in lines)
    labels = {label for line in lines for label, _ in line["top"]}
    assert labels & {"Dog", "Bark"}
    assert lines[-1]["top"][0][1] >= lines[-1]["top"][-1][1]
    assert "Dog" in events.read_text()


# --- the widget (real Qt, offscreen) -----------------------------------------------------------

def test_view_without_model_shows_reason(qtbot):
    from monitor.gui.classifier_view import ClassifierView

    _, reason = open_classifier(Settings(), distribution="spectromon-no-such-model-package")
    view = ClassifierView(None, Settings(), unavailable=reason)
    qtbot.addWidget(view)
    view.refresh(1.0)
    assert "classifier unavailable" in view.message.text()
    assert INSTALL_COMMAND in view.message.text()
    assert view.activity_strip() is not None


def test_view_shows_bars_log_alert_and_strip(qtbot, model, tmp_path):
    from monitor.gui.classifier_view import ClassifierView

    settings = Settings(watch=(("Dog", 0.5),))
    clf = SoundEventClassifier(model, settings)
    view = ClassifierView(clf, settings)
    qtbot.addWidget(view)
    strip = view.activity_strip()
    view.show()
    try:
        view.refresh(0.0)
        assert view.bars.items() == [] and view.alert.isHidden()
        bars_before = list(view.bars.bars)
        _feed_source(clf, FileSource(str(DATA / "ms_bark1.wav")))
        view.refresh(1.9)
        names = [label for label, _ in view.bars.items()]
        assert "Dog" in names and view.bars.bars == bars_before  # same widgets, new texts
        dog_bar = view.bars.bars[names.index("Dog")]
        assert dog_bar.format().startswith("Dog") and dog_bar.value() > 500
        assert not view.alert.isHidden() and "Dog" in view.alert.text()
        assert view.table.rowCount() == len(clf.events) > 0
        assert "Dog" in {view.table.item(r, 1).text() for r in range(view.table.rowCount())}
        # Nothing new: the 60 Hz refresh does no work.
        updates = view.updates
        view.refresh(1.95)
        assert view.updates == updates
        # Strip: the watched label's row, aligned in stream time with the waterfall (x = t - now).
        assert strip.labels == ("Dog",)
        first = clf.results[0]
        assert strip.grid_start == pytest.approx(first.start + (0.975 - 0.48) / 2)
        assert strip.cell_view_time(0) == pytest.approx(strip.grid_start - 1.95)
        assert strip.image.shape[0] == 1  # one label, one row
        assert strip.image[0, 0, 3] == 255  # Dog over its threshold in the first patch
        # Export.
        out = tmp_path / "log.csv"
        assert view.export_csv(str(out)) and "Dog" in out.read_text()
        assert not view.export_csv(str(tmp_path / "no" / "such" / "dir.csv"))
        # Alert banner goes once the alert is old and nothing watched is active.
        view.refresh(60.0)
        if not clf.snapshot.active_watch:
            assert view.alert.isHidden()
    finally:
        clf.close()


def test_view_watch_editor_and_settings(qtbot, model):
    from monitor.gui.classifier_view import ClassifierView

    clf = SoundEventClassifier(model, Settings())
    view = ClassifierView(clf, Settings())
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignal(view.settings_changed, timeout=2000) as sig:
            view.watch_edit.setText("siren")
            view.watch_threshold.setValue(0.4)
            view.watch_add.click()
        assert sig.args == [{"watch": (("Siren", 0.4),)}]
        assert clf.settings.watch == (("Siren", 0.4),) and view.watch_list.count() == 1
        view.watch_edit.setText("Not a label")
        view.watch_add.click()
        assert "unknown label" in view.watch_error.text() and clf.settings.watch == (("Siren", 0.4),)
        view.watch_list.setCurrentRow(0)
        view.watch_remove.click()
        assert clf.settings.watch == () and view.watch_list.count() == 0
        view.threshold_spin.setValue(0.5)
        view.aggregate_combo.setCurrentText("max")
        view.smooth_spin.setValue(5)
        view.specific_check.setChecked(True)
        s = clf.settings
        assert (s.threshold, s.aggregate, s.smooth_patches, s.specific_first) == (0.5, "max", 5, True)
        view.apply_settings(Settings(threshold=0.2, history=30.0))
        assert view.threshold_spin.value() == pytest.approx(0.2) and clf.settings.threshold == 0.2
        assert view.activity_strip().history == 30.0
    finally:
        clf.close()
