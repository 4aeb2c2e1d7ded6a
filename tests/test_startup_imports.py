"""What the window's start imports before its first picture: not the model's runtime (it loads
after, monitor.classifier.deferred_model), not soundfile (no file is read or written), not
pyqtgraph (only the views built when first shown use it: its import was ~0.17 s of the start),
and never librosa, scipy or matplotlib (test and benchmark references only). The window's timer
(monitor.gui.app.after_first_picture, tested in test_deferred_model.py) is left out
here: its thread would import onnxruntime at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = r"""
import json, sys
from PyQt6 import QtWidgets
from monitor.gui.main_window import MainWindow
from monitor.session import Session
app = QtWidgets.QApplication([])
session = Session({"generator": "pink@-20"}, {}, allow_demo=False)
session.open_classifier(defer=True)
session.start()
w = MainWindow(session)
w.resize(1200, 760)
w.show()
while w.run_stats.first_column_epoch is None:
    app.processEvents()
before = sorted(m.split(".")[0] for m in sys.modules)
loading = session.classifier is not None and session.classifier.model.loading
w.close()
session.close()
print(json.dumps({"modules": before, "classifier": session.classifier is not None,
                  "loading_at_first_picture": loading}))
"""


def test_first_picture_needs_no_model_runtime_no_soundfile_no_pyqtgraph_no_references(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    modules = set(result["modules"])
    assert "PyQt6" in modules and "numpy" in modules  # the check sees real imports
    for name in ("onnxruntime", "onnx", "soundfile", "pyqtgraph", "librosa", "scipy",
                 "matplotlib"):
        assert name not in modules, name
    if result["classifier"]:  # the model is installed: it was still loading then
        assert result["loading_at_first_picture"]


ARENA_SCRIPT = r"""
import ctypes, sys, threading
if sys.argv[1] == "one":
    from monitor.gui.app import one_malloc_arena
    assert one_malloc_arena()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
got = []
t = threading.Thread(target=lambda: got.append(libc.malloc(1000)))
t.start(); t.join()
heap = [l.split()[0] for l in open("/proc/self/maps") if l.rstrip().endswith("[heap]")]
lo, hi = (int(x, 16) for x in heap[0].split("-"))
print("main-heap" if lo <= got[0] < hi else "own-arena")
"""


def test_one_malloc_arena_keeps_a_threads_allocations_in_the_main_heap():
    """glibc gives a new thread an arena of its own (the deferred model's load left 14 MiB
    more RSS there); after one_malloc_arena() the thread allocates from the main heap."""
    if not sys.platform.startswith("linux"):
        return
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("MALLOC_ARENA_MAX", None)
    seen = {}
    for mode in ("default", "one"):
        out = subprocess.run([sys.executable, "-c", ARENA_SCRIPT, mode], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        seen[mode] = out.stdout.strip()
    assert seen == {"default": "own-arena", "one": "main-heap"}


HASHLIB_SCRIPT = r"""
import sys
from monitor.classifier.model import find_packaged_model
from monitor.classifier.prepared_graph import prepared_model
from monitor.classifier.sha256 import sha256
import monitor.outputs, monitor.recorder, monitor.gui.app
print("_hashlib" in sys.modules, sha256().name)
"""


def test_the_model_cache_key_needs_no_openssl(tmp_path):
    """The prepared graph's key and the model check take SHA-256 from Python's own module:
    ``import hashlib`` would load OpenSSL's libcrypto, +3.7 MiB RSS for two short digests."""
    import hashlib

    from monitor.classifier.sha256 import sha256

    h = sha256(b"spectro")
    h.update(b"mon")
    assert h.hexdigest() == hashlib.sha256(b"spectromon").hexdigest()  # the same cache keys
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", HASHLIB_SCRIPT], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "sha256"]
