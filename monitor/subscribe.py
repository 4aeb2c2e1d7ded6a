"""The ``--subscribe URL`` entry point: the nodes window, or with ``--headless`` one JSON line
per status, offline and event message and a summary every ``--interval``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Optional

from monitor.network.broker import Broker
from monitor.network.options import broker_of
from monitor.network.subscriber import NodesModel, Subscriber

__all__ = ["run_subscriber"]


def run_subscriber(ns: argparse.Namespace) -> int:
    """``--subscribe URL``: the nodes window, or with ``--headless`` JSON lines; exit code."""
    broker = broker_of(ns, ns.subscribe)
    if not getattr(ns, "headless", False):
        from monitor.gui.nodes_window import run_nodes_window

        return run_nodes_window(broker, ns)
    return _run_headless(broker, getattr(ns, "interval", 0.5) or 0.5,
                         getattr(ns, "duration", None))


def _run_headless(broker: Broker, interval: float, duration: Optional[float]) -> int:
    out_lock = threading.Lock()
    t0 = time.monotonic()

    def emit(obj: dict) -> None:
        line = json.dumps({"t": round(time.monotonic() - t0, 3), **obj}, separators=(",", ":"))
        with out_lock:
            print(line, flush=True)

    model = NodesModel(broker.prefix, on_output=emit)
    sub = Subscriber(broker, model)
    stop = threading.Event()
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                                 else [])
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in signals}
    sub.start()
    said_unreachable = False
    try:
        while not stop.wait(interval):
            c = sub.counters()
            if not c["connected"] and not said_unreachable and time.monotonic() - t0 > 3:
                said_unreachable = True
                why = f" ({sub.last_error})" if sub.last_error else ""
                print(f"spectromon: MQTT broker {broker.url} unreachable{why}; retrying",
                      file=sys.stderr, flush=True)
            elif c["connected"]:
                said_unreachable = False
            emit({"type": "summary", "broker": c, **model.summary()})
            if duration is not None and time.monotonic() - t0 >= duration:
                break
    finally:
        sub.close()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0
