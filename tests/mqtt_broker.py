"""A real Mosquitto broker for the MQTT tests, on 127.0.0.1 only, on a free port.

``mqtt_broker``
    Anonymous access (``allow_anonymous true``), no persistence: a restart forgets retained
    messages, the harder case for the nodes (they must publish their status again).
``mqtt_auth_broker``
    Password file with user ``node`` / password :data:`AUTH_PASSWORD`; anonymous refused.
``mqtt_tls_broker``
    TLS only, with a self-signed certificate for 127.0.0.1 made by ``openssl`` (its own CA,
    :attr:`Mosquitto.ca`).

Import the fixtures into a test module: ``from mqtt_broker import mqtt_broker``.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Iterator, Optional

import pytest

from conftest import START_TIMEOUT, _die_with_us, _stop_process, unavailable, wait_until

__all__ = ["Mosquitto", "mqtt_broker", "mqtt_auth_broker", "mqtt_tls_broker", "make_certificate",
           "AUTH_USER", "AUTH_PASSWORD"]

AUTH_USER, AUTH_PASSWORD = "node", "s3cret-for-tests"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Mosquitto:
    """One mosquitto process with its own config in ``root``; restartable on the same port."""

    def __init__(self, root: Path, password: Optional[tuple[str, str]] = None,
                 tls: bool = False) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen] = None
        # "user": started as root, mosquitto would become user "mosquitto" and could no longer
        # read its password file in our private temporary folder; as anyone else it is ignored.
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 f"user {getpass.getuser()}",
                 "log_dest stderr", "log_type error", "log_type warning"]
        if password is None:
            lines.append("allow_anonymous true")
        else:
            pw = root / "passwd"
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), *password], check=True,
                           capture_output=True, timeout=30)
            pw.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {pw}"]
        self.ca: Optional[Path] = None
        if tls:
            self.ca = make_certificate(root, "broker")
            lines += [f"certfile {self.ca}", f"keyfile {root / 'broker.key'}"]
        self.config = root / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = root / "mosquitto.log"

    def url(self, prefix: str) -> str:
        return f"mqtt://127.0.0.1:{self.port}/{prefix}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", str(self.config)], stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_us)
        wait_until(lambda: _accepts(self.port) or self.proc.poll() is not None, START_TIMEOUT,
                   "mosquitto to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-500:]}")

    def stop(self) -> None:
        _stop_process(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def make_certificate(root: Path, name: str) -> Path:
    """A self-signed certificate for 127.0.0.1 (``NAME.crt``, key ``NAME.key``): the broker's
    own and its CA at once. Returns the certificate's path."""
    crt, key = root / f"{name}.crt", root / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True,
                   timeout=60)
    return crt


def _broker(tmp_path: Path, password=None, tls: bool = False) -> Iterator[Mosquitto]:
    if shutil.which("mosquitto") is None or (password and shutil.which("mosquitto_passwd") is None):
        unavailable("no mosquitto broker: apt-get install mosquitto")
    if tls and shutil.which("openssl") is None:
        unavailable("no openssl to make the test broker's certificate")
    broker = Mosquitto(tmp_path, password, tls)
    try:
        broker.start()
    except (RuntimeError, OSError) as exc:
        unavailable(f"mosquitto did not start: {exc}")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running anonymous Mosquitto on 127.0.0.1 (a new one per test)."""
    yield from _broker(tmp_path / "mosquitto")


@pytest.fixture
def mqtt_auth_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running Mosquitto that wants user :data:`AUTH_USER` and :data:`AUTH_PASSWORD`."""
    yield from _broker(tmp_path / "mosquitto-auth", (AUTH_USER, AUTH_PASSWORD))


@pytest.fixture
def mqtt_tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running anonymous Mosquitto speaking TLS only, its certificate :attr:`Mosquitto.ca`."""
    yield from _broker(tmp_path / "mosquitto-tls", tls=True)
