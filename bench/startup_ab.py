"""Start-up of two (or more) checkouts, alternated: launch → first column drawn, wall clock.

``python -m bench.startup_ab BEFORE_DIR [AFTER_DIR ...] [--repeats N]`` (default: this
checkout after the others; N = 8) launches each checkout's ``main.py`` on the virtual
microphone as :mod:`bench.startup` does (one warm-up launch each, bytecode written to a shared
temporary prefix), alternating the order every round, and prints the median and minimum per
checkout. On this shared machine the wall clock moves with the load; alternating keeps both
checkouts under the same load.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile

import bench.app as bench_app
from bench.audio import VirtualMic, programme

SECONDS = 4.0


def startup(checkout: str) -> float:
    """Seconds from launch to the first column of ``checkout``'s app."""
    bench_app.REPO = checkout  # measure() and product_cmd() launch this checkout
    run = bench_app.measure(bench_app.product_cmd(SECONDS), SECONDS)
    first = run.stats.get("first_column_epoch")
    if run.returncode != 0 or first is None:
        raise RuntimeError(f"{checkout}: no first column (exit {run.returncode}): "
                           f"{run.stderr[-300:]}")
    return first - run.launched_epoch


def main(argv: list) -> int:
    repeats = 8
    if "--repeats" in argv:
        i = argv.index("--repeats")
        repeats = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    own = bench_app.REPO
    checkouts = [os.path.abspath(a) for a in argv] + [own]
    checkouts = list(dict.fromkeys(checkouts))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-startup-ab-")
    results: dict = {c: [] for c in checkouts}
    try:
        with VirtualMic() as vm:
            vm.play_loop(programme(os.path.join(vm.root, "programme.wav")))
            for c in checkouts:
                startup(c)  # warm: disk cache and bytecode
            for i in range(repeats):
                for c in checkouts if i % 2 == 0 else checkouts[::-1]:
                    results[c].append(startup(c))
    finally:
        shutil.rmtree(os.environ.pop("PYTHONPYCACHEPREFIX"), ignore_errors=True)
        bench_app.REPO = own
    for c, runs in results.items():
        print(f"{c}\n  launch -> first column  median {statistics.median(runs):.3f} s, "
              f"min {min(runs):.3f} s  {[round(x, 2) for x in runs]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
