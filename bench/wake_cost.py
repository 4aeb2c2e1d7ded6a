"""CPU time one wake-up costs a thread, by the way it waits.

    python -m bench.wake_cost [--waits 150] [--seconds 0.021] [--repeats 4]

Waits ``--waits`` times for ``--seconds`` (each wait times out: nothing signals it) with
``threading.Event.wait``, ``time.sleep`` and ``threading.Lock.acquire(timeout=...)``,
alternated ``--repeats`` times, and prints the thread CPU (``time.thread_time``) per wait: what
each wake of a polling thread (the worker, the recorder) costs beside its work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.wake_cost")
    ap.add_argument("--waits", type=int, default=150)
    ap.add_argument("--seconds", type=float, default=0.021)
    ap.add_argument("--repeats", type=int, default=4)
    ns = ap.parse_args(argv)
    event, lock = threading.Event(), threading.Lock()
    lock.acquire()  # held: every acquire times out
    s = ns.seconds
    ways = {"Event.wait": lambda: event.wait(s), "time.sleep": lambda: time.sleep(s),
            "Lock.acquire(timeout)": lambda: lock.acquire(timeout=s)}
    results: dict = {name: [] for name in ways}
    for _ in range(ns.repeats):
        for name, wait in ways.items():
            t = time.thread_time()
            for _ in range(ns.waits):
                wait()
            results[name].append(1e6 * (time.thread_time() - t) / ns.waits)
    for name, r in results.items():
        print(f"{name:24s} median {statistics.median(r):6.1f} µs CPU per wake "
              f"({', '.join(f'{x:.0f}' for x in r)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
