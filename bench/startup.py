"""Start-up: from launching ``main.py`` to the first waterfall column drawn, warm disk cache.

The app (virtual microphone, default settings, classifier on, offscreen) notes the wall-clock
time of its first drawn column in its statistics file; the figure is that minus the time
just before ``Popen``. One unmeasured launch first warms the disk cache. Baseline: the bare
pyqtgraph waterfall (:mod:`bench.bare_app`) launched the same way.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from bench.app import bare_cmd, measure, product_cmd
from bench.report import Figure, Target

SECONDS = 4.0


def _startup(cmd) -> float:
    run = measure(cmd, SECONDS)
    first = run.stats.get("first_column_epoch")
    if run.returncode != 0 or first is None:
        tail = " | ".join(run.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"no first column (exit {run.returncode}: {tail})")
    return first - run.launched_epoch


def run(quick: bool = False, log=print) -> list[Figure]:
    repeats = 3 if quick else 5
    # Warm means compiled too: an installed package has its bytecode, and a checkout writes
    # it on the first run, unless PYTHONDONTWRITEBYTECODE is set (as on this machine), when
    # every launch compiled monitor's ~90 modules again (0.35 s of the start under cProfile).
    keep = {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-startup-pycache-")
    try:
        _startup(product_cmd(SECONDS))  # warm the disk cache and the bytecode
        _startup(bare_cmd(SECONDS))
        ours, base = [], []
        for _ in range(repeats):
            ours.append(_startup(product_cmd(SECONDS)))
            base.append(_startup(bare_cmd(SECONDS)))
    finally:
        shutil.rmtree(os.environ["PYTHONPYCACHEPREFIX"], ignore_errors=True)
        for k, v in keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    log(f"  startup: {[f'{x:.2f}' for x in ours]} s (bare {[f'{x:.2f}' for x in base]} s)")
    return [Figure("6. Start-up (warm)", "launch → first column drawn", "s", ours,
                   "bare pyqtgraph waterfall", base, Target("<=", 1.0, "≤ 1 s"),
                   note=f"{repeats} launches each after one warm-up launch; includes the "
                        f"interpreter, imports, the model load and the first n_fft of audio")]


if __name__ == "__main__":
    import os

    from bench.audio import VirtualMic, programme
    from bench.report import render_text

    with VirtualMic() as vm:
        vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
        print(render_text(run(quick="--quick" in sys.argv)))
