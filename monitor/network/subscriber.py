"""The subscriber: a Qt-free model of every node publishing under a prefix, and its runner.

:class:`NodesModel` is fed ``(topic, payload)`` pairs (by paho's network thread through
:class:`Subscriber`, or directly by a test) and keeps, per node, its status and settings, a
history of its columns, its level, top labels and events. Whatever arrives that is not a valid
message is counted (``malformed``) and ignored; a repeated message (``duplicates``) too; columns
that never arrived (a broker restart, QoS 0 drops for a slow subscriber) are counted per node
(``missing_frames``). Times shown are each node's own stream time: the nodes' clocks may
disagree with each other and with ours.
"""

from __future__ import annotations

import collections
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from monitor.network import payloads
from monitor.network.broker import KEEPALIVE, Broker, make_client

__all__ = ["NodeState", "NodesModel", "Subscriber", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = 1024  # columns kept per node for the waterfalls (~11 s at the defaults)
MAX_EVENTS = 1000  # merged event log length


@dataclass
class NodeState:
    """What is known of one node (read under :attr:`NodesModel.lock`)."""

    name: str
    online: bool = False
    offline_since: Optional[float] = None  # our wall clock, seconds (time.time())
    offline_reason: Optional[str] = None
    status: Optional[dict] = None
    run: Optional[int] = None
    n_mels: int = 0
    db_floor: float = -100.0
    db_ceil: float = 0.0
    seconds_per_column: float = 0.0
    history: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    filled: int = 0  # columns written into history so far (the ring's write index modulo)
    end_frame: Optional[int] = None  # next column index expected
    stream_time: float = 0.0  # the node's own stream seconds at its newest column
    columns: int = 0
    missing_frames: int = 0
    duplicates: int = 0
    restarts: int = 0
    level: Optional[dict] = None
    top: list = field(default_factory=list)
    last_batch: Optional[payloads.Columns] = None
    kept: list = field(default_factory=list)  # every Columns, with NodesModel(keep=True)
    audio: list = field(default_factory=list)  # every AudioBlock, with NodesModel(keep=True)
    events: set = field(default_factory=set)
    last_seen: float = 0.0  # time.monotonic() of the latest message
    clock_offset: Optional[float] = None  # our clock minus the node's at its last status, s

    @property
    def mel_freqs(self) -> Optional[np.ndarray]:
        """Centre frequency of each mel band, Hz, from the node's status."""
        freqs = (self.status or {}).get("mel_freqs")
        if isinstance(freqs, list) and len(freqs) == self.n_mels and all(
                isinstance(f, (int, float)) for f in freqs):
            return np.asarray(freqs, np.float64)
        return None

    def image(self) -> np.ndarray:
        """The history, oldest column first: ``(n, n_mels)`` uint8 codes."""
        n = min(self.filled, self.history.shape[0])
        if n == 0:
            return self.history[:0]
        k = self.filled % self.history.shape[0]
        return np.concatenate([self.history[k:], self.history[:k]])[-n:]

    def peak_hz(self) -> Optional[float]:
        """Centre of the loudest mel band of the newest batch, Hz (None before status)."""
        freqs, batch = self.mel_freqs, self.last_batch
        if freqs is None or batch is None:
            return None
        return float(freqs[int(np.argmax(batch.codes.astype(np.float64).mean(axis=0)))])

    def summary(self) -> dict:
        return {"online": self.online, "stream_time": round(self.stream_time, 3),
                "columns": self.columns, "missing_frames": self.missing_frames,
                "duplicates": self.duplicates, "restarts": self.restarts,
                "peak_hz": None if self.peak_hz() is None else round(self.peak_hz(), 1),
                "rms_dbfs": (self.level or {}).get("rms_dbfs"), "top": self.top,
                "offline_since": self.offline_since,
                "clock_offset_s": (None if self.clock_offset is None
                                   else round(self.clock_offset, 3))}


class NodesModel:
    """Every node under ``prefix``; thread-safe (one lock).

    Parameters
    ----------
    prefix : str
        Topic prefix (``site/floor1``).
    keep : bool
        Keep every columns message received (tests, ``--save-features`` style checks).
    on_output : callable, optional
        Called with a dict for each status, offline and event message accepted (the headless
        subscriber prints them).
    """

    def __init__(self, prefix: str, keep: bool = False,
                 on_output: Optional[Callable[[dict], None]] = None) -> None:
        self.prefix = prefix.strip("/")
        self.keep = keep
        self.on_output = on_output
        self.lock = threading.RLock()
        self.nodes: dict[str, NodeState] = {}
        self.events: collections.deque = collections.deque(maxlen=MAX_EVENTS)
        self.events_total = 0  # events ever accepted (the deque keeps the last MAX_EVENTS)
        self.counts = {"messages": 0, "malformed": 0, "duplicates": 0, "foreign": 0}
        self.last_malformed: Optional[str] = None
        self.version = 0  # changes whenever anything does (presenters redraw only then)

    # -- input ---------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, now: Optional[float] = None) -> None:
        """Take one message; never raises for any topic or payload."""
        now = time.time() if now is None else now
        outputs: list[dict] = []
        with self.lock:
            self.counts["messages"] += 1
            rest = topic[len(self.prefix) + 1:] if topic.startswith(self.prefix + "/") else None
            parts = rest.split("/") if rest else []
            if len(parts) != 2 or not parts[0]:
                self.counts["foreign"] += 1
                return
            name, kind = parts
            try:
                if len(payload) > payloads.MAX_PAYLOAD:
                    raise payloads.Malformed(f"{kind}: {len(payload)} bytes is too large")
                handler = _HANDLERS.get(kind)
                if handler is None:
                    raise payloads.Malformed(f"unknown message kind {kind!r}")
                out = handler(self, name, bytes(payload), now)
            except payloads.Malformed as exc:
                self.counts["malformed"] += 1
                self.last_malformed = f"{topic}: {exc}"
                return
            self.version += 1
            if out is not None:
                outputs.append(out)
        if self.on_output is not None:
            for out in outputs:
                self.on_output(out)

    def _node(self, name: str) -> NodeState:
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes[name] = NodeState(name)
        node.last_seen = time.monotonic()
        return node

    def _new_run(self, node: NodeState, run: int) -> None:
        """``run`` differs from the node's: it restarted (or is seen for the first time)."""
        if node.run is not None:
            node.restarts += 1
        node.run = run
        node.end_frame = None
        node.events.clear()

    def _duplicate(self, node: Optional[NodeState]) -> None:
        self.counts["duplicates"] += 1
        if node is not None:
            node.duplicates += 1

    def _status(self, name: str, payload: bytes, now: float) -> Optional[dict]:
        msg = payloads.decode_json("status", payload)
        run = msg.get("run")
        if not isinstance(run, int) or isinstance(run, bool):
            raise payloads.Malformed("status: run missing")
        if msg["online"]:
            settings = payloads.status_settings(msg)
            if settings is None:
                raise payloads.Malformed("status: settings missing or incomplete")
        node = self._node(name)
        if node.status == msg:
            self._duplicate(node)
            return None
        if not msg["online"]:
            if run != node.run and node.run is not None and node.online:
                return None  # the will of an earlier run arriving late: this run is alive
            was = node.online or node.offline_since is None
            node.online = False
            if was:
                node.offline_since = float(msg["time"]) if isinstance(
                    msg.get("time"), (int, float)) else now
            node.offline_reason = str(msg.get("reason", "offline"))
            if node.status and node.status.get("online"):
                node.status = {**node.status, "online": False}
            else:
                node.status = msg
            return {"type": "offline", "node": name, "reason": node.offline_reason,
                    "since": round(node.offline_since or now, 3)}
        if run != node.run:
            self._new_run(node, run)
        node.online, node.offline_since, node.offline_reason = True, None, None
        node.status = msg
        if isinstance(msg.get("time"), (int, float)) and not isinstance(msg["time"], bool):
            # Skew plus the network's delay: shown, never used (times are the node's own).
            node.clock_offset = now - float(msg["time"])
        return {"type": "status", "node": name, "run": run, "settings": msg["settings"],
                "version": msg.get("version"), "problems": msg.get("problems", []),
                "counters": msg.get("counters"), "stream_time": msg.get("stream_time")}

    def _columns(self, name: str, payload: bytes, now: float) -> None:
        cols = payloads.decode_columns(payload)
        node = self._node(name)
        if cols.run != node.run:
            self._new_run(node, cols.run)
            node.online, node.offline_since = True, None  # a new run is alive
        if node.end_frame is not None:
            if cols.first_frame < node.end_frame:
                self._duplicate(node)
                return None
            node.missing_frames += cols.first_frame - node.end_frame
        if cols.n_mels != node.n_mels or node.history.shape[1] != cols.n_mels:
            node.history = np.zeros((HISTORY_COLUMNS, cols.n_mels), np.uint8)
            node.filled = 0
            node.n_mels = cols.n_mels
        node.db_floor, node.db_ceil = cols.db_floor, cols.db_ceil
        node.seconds_per_column = cols.hop / cols.samplerate
        rows = cols.codes[-HISTORY_COLUMNS:]
        idx = (node.filled + np.arange(rows.shape[0])) % HISTORY_COLUMNS
        node.history[idx] = rows
        node.filled += rows.shape[0]
        node.end_frame = cols.end_frame
        node.stream_time = cols.end_frame * node.seconds_per_column
        node.columns += cols.n_cols
        node.last_batch = cols
        if not node.online and node.offline_since is None:
            node.online = True  # columns before any status: alive, settings unknown yet
        if self.keep:
            node.kept.append(cols)
        return None

    def _levels(self, name: str, payload: bytes, now: float) -> None:
        msg = payloads.decode_json("levels", payload)
        node = self._node(name)
        if msg == node.level:
            self._duplicate(node)
            return None
        node.level = msg
        return None

    def _labels(self, name: str, payload: bytes, now: float) -> None:
        msg = payloads.decode_json("labels", payload)
        self._node(name).top = msg["top"]
        return None

    def _event(self, name: str, payload: bytes, now: float) -> Optional[dict]:
        msg = payloads.decode_json("event", payload)
        node = self._node(name)
        key = (msg["state"], msg["label"], msg["start"])
        if key in node.events:
            self._duplicate(node)
            return None
        node.events.add(key)
        out = {"type": "event", "node": name, "state": msg["state"], "label": msg["label"],
               "start": msg["start"], "duration": msg.get("duration"), "peak": msg["peak"],
               "received": round(now, 3)}
        self.events.append(out)
        self.events_total += 1
        return out

    def _audio(self, name: str, payload: bytes, now: float) -> None:
        block = payloads.decode_audio(payload)  # validated; audio is not played (yet)
        node = self._node(name)
        if self.keep:
            node.audio.append(block)
        return None

    # -- output --------------------------------------------------------------------------------
    def summary(self) -> dict:
        with self.lock:
            return {"counts": dict(self.counts),
                    "nodes": {n: s.summary() for n, s in sorted(self.nodes.items())}}


_HANDLERS = {"status": NodesModel._status, "columns": NodesModel._columns,
             "levels": NodesModel._levels, "labels": NodesModel._labels,
             "event": NodesModel._event, "audio": NodesModel._audio}


class Subscriber:
    """Connects to ``broker`` and feeds ``model`` with ``PREFIX/+/+`` (paho reconnects by
    itself; reconnections and the seconds without broker are counted)."""

    def __init__(self, broker: Broker, model: NodesModel) -> None:
        self.broker, self.model = broker, model
        self._client = None
        self._lock = threading.Lock()
        self.connects = 0
        self.reconnects = 0
        self._down_since: Optional[float] = time.monotonic()
        self._gap = 0.0
        self.last_error: Optional[str] = None
        self.connected = threading.Event()

    def start(self) -> None:
        client = make_client(self.broker, f"spectromon-sub-{secrets.token_hex(4)}")
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE)
        client.loop_start()

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def counters(self) -> dict:
        with self._lock:
            gap = self._gap
            if self._down_since is not None and self.connects:
                gap += time.monotonic() - self._down_since
            return {"connected": self.connected.is_set(), "connects": self.connects,
                    "reconnects": self.reconnects, "disconnected_s": round(gap, 2)}

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self.last_error = f"refused: {reason_code}"
            return
        with self._lock:
            self.connects += 1
            if self.connects > 1:
                self.reconnects += 1
                if self._down_since is not None:
                    self._gap += time.monotonic() - self._down_since
            self._down_since = None
        self.last_error = None
        client.subscribe(f"{self.broker.prefix}/+/+", qos=1)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self.connected.clear()
        with self._lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
        if reason_code.is_failure and not (self.last_error or "").startswith("refused"):
            self.last_error = str(reason_code)

    def _on_message(self, client, userdata, message) -> None:
        try:
            self.model.handle(message.topic, message.payload)
        except Exception as exc:  # noqa: BLE001 - a bug here must not kill paho's thread
            with self.model.lock:
                self.model.counts["malformed"] += 1
                self.model.last_malformed = f"{message.topic}: {type(exc).__name__}: {exc}"
