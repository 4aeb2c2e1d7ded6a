"""Shared test services: a PulseAudio virtual microphone and a real X server (Xvfb).

Both are real processes started for the session and stopped by PID at its end.

``pulse_mic``
    A private PulseAudio daemon (its own socket, so a desktop's sound server is left alone)
    with a null sink ``vsink`` (48 kHz mono) whose monitor ``vsink.monitor`` is the default
    source. Whatever is played into ``vsink`` is what a recorder hears. PortAudio reaches it as
    the ALSA device ``pulse`` (libasound2-plugins). Sink, source and stream volumes are 100 %, so
    levels arrive unchanged.
``xvfb``
    An Xvfb server on a free display; GUI subprocesses get ``DISPLAY`` and
    ``QT_QPA_PLATFORM=xcb`` from :meth:`XServer.env`.

When a service cannot run here the tests that need it are skipped with the reason, unless
``SPECTROMON_REQUIRE_SERVICES=1`` (set by ``.ci/run``), which makes that a failure.

GUI tests in this process use ``QT_QPA_PLATFORM=offscreen``, set by each GUI test module; this
file sets no Qt environment of its own. ``SPECTROMON_TEST_QT_PLATFORM=xcb`` (used by
tests/test_xvfb.py to rerun the GUI tests on a real X server) makes pytest-qt's application use
that platform instead: Qt's ``-platform`` argument wins over the environment variable.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
MAIN = REPO / "main.py"
SINK = "vsink"
RATE = 48000
START_TIMEOUT = 15.0  # seconds a service gets to come up

# Saved settings (QSettings) of every test run, in-process and in subprocesses, go to a private
# folder: a test never reads or changes the user's own settings, and the user's never change a
# test's outcome. Set at import, before Qt reads it.
_CONFIG_HOME = Path(os.environ.get("TMPDIR", "/tmp")) / f"spectromon-test-config-{os.getpid()}"
os.environ["XDG_CONFIG_HOME"] = str(_CONFIG_HOME)


def unavailable(reason: str) -> None:
    """Skip for a missing service, or fail when the run requires every service."""
    if os.environ.get("SPECTROMON_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (SPECTROMON_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def model():
    """The packaged YAMNet model, loaded once for the run (skipped, or failed under
    SPECTROMON_REQUIRE_SERVICES=1, when it cannot be loaded)."""
    from monitor.classifier import INSTALL_COMMAND, load_model
    from monitor.classifier.model import ModelUnavailable
    from monitor.settings import Settings

    try:
        return load_model(Settings())
    except ModelUnavailable as exc:
        unavailable(f"YAMNet model unavailable ({exc}): {INSTALL_COMMAND}")


def wait_until(condition: Callable[[], object], timeout: float, what: str,
               interval: float = 0.02) -> object:
    """Poll ``condition`` until it returns something true; fail naming ``what`` at the deadline.

    Returns the true value. Polling with a deadline is the synchronisation; the interval only
    bounds the CPU spent waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}", pytrace=False)
        time.sleep(interval)


def write_tone(path: Path, freq: float, peak_dbfs: float, seconds: float,
               samplerate: int = RATE) -> Path:
    """Write a mono 16-bit WAV sine of ``freq`` Hz at ``peak_dbfs`` (its RMS is 3.01 dB lower)."""
    n = int(round(seconds * samplerate))
    t = np.arange(n) / samplerate
    tone = 10.0 ** (peak_dbfs / 20.0) * np.sin(2 * np.pi * freq * t)
    sf.write(str(path), tone, samplerate, subtype="PCM_16")
    return path


def main_cmd(*args: str) -> list[str]:
    """The command line that runs ``python main.py ARGS`` with this interpreter."""
    return [sys.executable, str(MAIN), *args]


def _die_with_us() -> None:
    """Popen preexec_fn for services: the child gets SIGTERM when pytest ends in any way,
    even killed by a timeout, so no daemon outlives the run (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _stop_process(proc: Optional[subprocess.Popen], sig: int = signal.SIGTERM,
                  timeout: float = 10.0) -> None:
    """Signal one process we started (by its PID) and reap it; SIGKILL if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# --------------------------------------------------------------------------------------------
# PulseAudio virtual microphone
# --------------------------------------------------------------------------------------------

class PulseServer:
    """A private PulseAudio daemon with a null sink as virtual microphone.

    Parameters
    ----------
    root : Path
        Private directory for the socket, the daemon's HOME, runtime dir and log.
    """

    TOOLS = ("pulseaudio", "pactl", "paplay", "parec")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "native"
        self.log = root / "pulseaudio.log"
        self.daemon: Optional[subprocess.Popen] = None
        self.reader: Optional[subprocess.Popen] = None
        self.players: list[subprocess.Popen] = []
        self.env = dict(os.environ, PULSE_SERVER=f"unix:{self.socket}")

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the daemon, set up the virtual microphone, start the low-latency reader.

        Raises RuntimeError with the reason when the daemon does not come up.
        """
        home, runtime = self.root / "home", self.root / "run"
        home.mkdir(parents=True, exist_ok=True)
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        daemon_env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        daemon_env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
                          XDG_CONFIG_HOME=str(home / ".config"))
        # -n: no default.pa, so nothing probes real hardware; only the modules named here.
        # As root PulseAudio warns that it is "not intended to be run as root" but works.
        # --disable-shm: audio reaches clients through the socket, not shared memory. With
        # shared memory, killing the server while a client reads can deadlock libpulse inside
        # the client (seen here under load in about 1 run of 10: its mainloop thread waits in
        # pa_memimport_free for a block the ALSA pulse plugin has peeked, while the plugin,
        # on PortAudio's thread, waits for the mainloop lock). That is a libpulse bug the
        # device-loss tests would trip over at random; they test the monitor, not it.
        cmd = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
               "--realtime=no", "--high-priority=no", "--disable-shm=yes", "--log-target=stderr",
               "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
               "-L", f"module-null-sink sink_name={SINK} rate={RATE} channels=1 "
                     "sink_properties=device.description=Virtual_microphone"]
        with open(self.log, "ab") as log:
            self.daemon = subprocess.Popen(cmd, env=daemon_env, stdout=log, stderr=log,
                                           stdin=subprocess.DEVNULL, preexec_fn=_die_with_us)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._pactl_ok("info"):
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError("PulseAudio did not start: " + " | ".join(tail))
            time.sleep(0.05)
        for args in (("set-default-source", f"{SINK}.monitor"),
                     ("set-sink-volume", SINK, "100%"),
                     ("set-source-volume", f"{SINK}.monitor", "100%")):
            self.pactl(*args)
        # A recorder that attaches to an idle monitor source waits ~2 s for its first samples;
        # one reader kept on it with a short latency makes every new recorder start at once.
        self.reader = subprocess.Popen(
            ["parec", f"--device={SINK}.monitor", "--latency-msec=10"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_us)
        wait_until(lambda: self.pactl("list", "short", "source-outputs").strip(), START_TIMEOUT,
                   "the parec reader to attach to the virtual microphone")

    def stop(self) -> None:
        """Stop the players, the reader and the daemon we started."""
        for p in self.players:
            _stop_process(p)
        self.players.clear()
        _stop_process(self.reader)
        _stop_process(self.daemon)
        self.reader = self.daemon = None

    def kill(self) -> None:
        """Kill the daemon (SIGKILL, as a crash) and reap it; its clients lose the connection."""
        assert self.daemon is not None and self.daemon.poll() is None, "daemon not running"
        self.daemon.kill()
        self.daemon.wait(10)
        # The reader and players end on their own when the server goes; make sure they are gone.
        for p in [self.reader, *self.players]:
            _stop_process(p, timeout=5.0)
        self.players.clear()
        self.reader = self.daemon = None

    @property
    def running(self) -> bool:
        return self.daemon is not None and self.daemon.poll() is None

    # -- helpers ----------------------------------------------------------------------------------
    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout

    def _pactl_ok(self, *args: str) -> bool:
        try:
            self.pactl(*args)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            return False
        return True

    def play(self, path: os.PathLike) -> None:
        """Play a sound file into the virtual microphone and wait until it has been played."""
        subprocess.run(["paplay", f"--device={SINK}", str(path)], env=self.env, check=True,
                       timeout=120, stdin=subprocess.DEVNULL)

    @contextlib.contextmanager
    def playing(self, path: os.PathLike) -> Iterator[subprocess.Popen]:
        """Play a sound file in the background for the duration of the ``with`` block."""
        proc = subprocess.Popen(["paplay", f"--device={SINK}", str(path)], env=self.env,
                                stdin=subprocess.DEVNULL)
        self.players.append(proc)
        # Playing has begun once the server lists the stream.
        wait_until(lambda: proc.poll() is not None
                   or self.pactl("list", "short", "sink-inputs").strip(),
                   START_TIMEOUT, "paplay to connect")
        try:
            yield proc
        finally:
            _stop_process(proc)
            if proc in self.players:
                self.players.remove(proc)


def _pulse_prerequisites() -> Optional[str]:
    missing = [t for t in PulseServer.TOOLS if shutil.which(t) is None]
    if missing:
        return (f"PulseAudio tools missing ({', '.join(missing)}): "
                "apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    from monitor.sources.microphone import portaudio_problem

    return portaudio_problem()


def rescan_portaudio() -> None:
    """Make PortAudio see the current devices (its list is fixed when it initialises)."""
    from monitor.sources.microphone import rescan_devices

    rescan_devices()


def pulse_device_present() -> bool:
    from monitor.sources.microphone import list_devices

    return any(d["name"] == "pulse" for d in list_devices())


@pytest.fixture(scope="session")
def _pulse_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    reason = _pulse_prerequisites()
    if reason:
        yield reason
        return
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        yield f"{exc}"
        return
    # Clients in this process (libpulse inside the ALSA plugin inside PortAudio) and every
    # subprocess find the private server through PULSE_SERVER.
    saved = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = server.env["PULSE_SERVER"]
    try:
        yield server
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = saved
        with contextlib.suppress(Exception):
            rescan_portaudio()  # forget the device that is gone


@pytest.fixture
def pulse_mic(_pulse_session: object) -> PulseServer:
    """The running virtual microphone (restarted first if an earlier test killed it)."""
    if isinstance(_pulse_session, str):
        unavailable(f"no PulseAudio virtual microphone: {_pulse_session}")
    server: PulseServer = _pulse_session
    if not server.running:
        server.start()
    rescan_portaudio()
    if not pulse_device_present():
        unavailable("PortAudio has no ALSA 'pulse' device: apt-get install libasound2-plugins")
    return server


@pytest.fixture(scope="session")
def qapp_args(pytestconfig: pytest.Config) -> list[str]:
    """pytest-qt's QApplication arguments: its default, plus ``-platform`` when
    ``SPECTROMON_TEST_QT_PLATFORM`` asks for one."""
    args = [pytestconfig.getini("qt_qapp_name")]
    platform = os.environ.get("SPECTROMON_TEST_QT_PLATFORM")
    return args + ["-platform", platform] if platform else args


@pytest.fixture(autouse=True)
def _focus_new_windows_like_a_window_manager(request: pytest.FixtureRequest) -> None:
    """On Xvfb there is no window manager, so a window that is shown never becomes active and
    window shortcuts (Space, F11) never fire. A desktop's window manager activates a newly
    mapped window; with ``SPECTROMON_TEST_QT_PLATFORM`` set, do what it would (and check that
    the requested platform is the one in use)."""
    platform = os.environ.get("SPECTROMON_TEST_QT_PLATFORM")
    if not platform:
        return
    qapp = request.getfixturevalue("qapp")
    assert qapp.platformName() == platform, f"Qt runs on {qapp.platformName()}, not {platform}"
    if getattr(qapp, "_spectromon_focus_filter", None) is None:
        from PyQt6 import QtCore

        class FocusOnShow(QtCore.QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt API
                if (event.type() == QtCore.QEvent.Type.Show and obj.isWidgetType()
                        and obj.isWindow()):
                    obj.activateWindow()
                return False

        qapp._spectromon_focus_filter = FocusOnShow()
        qapp.installEventFilter(qapp._spectromon_focus_filter)


# --------------------------------------------------------------------------------------------
# Xvfb
# --------------------------------------------------------------------------------------------

class XServer:
    """A running Xvfb. ``display`` is like ':3'."""

    def __init__(self, proc: subprocess.Popen, display: str) -> None:
        self.proc = proc
        self.display = display

    def env(self, **extra: str) -> dict:
        """Environment for a Qt subprocess drawing on this server through the xcb platform."""
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", **extra)
        return env


@pytest.fixture(scope="session")
def _xvfb_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if shutil.which("Xvfb") is None:
        yield "Xvfb is not installed: apt-get install xvfb"
        return
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    # -displayfd: Xvfb picks a free display number itself and writes it to the pipe once it
    # accepts connections; that is both the choice of display and the readiness signal.
    r, w = os.pipe()
    with open(log, "wb") as out:
        proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x1024x24",
                                 "-nolisten", "tcp"], pass_fds=(w,), stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_us)
    os.close(w)
    number = b""
    deadline = time.monotonic() + START_TIMEOUT
    with os.fdopen(r, "rb", buffering=0) as pipe:
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], 0.5)
            if ready:
                chunk = pipe.read(16)
                if not chunk:
                    break  # Xvfb closed the pipe: it exited
                number += chunk
    if not number.strip().isdigit():
        _stop_process(proc)
        yield "Xvfb did not start: " + log.read_text(errors="replace").strip()[-300:]
        return
    server = XServer(proc, f":{int(number)}")
    try:
        yield server
    finally:
        _stop_process(proc)


@pytest.fixture
def xvfb(_xvfb_session: object) -> XServer:
    """A real X server for GUI subprocesses (use ``xvfb.env()``)."""
    if isinstance(_xvfb_session, str):
        unavailable(_xvfb_session)
    assert _xvfb_session.proc.poll() is None, "Xvfb exited during the session"
    return _xvfb_session
