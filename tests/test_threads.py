"""OS-level thread names (monitor.threads), which the benchmark's per-thread split reads."""

from __future__ import annotations

import sys
import threading

import pytest

from monitor.threads import NamedThread, os_thread_name, set_os_thread_name

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")


@linux
def test_named_thread_carries_its_name_into_the_kernel():
    seen = {}
    started = threading.Event()
    release = threading.Event()

    def body():
        seen["prctl"] = os_thread_name()
        seen["tid"] = threading.get_native_id()
        started.set()
        release.wait(10.0)

    t = NamedThread(target=body, name="analysis-worker", daemon=True)
    t.start()
    assert started.wait(10.0)
    try:
        with open(f"/proc/self/task/{seen['tid']}/comm") as f:
            comm = f.read().strip()
    finally:
        release.set()
        t.join(10.0)
    assert seen["prctl"] == comm == "analysis-worker"
    assert t.name == "analysis-worker"


@linux
def test_long_names_are_cut_to_the_kernels_15_bytes():
    out = {}

    def body():
        out["ok"] = set_os_thread_name("a-very-long-thread-name")
        out["name"] = os_thread_name()

    t = threading.Thread(target=body)
    t.start()
    t.join(10.0)
    assert out == {"ok": True, "name": "a-very-long-thr"}
