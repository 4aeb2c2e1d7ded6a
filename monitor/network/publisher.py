"""A headless node's publisher: analysis columns, levels, labels, events and status over MQTT.

Nothing here can hold up the audio path or the analysis. The producers (the headless loop, and
the worker thread for ``--publish-audio``) only ``put_nowait`` into one bounded queue: when it
is full the item is dropped and counted. The publisher's own thread batches columns
(:data:`BATCH_SECONDS` of stream time per message), encodes and hands messages to paho, whose
network thread writes them; paho reconnects by itself after a broker restart. Every message
lost on the way (queue full, broker away, too many unsent) has its counter in
:meth:`Publisher.counters`, shown in the headless JSON (``"publish"``) and in the status message.
"""

from __future__ import annotations

import functools
import queue
import secrets
import threading
import time
from typing import Optional

import numpy as np

from monitor import __version__
from monitor.dsp.features import AnalysisParams, FeatureBatch
from monitor.dsp.frequency_rows import FrequencyRows
from monitor.network import payloads
from monitor.network.broker import KEEPALIVE, Broker, make_client

__all__ = ["Publisher", "node_status", "BATCH_SECONDS"]

BATCH_SECONDS = 0.2  # stream seconds of columns per message: ~19 columns at the defaults
LEVELS_SECONDS = 1.0  # stream seconds per levels message (~120 B/s; 5/s would be ~0.5 kB/s)
STATUS_SECONDS = 10.0  # the retained status is refreshed this often (counters, problems)
QUEUE_ITEMS = 512  # batches/blocks waiting for the publisher thread (~10 s of live batches)
MAX_UNSENT = 200  # QoS 0 messages handed to paho but not yet written: beyond, drop (slow link)
MAX_QUEUED_QOS1 = 1000  # events and status kept by paho while the broker is away
UPDATE_SECONDS = 0.1  # labels, events and status are looked at this often (wall clock)
CONNECT_GRACE = 3.0  # seconds the first connection gets before the broker is said unreachable
AUDIO_SECONDS = 0.1  # audio per message with --publish-audio


class Publisher:
    """Publishes one node under ``PREFIX/NODE/``.

    Parameters
    ----------
    broker : Broker
    node : str
        The node's name (one topic level).
    db_range : (float, float)
        dB of code 0 and code 255 in the columns (the node's colour range).
    publish_audio : bool
        Also send the analysed mono audio (int16) on ``PREFIX/NODE/audio``.

    Attributes
    ----------
    run : int
        Random per start: subscribers tell a restarted node from a duplicated message by it.
    """

    def __init__(self, broker: Broker, node: str, db_range: tuple = (-100.0, 0.0),
                 publish_audio: bool = False) -> None:
        self.broker, self.node = broker, node
        self.db_range = (float(db_range[0]), float(db_range[1]))
        self.publish_audio = publish_audio
        self.run = secrets.randbits(32)
        self.started = time.time()
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_ITEMS)
        self._lock = threading.Lock()
        self._counts = {"messages": 0, "bytes": 0, "dropped_queue": 0, "dropped_offline": 0,
                        "dropped_backlog": 0, "dropped_error": 0, "queued_offline": 0,
                        "connects": 0, "reconnects": 0}
        self._unsent = 0
        self._connected = threading.Event()
        self._down_since: Optional[float] = time.monotonic()
        self._grace_until = time.monotonic() + CONNECT_GRACE  # none "unreachable" before a try
        self._gap_seconds = 0.0
        self._last_error: Optional[str] = None
        self._status: Optional[dict] = None
        self._status_due = True
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._client = None
        self._pending: list[FeatureBatch] = []
        self._levels: list[FeatureBatch] = []
        self._audio: list[np.ndarray] = []
        self._audio_first = 0
        self._audio_rate = 0.0
        self._sent_events: dict[tuple, bool] = {}  # (label, start) -> closed
        self._last_top: Optional[list] = None
        self._next_update = 0.0

    # -- life ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (in the background: an absent broker is retried, not fatal) and start."""
        client = make_client(self.broker, f"spectromon-{self.node}-{self.run:08x}")
        will = payloads.encode_json("status", {"node": self.node, "online": False,
                                               "run": self.run, "reason": "connection lost"})
        client.will_set(self.topic("status"), will, qos=1, retain=True)
        client.max_queued_messages_set(MAX_QUEUED_QOS1)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._grace_until = time.monotonic() + CONNECT_GRACE
        client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE)
        client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 3.0) -> None:
        """Send what is pending, mark the node offline (retained), disconnect."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None
        client = self._client
        if self._connected.is_set():
            bye = payloads.encode_json("status", {**(self._status or {}), "node": self.node,
                                                  "online": False, "run": self.run,
                                                  "reason": "stopped", "time": time.time(),
                                                  "counters": self.counters()})
            info = client.publish(self.topic("status"), bye, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        client.disconnect()
        client.loop_stop()

    def topic(self, kind: str) -> str:
        return self.broker.topic(self.node, kind)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- producers (never block) ---------------------------------------------------------------
    def offer(self, batch: FeatureBatch) -> None:
        """Queue an analysis batch (from the headless loop)."""
        if len(batch):
            self._put(("batch", batch))

    def feed(self, mono: np.ndarray, samplerate: float, stream_time: float) -> None:
        """The worker's audio consumer hook (``--publish-audio``): copy and queue."""
        if self.publish_audio and mono.size:
            self._put(("audio", mono.astype(np.float32, copy=True), samplerate, stream_time))

    def update(self, session, force: bool = False) -> None:
        """From the headless loop, every tick: labels, events and status from the session,
        and this publisher's own problems into ``session.problems``. At most every
        :data:`UPDATE_SECONDS` (an offline run calls it per batch), unless ``force``."""
        now = time.monotonic()
        if not force and now < self._next_update:
            return
        self._next_update = now + UPDATE_SECONDS
        classifier = session.classifier
        t = session.pipeline.worker.stream_time if session.pipeline is not None else 0.0
        if classifier is not None:
            top = [[label, round(float(score), 4)] for label, score in classifier.top()]
            if top != self._last_top:
                self._last_top = top
                self._put(("json", "labels", {"t": round(t, 3), "top": top}, 0))
            for ev in classifier.events:
                self._event(ev)
        self.report(session.problems)
        with self._lock:
            self._status = node_status(session, self)

    def _event(self, ev) -> None:
        key = (ev.label, round(ev.start, 3))
        closed = self._sent_events.get(key)
        if closed is None and ev.open:
            state = "open"
        elif not ev.open and not closed:
            state = "close"
        else:
            return
        self._sent_events[key] = state == "close"
        self._put(("json", "event", {"state": state, "label": ev.label,
                                     "start": round(float(ev.start), 3),
                                     "duration": round(float(ev.duration), 3),
                                     "peak": round(float(ev.peak), 4)}, 1))

    def _put(self, item: tuple) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with self._lock:
                self._counts["dropped_queue"] += 1

    # -- what it says --------------------------------------------------------------------------
    def counters(self) -> dict:
        """Messages and bytes sent, drops by reason, (re)connections, seconds without broker."""
        with self._lock:
            out = dict(self._counts)
            gap = self._gap_seconds
            if self._down_since is not None and out["connects"]:
                gap += time.monotonic() - self._down_since
        out["connected"] = self.connected
        out["disconnected_s"] = round(gap, 2)
        out["dropped"] = sum(v for k, v in out.items() if k.startswith("dropped_"))
        return out

    def report(self, problems) -> None:
        """Put this publisher's state into the session's problem list (stable texts: the
        numbers are in :meth:`counters`)."""
        c = self.counters()
        if not c["connected"] and (c["connects"] or time.monotonic() > self._grace_until):
            error = self._last_error or ""
            if error.startswith("refused"):
                problems.report("publish", f"MQTT broker {self.broker.url} {error} (check "
                                f"--mqtt-user and the password); retrying", "error")
            else:
                why = f" ({error})" if error else ""
                problems.report("publish", f"MQTT broker {self.broker.url} unreachable{why}; "
                                f"retrying, messages meanwhile dropped and counted", "warning")
        elif not c["connected"]:
            pass
        elif c["reconnects"]:
            problems.report("publish", f"MQTT broker {self.broker.url} reconnected "
                            f"({c['reconnects']} reconnect(s); messages lost in the gap counted)",
                            "info")
        else:
            problems.clear("publish")
        if c["dropped_queue"] or c["dropped_backlog"]:
            problems.report("publish:dropped", "MQTT publisher fell behind: messages dropped "
                            "(counted in 'publish')", "warning")

    # -- paho's network thread -----------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self._last_error = f"refused: {reason_code}"
            return
        with self._lock:
            self._counts["connects"] += 1
            if self._counts["connects"] > 1:
                self._counts["reconnects"] += 1
            if self._down_since is not None and self._counts["connects"] > 1:
                self._gap_seconds += time.monotonic() - self._down_since
            self._down_since = None
            self._unsent = 0  # paho forgets unsent QoS 0 packets of a lost connection
            self._status_due = True  # a restarted broker may have lost the retained status
        self._last_error = None
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self._connected.clear()
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
        if reason_code.is_failure and not (self._last_error or "").startswith("refused"):
            self._last_error = str(reason_code)

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._lock:
            self._unsent = max(0, self._unsent - 1)

    # -- the publisher thread ------------------------------------------------------------------
    def _run(self) -> None:
        next_status = 0.0
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                item = None
            if item is not None:
                self._handle(item)
            elif self._stop.is_set():
                break
            now = time.monotonic()
            if self.connected and (self._status_due or now >= next_status) and self._status:
                self._status_due = False
                next_status = now + STATUS_SECONDS
                self._send_status()
        self._flush_columns()
        self._flush_levels()
        self._flush_audio()

    def _handle(self, item: tuple) -> None:
        kind = item[0]
        if kind == "batch":
            batch = item[1]
            if self._pending and (batch.params != self._pending[0].params or batch.first_frame
                                  != self._pending[-1].first_frame + len(self._pending[-1])):
                self._flush_columns()
            self._pending.append(batch)
            n = sum(len(b) for b in self._pending)
            if n * batch.params.seconds_per_frame >= BATCH_SECONDS:
                self._flush_columns()
        elif kind == "audio":
            _, mono, rate, stream_time = item
            if not self._audio:
                self._audio_first = int(round(stream_time * rate)) - mono.size
                self._audio_rate = rate
            self._audio.append(mono)
            if sum(a.size for a in self._audio) >= AUDIO_SECONDS * rate:
                self._flush_audio()
        elif kind == "json":
            _, name, fields, qos = item
            self._send(name, payloads.encode_json(name, fields), qos)

    def _flush_columns(self) -> None:
        if not self._pending:
            return
        batches, self._pending = self._pending, []
        params = batches[0].params
        # The mel bands in dBFS, as the window draws them (a full-scale sine at a band's centre
        # reads 0 dB), so the node's dB range means on the wire what it means on its screen.
        rows = _mel_rows(params)
        mel = np.concatenate([rows.rows(b) for b in batches])
        floor, ceil = self.db_range
        self._send("columns", payloads.encode_columns(
            mel, batches[0].first_frame, params.samplerate, params.hop, floor, ceil, self.run))
        self._levels.extend(batches)
        frames = sum(len(b) for b in self._levels)
        if frames * params.seconds_per_frame >= LEVELS_SECONDS or self._stop.is_set():
            self._flush_levels()

    def _flush_levels(self) -> None:
        if not self._levels:
            return
        batches, self._levels = self._levels, []
        params = batches[0].params
        rms = np.concatenate([b.rms_dbfs for b in batches]).astype(np.float64)
        peak = np.concatenate([b.peak_dbfs for b in batches])
        peak_hz = np.concatenate([b.peak_hz for b in batches])
        k = int(np.argmax(rms))
        mean_rms = 10 * np.log10(np.mean(10.0 ** (rms / 10.0)))
        self._send("levels", payloads.encode_json("levels", {
            "t": round(batches[0].first_frame * params.seconds_per_frame, 4),
            "frames": int(rms.size),
            "rms_dbfs": _finite_or_none(mean_rms, 2), "peak_dbfs": _finite_or_none(peak.max(), 2),
            "peak_hz": _finite_or_none(peak_hz[k], 1)}))

    def _flush_audio(self) -> None:
        if not self._audio:
            return
        blocks, self._audio = self._audio, []
        self._send("audio", payloads.encode_audio(np.concatenate(blocks), self._audio_first,
                                                  self._audio_rate, self.run))

    def _send_status(self) -> None:
        with self._lock:
            status = dict(self._status or {})
        status["counters"] = self.counters()
        status["time"] = round(time.time(), 3)
        self._send("status", payloads.encode_json("status", status), qos=1, retain=True)

    def _send(self, kind: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        import paho.mqtt.client as mqtt

        if qos == 0:
            with self._lock:
                if not self.connected:
                    self._counts["dropped_offline"] += 1
                    return
                if self._unsent >= MAX_UNSENT:
                    self._counts["dropped_backlog"] += 1
                    return
                self._unsent += 1
        info = self._client.publish(self.topic(kind), payload, qos=qos, retain=retain)
        with self._lock:
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._counts["messages"] += 1
                self._counts["bytes"] += len(payload)
            elif qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN:
                self._counts["queued_offline"] += 1  # paho sends it once reconnected
            else:
                if qos == 0:
                    self._unsent = max(0, self._unsent - 1)
                key = {mqtt.MQTT_ERR_NO_CONN: "dropped_offline",
                       mqtt.MQTT_ERR_QUEUE_SIZE: "dropped_backlog"}.get(info.rc, "dropped_error")
                self._counts[key] += 1


def _finite_or_none(x, digits: int):
    x = float(x)
    return round(x, digits) if np.isfinite(x) else None


def node_status(session, publisher: Publisher) -> dict:
    """The retained status message's fields: the node's settings in force and its problems."""
    s = session.settings
    pipeline = session.pipeline
    rate = pipeline.samplerate if pipeline is not None else s.samplerate
    params = pipeline.worker.params if pipeline is not None else None
    settings = {"samplerate": rate, "n_fft": s.n_fft, "hop": s.hop, "window": s.window,
                "n_mels": s.n_mels, "fmin": float(s.fmin),
                "fmax": float(s.fmax_for(rate)) if rate else s.fmax, "htk": bool(s.htk),
                "mel_norm": s.mel_norm, "db_floor": publisher.db_range[0],
                "db_ceil": publisher.db_range[1],
                "channel": s.channel, "classifier": session.classifier is not None}
    status = {"node": publisher.node, "online": True, "run": publisher.run,
              "version": __version__, "started": round(publisher.started, 3),
              "source": pipeline.source.description if pipeline is not None else None,
              "stream_time": round(pipeline.worker.stream_time, 3) if pipeline else 0.0,
              "settings": settings, "batch_seconds": BATCH_SECONDS,
              "publish_audio": publisher.publish_audio,
              "problems": [p.as_dict() for p in session.problems.items()]}
    if params is not None:
        status["mel_freqs"] = _mel_freqs(params)
    return status


@functools.lru_cache(maxsize=4)
def _mel_freqs(params) -> list:
    """Centre of each mel band, Hz, rounded to 0.01 Hz (built once per analysis)."""
    return [round(float(f), 2) for f in params.mel_freqs]


@functools.lru_cache(maxsize=4)
def _mel_rows(params: AnalysisParams) -> FrequencyRows:
    return FrequencyRows(params, "mel")
