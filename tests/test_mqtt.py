"""Many nodes over MQTT, with a real Mosquitto on 127.0.0.1 and real headless nodes.

The nodes are ``main.py --headless --publish`` subprocesses on generators; the subscriber is
the real :class:`~monitor.network.subscriber.Subscriber` in this process (its model is read
directly) or the ``--subscribe --headless`` command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from conftest import main_cmd, wait_until
from monitor.cli import main as cli_main
from monitor.dsp.features import AnalysisParams
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.network import payloads
from monitor.network.broker import PASSWORD_ENV, broker_from_options, parse_url
from monitor.network.subscriber import NodesModel, Subscriber
from mqtt_broker import (AUTH_PASSWORD, AUTH_USER, make_certificate, mqtt_auth_broker,  # noqa: F401
                         mqtt_broker, mqtt_tls_broker)

NODE_TIMEOUT = 90.0  # seconds a bounded node run may take on a loaded 2-core machine
WAIT = 30.0


# -- payloads (no broker) -----------------------------------------------------------------------
def test_columns_round_trip_within_half_a_step():
    rng = np.random.default_rng(1)
    mel = rng.uniform(-120, 10, (19, 128)).astype(np.float32)
    raw = payloads.encode_columns(mel, 1234, 48000.0, 512, -100.0, 0.0, run=7)
    cols = payloads.decode_columns(raw)
    assert (cols.run, cols.first_frame, cols.n_cols, cols.n_mels) == (7, 1234, 19, 128)
    np.testing.assert_allclose(cols.times[0], 1234 * 512 / 48000)
    inside = (mel >= -100) & (mel <= 0)
    err = np.abs(cols.mel_db - np.clip(mel, -100, 0))
    assert err[inside].max() <= cols.step_db / 2 + 1e-4
    assert np.all(cols.codes[mel < -100] == 0) and np.all(cols.codes[mel > 0] == 255)


def test_malformed_payloads_raise_only_malformed():
    good = payloads.encode_columns(np.full((4, 8), -50.0), 0, 48000.0, 512, -100.0, 0.0, 1)
    for bad in (b"", b"garbage", good[:20], good[:-3], good[:4] + b"\x09" + good[5:],
                good + b"x", b"SPMC" + b"\xff" * 60):
        with pytest.raises(payloads.Malformed):
            payloads.decode_columns(bad)
    for kind, bad in (("status", b"{"), ("status", b'{"v":1}'), ("status", b'[1]'),
                      ("levels", b'{"v":2,"t":1}'), ("event", b'{"v":1,"state":"x","label":"a",'
                                                             b'"start":0,"peak":1}'),
                      ("labels", b'{"v":1,"t":0,"top":[["a"]]}'), ("levels", b"\xff\xfe"),
                      ("levels", b'{"v":1,"t":NaN,"rms_dbfs":0,"peak_dbfs":0,"peak_hz":0}')):
        with pytest.raises(payloads.Malformed):
            payloads.decode_json(kind, bad)


@hsettings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["columns", "status", "levels", "labels", "event", "audio", "x"]),
       data=st.binary(max_size=200))
def test_model_never_raises_on_arbitrary_bytes(kind, data):
    model = NodesModel("site")
    model.handle(f"site/n/{kind}", data)
    model.handle("site/n/columns", b"SPMC\x01\x01" + data)
    assert model.counts["messages"] == 2
    assert model.counts["malformed"] + model.counts["duplicates"] <= 2


@pytest.mark.parametrize("args, says", [
    (["--publish", "mqtt://127.0.0.1/site", "--node", "a"], "--publish needs --headless"),
    (["--headless", "--publish", "mqtt://127.0.0.1/site"], "--publish needs --node"),
    (["--headless", "--publish", "http://127.0.0.1/site", "--node", "a"], "MQTT URL"),
    (["--headless", "--publish", "mqtt://127.0.0.1", "--node", "a"], "topic prefix"),
    (["--headless", "--publish", "mqtt://127.0.0.1/a/#", "--node", "a"], "topic prefix"),
    (["--headless", "--publish", "mqtt://127.0.0.1:99999/a", "--node", "a"], "MQTT URL"),
    (["--headless", "--publish", "mqtt://127.0.0.1/a", "--node", "a/b"], "--node must be"),
    (["--headless", "--publish", "mqtt://u:p@127.0.0.1/a", "--node", "a"], "not in the URL"),
    (["--headless", "--publish", "mqtt://127.0.0.1/a", "--node", "a", "--mqtt-tls",
      "/nonexistent.pem"], "no such CA file"),
    (["--headless", "--node", "a"], "--node needs --publish"),
    (["--subscribe", "mqtt://h/a", "--publish", "mqtt://h/a"], "exclude each other"),
])
def test_bad_network_options_are_one_line_and_exit_2(args, says, capsys):
    assert cli_main(["--generator", "sine:440", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_password_comes_from_the_environment_or_a_file_never_the_command_line(tmp_path, capsys):
    pw = tmp_path / "pw"
    pw.write_text("from-file\nignored\n")
    b = broker_from_options("mqtt://h:1884/p/q", "me", str(pw), environ={})
    assert (b.host, b.port, b.prefix, b.user, b.password) == ("h", 1884, "p/q", "me", "from-file")
    assert broker_from_options("mqtt://h/p", "me", environ={PASSWORD_ENV: "env"}).password == "env"
    with pytest.raises(ValueError, match="needs --mqtt-user"):
        broker_from_options("mqtt://h/p", None, environ={PASSWORD_ENV: "env"})
    assert parse_url("mqtts://h/p") == ("h", 8883, "p", True)
    with pytest.raises(SystemExit) as exited:  # argparse's usage error: refused, no abbreviation
        cli_main(["--headless", "--publish", "mqtt://h/p", "--node", "a",
                  "--mqtt-password", "hunter2"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "never given on the command line" in err and "hunter2" not in err


# -- with a broker --------------------------------------------------------------------------------
def _subscriber(url: str, **login) -> tuple[Subscriber, NodesModel]:
    broker = broker_from_options(url, **login)
    model = NodesModel(broker.prefix, keep=True)
    sub = Subscriber(broker, model)
    sub.start()
    wait_until(sub.connected.is_set, WAIT, "the subscriber to connect")
    return sub, model


def _node(url: str, name: str, spec: str, *extra: str, duration: float = 4.0,
          env: dict | None = None) -> subprocess.Popen:
    args = ["--headless", "--generator", spec, "--publish", url, "--node", name,
            "--interval", "0.5", *extra]
    if duration:
        args += ["--duration", str(duration)]
    return subprocess.Popen(main_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _finish(proc: subprocess.Popen) -> tuple[list[dict], str]:
    out, err = proc.communicate(timeout=NODE_TIMEOUT)
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


def _node_state(model: NodesModel, name: str):
    with model.lock:
        return model.nodes.get(name)


def _received(model: NodesModel, name: str) -> dict[int, np.ndarray]:
    """Frame index -> dB column, of every column received from ``name``."""
    with model.lock:
        kept = list(model.nodes[name].kept)
    out = {}
    for cols in kept:
        for k, row in enumerate(cols.mel_db):
            out[cols.first_frame + k] = row
    return out


@pytest.mark.mqtt
def test_three_nodes_tones_status_events_and_columns_equal_their_saved_features(
        mqtt_broker, tmp_path):
    url = mqtt_broker.url("building")
    sub, model = _subscriber(url)
    cli_sub = subprocess.Popen(main_cmd("--subscribe", url, "--headless", "--interval", "0.5"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tones = {"low": 500.0, "mid": 2000.0, "high": 6000.0}
    # At -50 dBFS a tone's mel band is about -12 dB, inside the default colour range -100:0
    # the codes span (a -20 dBFS tone reads +18 dB: its bands would all clip at code 255).
    try:
        procs = {name: _node(url, name, f"sine:{f:g}@-50", "--save-features",
                             str(tmp_path / f"{name}.npz"),
                             *([] if name == "low" else ["--no-classifier"]),
                             *(["--n-mels", "64", "--n-fft", "1024"] if name == "high" else []))
                 for name, f in tones.items()}
        runs = {name: _finish(p) for name, p in procs.items()}
        wait_until(lambda: all(_node_state(model, n) and not _node_state(model, n).online
                               for n in tones), WAIT, "every node to say it stopped")
    finally:
        sub.close()
        cli_sub.send_signal(signal.SIGTERM)
        cli_out, cli_err = cli_sub.communicate(timeout=WAIT)
    assert cli_sub.returncode == 0, cli_err
    lines = [json.loads(line) for line in cli_out.splitlines()]

    for name, f in tones.items():
        node = _node_state(model, name)
        saved = np.load(tmp_path / f"{name}.npz")
        assert node.status["settings"]["n_mels"] == saved["n_mels"]
        assert node.missing_frames == 0 and node.duplicates == 0
        # The tone is in the band whose neighbours enclose it (one mel band).
        freqs = np.asarray(node.status["mel_freqs"])
        np.testing.assert_allclose(freqs, saved["mel_freqs"], atol=0.01)
        k = int(np.argmax(np.mean([c.codes.mean(axis=0) for c in node.kept], axis=0)))
        assert freqs[max(k - 1, 0)] <= f <= freqs[min(k + 1, len(freqs) - 1)], (name, freqs[k])
        # Every column received is the node's own mel_db in dBFS (the rows the window draws),
        # to within one uint8 step.
        got = _received(model, name)
        params = AnalysisParams(float(saved["sample_rate"]), int(saved["n_fft"]),
                                int(saved["hop"]), str(saved["window"]), int(saved["n_mels"]),
                                float(saved["fmin"]), float(saved["fmax"]), bool(saved["htk"]),
                                None if str(saved["mel_norm"]) == "None" else str(saved["mel_norm"]))
        mel = saved["mel_db"] + FrequencyRows(params, "mel").offset_db
        assert len(got) >= 0.5 * len(mel) and max(got) < len(mel)
        frames = np.array(sorted(got))
        want = np.clip(mel[frames], -100, 0)
        err = np.abs(np.stack([got[i] for i in frames]) - want)
        assert err.max() <= 100 / 255 + 1e-4
        # The node counted what it sent; nothing dropped once connected.
        last = runs[name][0][-1]["publish"]
        assert last["messages"] > 0 and last["dropped_queue"] == 0
        assert last["dropped_backlog"] == 0
        # The command-line subscriber printed its status and saw its tone.
        statuses = [x for x in lines if x["type"] == "status" and x["node"] == name]
        assert statuses and statuses[-1]["settings"]["samplerate"] == 48000
        peaks = [x["nodes"][name]["peak_hz"] for x in lines
                 if x["type"] == "summary" and x["nodes"].get(name, {}).get("peak_hz")]
        assert peaks and freqs[max(k - 1, 0)] <= peaks[-1] <= freqs[min(k + 1, len(freqs) - 1)]
    # The classifying node's tone opened an event, seen by both subscribers.
    assert any(e["node"] == "low" and e["state"] == "open" for e in model.events)
    assert any(x["type"] == "event" and x["node"] == "low" for x in lines)
    assert model.counts["malformed"] == 0


@pytest.mark.mqtt
def test_a_killed_node_goes_offline_by_its_last_will(mqtt_broker):
    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    proc = _node(url, "doomed", "sine:1000@-20", "--no-classifier", duration=60)
    try:
        wait_until(lambda: (_node_state(model, "doomed") or 0) and model.nodes["doomed"].columns
                   and model.nodes["doomed"].status, WAIT, "the node's columns")
        assert model.nodes["doomed"].online
        proc.kill()  # no goodbye: only the broker's last will can tell
        proc.wait(WAIT)
        wait_until(lambda: not model.nodes["doomed"].online, WAIT, "the last will")
        node = model.nodes["doomed"]
        assert node.offline_reason == "connection lost" and node.offline_since is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        sub.close()


@pytest.mark.mqtt
def test_broker_restart_nodes_and_subscriber_reconnect_and_count_the_gap(mqtt_broker):
    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    proc = _node(url, "n", "sine:1000@-20", "--no-classifier", duration=60)
    try:
        wait_until(lambda: (_node_state(model, "n") or 0) and model.nodes["n"].columns > 50,
                   WAIT, "the node's columns")
        before = model.nodes["n"].columns
        mqtt_broker.stop()
        wait_until(lambda: not sub.connected.is_set(), WAIT, "the subscriber to notice")
        mqtt_broker.start()  # no persistence: the retained status is gone
        wait_until(lambda: sub.counters()["reconnects"] >= 1, WAIT, "the subscriber to reconnect")
        with model.lock:
            model.nodes["n"].status = None
        wait_until(lambda: model.nodes["n"].status and model.nodes["n"].columns > before + 50,
                   WAIT, "the node to publish its status and columns again")
        assert model.nodes["n"].missing_frames > 0  # the gap, counted
        assert model.nodes["n"].restarts == 0 and model.nodes["n"].online
        assert sub.counters()["disconnected_s"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        lines, err = _finish(proc)
        sub.close()
    last = lines[-1]["publish"]
    assert last["reconnects"] >= 1 and last["disconnected_s"] > 0
    assert last["dropped_offline"] > 0  # columns produced while the broker was away
    assert "unreachable" in err  # said on stderr while it lasted


@pytest.mark.mqtt
def test_garbage_truncated_and_duplicated_payloads_are_counted_and_ignored(mqtt_broker):
    import paho.mqtt.client as mqtt

    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    cli_sub = subprocess.Popen(main_cmd("--subscribe", url, "--headless", "--interval", "0.2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = _node(url, "real", "sine:1000@-20", "--no-classifier", duration=60)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mqtt_broker.port)
    client.loop_start()
    try:
        wait_until(lambda: (_node_state(model, "real") or 0) and model.nodes["real"].kept,
                   WAIT, "the real node's columns")
        good = model.nodes["real"].kept[-1]
        raw = payloads.encode_columns(good.mel_db, good.first_frame, good.samplerate, good.hop,
                                      good.db_floor, good.db_ceil, good.run)
        bad = [("site/real/columns", b"\x00garbage"), ("site/real/columns", raw[:30]),
               ("site/real/columns", raw[:-5]), ("site/real/status", b'{"v":1,"node":"x"'),
               ("site/real/levels", b'{"v":99}'), ("site/evil/event", b"\xff" * 10),
               ("site/evil/status", b'{"v":1,"node":"evil","online":true,"run":1}'),
               ("site/real/unknown", b"{}")]
        for topic, payload in bad:
            client.publish(topic, payload, qos=1).wait_for_publish(WAIT)
        client.publish("site/real/columns", raw, qos=1).wait_for_publish(WAIT)  # a duplicate
        wait_until(lambda: model.counts["malformed"] >= len(bad), WAIT, "the garbage to arrive")
        wait_until(lambda: model.counts["duplicates"] >= 1, WAIT, "the duplicate to arrive")
        columns = model.nodes["real"].columns
        wait_until(lambda: model.nodes["real"].columns > columns + 20, WAIT,
                   "columns to keep flowing")
        assert model.counts["malformed"] == len(bad)
        assert model.nodes["real"].missing_frames == 0
        assert "evil" not in model.nodes or not model.nodes["evil"].status
        wait_until(lambda: cli_sub.poll() is None, 1, "")
    finally:
        client.loop_stop()
        proc.send_signal(signal.SIGTERM)
        _finish(proc)
        cli_sub.send_signal(signal.SIGTERM)
        out, err = cli_sub.communicate(timeout=WAIT)
        sub.close()
    assert cli_sub.returncode == 0, err
    summaries = [json.loads(x) for x in out.splitlines() if '"summary"' in x]
    assert summaries[-1]["counts"]["malformed"] == len(bad)
    assert summaries[-1]["counts"]["duplicates"] >= 1
    assert "Traceback" not in err


@pytest.mark.mqtt
def test_authentication_password_from_the_environment(mqtt_auth_broker, tmp_path):
    url = mqtt_auth_broker.url("secure")
    pw = tmp_path / "pw"
    pw.write_text(AUTH_PASSWORD + "\n")
    sub, model = _subscriber(url, user=AUTH_USER, password_file=str(pw))
    env = {**os.environ, PASSWORD_ENV: AUTH_PASSWORD}
    wrong = {**os.environ, PASSWORD_ENV: "wrong"}
    good = _node(url, "ok", "sine:1000@-20", "--no-classifier", "--mqtt-user", AUTH_USER,
                 duration=3, env=env)
    refused = _node(url, "no", "sine:1000@-20", "--no-classifier", "--mqtt-user", AUTH_USER,
                    duration=5, env=wrong)
    try:
        lines_ok, _ = _finish(good)
        lines_no, err_no = _finish(refused)
        wait_until(lambda: (_node_state(model, "ok") or 0) and model.nodes["ok"].columns,
                   WAIT, "the authenticated node's columns")
    finally:
        sub.close()
    assert lines_ok[-1]["publish"]["connects"] == 1
    assert lines_no[-1]["publish"]["connects"] == 0 and not lines_no[-1]["publish"]["connected"]
    assert "refused: Not authorized" in err_no
    assert "no" not in model.nodes


@pytest.mark.mqtt
def test_unusable_input_exits_2_before_publishing(mqtt_broker, tmp_path):
    url = mqtt_broker.url("site")
    proc = subprocess.run(main_cmd("--headless", "--input", str(tmp_path / "missing.wav"),
                                   "--publish", url, "--node", "a", "--duration", "1"),
                          capture_output=True, text=True, timeout=NODE_TIMEOUT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


@pytest.mark.mqtt
def test_a_restarted_node_is_a_new_run_not_duplicates(mqtt_broker):
    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    try:
        for _ in range(2):
            _finish(_node(url, "again", "sine:1000@-50", "--no-classifier", duration=2))
            wait_until(lambda: (_node_state(model, "again") or 0)
                       and not model.nodes["again"].online, WAIT, "the node to stop")
        node = model.nodes["again"]
        runs = {c.run for c in node.kept}
        assert len(runs) == 2 and node.restarts == 1
        assert node.duplicates == 0 and node.missing_frames == 0
        first, second = sorted(runs, key=lambda r: min(i for i, c in enumerate(node.kept)
                                                      if c.run == r))
        # The second run's frames start again near 0: a new run, not old (duplicate) columns.
        assert (min(c.first_frame for c in node.kept if c.run == second)
                < max(c.end_frame for c in node.kept if c.run == first))
    finally:
        sub.close()


@pytest.mark.mqtt
@pytest.mark.pulse
def test_a_node_on_the_virtual_microphone(mqtt_broker, pulse_mic, tmp_path):
    from conftest import write_tone

    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    tone = write_tone(tmp_path / "tone.wav", 3000.0, -40.0, 3.0)
    proc = subprocess.Popen(main_cmd("--headless", "--device", "pulse", "--samplerate", "48000",
                                     "--publish", url, "--node", "mic", "--no-classifier",
                                     "--duration", "30"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (_node_state(model, "mic") or 0) and model.nodes["mic"].status
                   and model.nodes["mic"].columns, WAIT, "the microphone node's columns")
        pulse_mic.play(tone)  # returns once the whole tone has been played
        after = model.nodes["mic"].stream_time + 1.0  # the capture's latency, and then some
        wait_until(lambda: model.nodes["mic"].stream_time > after, WAIT, "the tone's tail")
        with model.lock:
            loudest = np.max([c.codes.max(axis=0) for c in model.nodes["mic"].kept], axis=0)
        freqs = model.nodes["mic"].mel_freqs
        k = int(np.argmax(loudest))
        assert freqs[max(k - 1, 0)] <= 3000.0 <= freqs[min(k + 1, len(freqs) - 1)]
        assert loudest[k] > 128  # well above the virtual microphone's silence
        assert model.nodes["mic"].status["settings"]["samplerate"] == 48000
    finally:
        proc.send_signal(signal.SIGTERM)
        _finish(proc)
        sub.close()


@pytest.mark.mqtt
def test_a_stalled_subscriber_never_holds_up_the_node(mqtt_broker):
    """A subscriber that stops reading (its handler blocks) leaves the node's audio path and
    publisher untouched, and the other subscribers' columns complete."""
    url = mqtt_broker.url("site")
    stalled_broker = broker_from_options(url)
    release = threading.Event()
    stalled_model = NodesModel("site")

    def stuck(topic, payload, now=None):
        release.wait(60)  # paho's network thread of this subscriber is stuck here

    stalled_model.handle = stuck
    stalled = Subscriber(stalled_broker, stalled_model)
    stalled.start()
    sub, model = _subscriber(url)
    wait_until(stalled.connected.is_set, WAIT, "the stalled subscriber to connect")
    try:
        lines, _ = _finish(_node(url, "n", "white@-20", "--no-classifier", duration=6))
    finally:
        release.set()
        stalled.close()
        sub.close()
    last = lines[-1]
    assert last["dropped_frames"] == 0 and last["overflows"] == 0
    assert last["publish"]["dropped_queue"] == 0 and last["publish"]["dropped_backlog"] == 0
    assert model.nodes["n"].missing_frames == 0 and model.nodes["n"].columns > 400


@pytest.mark.mqtt
def test_audio_leaves_the_node_only_with_publish_audio(mqtt_broker):
    url = mqtt_broker.url("site")
    sub, model = _subscriber(url)
    try:
        _finish(_node(url, "quiet", "sine:1000@-20", "--no-classifier", duration=2))
        _finish(_node(url, "loud", "sine:1000@-20", "--no-classifier", "--publish-audio",
                      duration=2))
        wait_until(lambda: all((_node_state(model, n) or 0) and not model.nodes[n].online
                               for n in ("quiet", "loud")), WAIT, "both nodes to stop")
    finally:
        sub.close()
    assert model.nodes["quiet"].audio == [] and model.nodes["quiet"].columns
    blocks = model.nodes["loud"].audio
    assert blocks and all(b.samplerate == 48000 for b in blocks)
    for a, b in zip(blocks, blocks[1:]):  # contiguous: each starts where the last ended
        assert b.first_sample == a.first_sample + a.samples.size
    x = np.concatenate([b.samples for b in blocks]).astype(np.float64)
    t = (blocks[0].first_sample + np.arange(x.size)) / 48000
    # The generator's sine, to within int16 rounding: fit its amplitude and phase.
    basis = np.stack([np.sin(2 * np.pi * 1000 * t), np.cos(2 * np.pi * 1000 * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    assert np.hypot(*coef) == pytest.approx(0.1, rel=1e-3)
    assert np.abs(x - basis @ coef).max() < 2 / 32767


@pytest.mark.mqtt
def test_tls_with_the_brokers_ca_and_refused_without(mqtt_tls_broker, tmp_path):
    url = mqtt_tls_broker.url("secure")
    ca = str(mqtt_tls_broker.ca)
    other = str(make_certificate(tmp_path, "stranger"))  # a CA that did not sign the broker's
    sub, model = _subscriber(url, tls_ca=ca)
    try:
        good = _node(url, "tls", "sine:1000@-50", "--no-classifier", "--mqtt-tls", ca,
                     duration=3)
        wrong = _node(url, "fake", "sine:1000@-50", "--no-classifier", "--mqtt-tls", other,
                      duration=5)
        plain = _node(url, "plain", "sine:1000@-50", "--no-classifier", duration=5)
        ok_lines, _ = _finish(good)
        runs = [_finish(wrong), _finish(plain)]
        wait_until(lambda: (_node_state(model, "tls") or 0) and model.nodes["tls"].columns,
                   WAIT, "the TLS node's columns")
    finally:
        sub.close()
    assert ok_lines[-1]["publish"]["connects"] == 1
    for lines, err in runs:
        assert lines[-1]["publish"]["connects"] == 0 and "unreachable" in err
    assert "fake" not in model.nodes and "plain" not in model.nodes
