"""Start-up phases in CPU time of the main thread (``time.thread_time``), load-robust.

``python -m bench.startup_phases [CHECKOUT ...] [--repeats N]`` runs, in each checkout (default:
this one), alternated N times (default 5), one process that imports the window
(``monitor.gui.app``), opens a session on a pink-noise generator (the classifier deferred where
the checkout can), builds the MainWindow, shows it 1200 × 760 offscreen and spins the event
loop until the first waterfall column is drawn. It prints the median and minimum of each
phase per checkout. Wall clock on this shared machine moved by 2-3× between runs; the
main thread's CPU time moves much less (bench/findings.md, "start-up and memory").
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = r"""
import json, os, time
T = time.thread_time
t0 = T()
from monitor.gui import app as A
from PyQt6 import QtWidgets
t1 = T()
qapp = QtWidgets.QApplication([])
from monitor.session import Session
session = Session({"generator": "pink@-20"}, {}, allow_demo=False)
try:
    session.open_classifier(defer=True)
except TypeError:  # a checkout from before the deferred model
    session.open_classifier()
session.open_measurement()
session.start()
t2 = T()
w = A.MainWindow(session)
t3 = T()
w.resize(1200, 760)
w.show()
while w.run_stats.first_column_epoch is None:
    qapp.processEvents()
t4 = T()
print(json.dumps({"imports": t1 - t0, "session, classifier, start": t2 - t1,
                  "MainWindow()": t3 - t2, "show -> first column": t4 - t3, "total": t4 - t0}))
w.close()
session.close()
"""


def phases(checkout: str, pycache: str) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=checkout,
               PYTHONPYCACHEPREFIX=pycache, XDG_CONFIG_HOME=os.path.join(pycache, "config"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", PHASES], cwd=checkout, env=env,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{checkout}: exit {out.returncode}: {out.stderr[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list) -> int:
    repeats = 5
    if "--repeats" in argv:
        i = argv.index("--repeats")
        repeats = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    checkouts = [os.path.abspath(a) for a in argv] or [REPO]
    pycache = tempfile.mkdtemp(prefix="bench-phases-")
    for c in checkouts:
        phases(c, pycache)  # warm: bytecode and disk cache
    runs: dict = {c: [] for c in checkouts}
    for i in range(repeats):
        order = checkouts if i % 2 == 0 else checkouts[::-1]  # alternated, both ways
        for c in order:
            runs[c].append(phases(c, pycache))
    for c in checkouts:
        print(c)
        for key in runs[c][0]:
            values = [r[key] for r in runs[c]]
            print(f"  {key:28s} median {statistics.median(values):.3f} s, min {min(values):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
