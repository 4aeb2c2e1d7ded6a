"""Where the app's resident memory is: ``/proc/PID/smaps_rollup`` and ``smaps`` split by mapping.

``python -m bench.memory_map [SECONDS] [-- APP ARGS]`` runs the app (offscreen, a fresh settings
directory, the demo recording looped in real time, issue 12's settings, classifier on unless
``--no-classifier`` is among the app's arguments) and after SECONDS (default 20) prints the
rollup (Rss, Pss, anonymous) and the Rss of each group of mappings, largest first: the heap,
other anonymous maps, and the file-backed ones by library (onnxruntime, Qt, numpy/OpenBLAS,
Python, ...). Load-independent enough to compare two checkouts by running it in each.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISSUE_ARGS = ("--n-fft", "4096", "--hop", "1024", "--scale", "mel", "--history", "10")
GROUPS = (  # (group, pattern of the mapping's path); the first match wins
    ("onnxruntime", r"onnxruntime"),
    ("Qt 6", r"libQt6|/PyQt6/|qt6/plugins|/plugins/"),
    ("numpy / OpenBLAS", r"numpy|openblas|gfortran|quadmath"),
    ("libpython + stdlib ext", r"libpython|lib-dynload|python3"),
    ("ICU", r"libicu"),
    ("soxr / sndfile / portaudio", r"soxr|sndfile|portaudio|_soundfile|_sounddevice"),
    ("fonts / locale", r"\.ttf|\.otf|fonts|locale"),
    ("C/C++ runtime", r"libc\.|libstdc|libm\.|libgcc|ld-linux"),
)


def rollup(pid: int) -> dict:
    """``{field: kB}`` of ``/proc/PID/smaps_rollup``."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def split(pid: int) -> dict:
    """Rss (kB) per group of mappings of ``pid`` (see :data:`GROUPS`)."""
    groups: dict = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$", line)
            if head:
                path = head.group(1).strip()
                if path == "[heap]":
                    name = "[heap]"
                elif not path:
                    name = "anonymous (mmap: arenas, numpy, onnxruntime buffers)"
                elif path.startswith("["):
                    name = path
                else:
                    name = next((g for g, pat in GROUPS if re.search(pat, path)), "other files")
                continue
            m = re.match(r"Rss:\s+(\d+) kB", line)
            if m and name is not None:
                groups[name] = groups.get(name, 0) + int(m.group(1))
    return dict(sorted(groups.items(), key=lambda kv: -kv[1]))


def measure(seconds: float, app_args: list, env_extra: dict | None = None) -> tuple:
    """Run the app for ``seconds`` + 5 s and read its maps at ``seconds``: (rollup, split)."""
    workdir = tempfile.mkdtemp(prefix="bench-mem-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=REPO,
               XDG_CONFIG_HOME=os.path.join(workdir, "config"), **(env_extra or {}))
    cmd = [sys.executable, os.path.join(REPO, "main.py"), "--input",
           os.path.join(REPO, "resources", "demo.wav"), "--loop", *ISSUE_ARGS,
           "--duration", f"{seconds + 5:g}", *app_args]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(seconds)  # pacing the sampler, not synchronising with the app
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}: {proc.stderr.read()[-500:]}")
        return rollup(proc.pid), split(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list) -> int:
    app_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    seconds = float(argv[0]) if argv else 20.0
    roll, groups = measure(seconds, app_args)
    mib = 1024.0
    print(f"at {seconds:g} s: Rss {roll['Rss'] / mib:.1f} MiB, Pss {roll['Pss'] / mib:.1f}, "
          f"anonymous {roll.get('Anonymous', 0) / mib:.1f}")
    for name, kb in groups.items():
        if kb >= 256:
            print(f"  {kb / mib:7.1f} MiB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
