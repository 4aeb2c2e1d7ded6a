"""Where the broker is and how to log in: ``mqtt://HOST[:PORT]/PREFIX`` and the credentials.

The password never comes from the command line (other users see it in ``ps``): it is read from
the environment variable :data:`PASSWORD_ENV` or from the first line of a file.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Mapping, Optional

from monitor.errors import ParameterError

__all__ = ["Broker", "parse_url", "broker_from_options", "check_node_name", "make_client",
           "PASSWORD_ENV", "DEFAULT_PORT", "TLS_PORT"]

PASSWORD_ENV = "SPECTROMON_MQTT_PASSWORD"
DEFAULT_PORT, TLS_PORT = 1883, 8883
KEEPALIVE = 15  # seconds: a dead node's last will is sent by the broker 1.5 x this after
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Broker:
    """A broker address, topic prefix and login.

    Attributes
    ----------
    host : str
    port : int
    prefix : str
        Topic prefix, without a trailing ``/`` (``"site/floor1"``).
    user, password : str or None
    tls_ca : str or None
        CA certificate file; with ``tls`` the server's certificate is checked against it
        (None: the system's CAs).
    tls : bool
    """

    host: str
    port: int
    prefix: str
    user: Optional[str] = None
    password: Optional[str] = None
    tls_ca: Optional[str] = None
    tls: bool = False

    def topic(self, node: str, kind: str) -> str:
        return f"{self.prefix}/{node}/{kind}"

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"


def parse_url(url: str) -> tuple[str, int, str, bool]:
    """``mqtt://HOST[:PORT]/PREFIX`` (or ``mqtts://``, TLS) -> ``(host, port, prefix, tls)``.

    Raises :class:`ParameterError` (one line) for anything else.
    """
    bad = f"MQTT URL must be mqtt://HOST[:PORT]/PREFIX, got {url!r}"
    no_prefix = (f"MQTT URL needs a topic prefix without empty levels, + or # "
                 f"(mqtt://HOST/PREFIX), got {url!r}")
    if "#" in url or "+" in url:  # wildcards; urlsplit would take "#..." for a fragment
        raise ParameterError(no_prefix)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise ParameterError(bad) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.query:
        raise ParameterError(bad)
    if parts.username or parts.password:
        raise ParameterError("MQTT URL: give the user with --mqtt-user and the password in "
                             f"${PASSWORD_ENV} or --mqtt-password-file, not in the URL")
    prefix = parts.path.strip("/")
    if not prefix or any(not seg for seg in prefix.split("/")):
        raise ParameterError(no_prefix)
    tls = parts.scheme == "mqtts"
    return parts.hostname, port or (TLS_PORT if tls else DEFAULT_PORT), prefix, tls


def check_node_name(name: Optional[str]) -> str:
    """A node name fit for one topic level: letters, digits, ``_ . -``, at most 64."""
    if name is None:
        raise ParameterError("--publish needs --node NAME (the name this node publishes under)")
    if not _NAME.match(name):
        raise ParameterError(f"--node must be 1 to 64 letters, digits, '_', '.' or '-', "
                             f"got {name!r}")
    return name


def broker_from_options(url: str, user: Optional[str] = None,
                        password_file: Optional[str] = None, tls_ca: Optional[str] = None,
                        environ: Mapping[str, str] = os.environ) -> Broker:
    """The :class:`Broker` of the command line's options; raises :class:`ParameterError`."""
    host, port, prefix, tls = parse_url(url)
    password = None
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ParameterError(f"--mqtt-password-file: cannot read {password_file} "
                                 f"({getattr(exc, 'strerror', None) or exc})") from None
    elif environ.get(PASSWORD_ENV):
        password = environ[PASSWORD_ENV]
    if password is not None and not user:
        raise ParameterError(f"an MQTT password (${PASSWORD_ENV} or --mqtt-password-file) "
                             f"needs --mqtt-user")
    if tls_ca is not None:
        if not os.path.isfile(tls_ca):
            raise ParameterError(f"--mqtt-tls: no such CA file {tls_ca}")
        tls = True
        if port == DEFAULT_PORT and ":1883" not in url:
            port = TLS_PORT
    return Broker(host, port, prefix, user or None, password, tls_ca, tls)


def make_client(broker: Broker, client_id: str):
    """A paho-mqtt 2 client set up for ``broker`` (not connected), reconnecting by itself
    1 s to 8 s after a loss."""
    import ssl

    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311)
    if broker.user:
        client.username_pw_set(broker.user, broker.password)
    if broker.tls:
        try:
            context = ssl.create_default_context(cafile=broker.tls_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ParameterError(f"--mqtt-tls: cannot use {broker.tls_ca} ({exc})") from None
        client.tls_set_context(context)
    client.reconnect_delay_set(min_delay=1, max_delay=8)
    return client
