"""The command line's network options (run options: not settings, never saved)."""

from __future__ import annotations

import argparse

from monitor.errors import ParameterError
from monitor.network.broker import PASSWORD_ENV, Broker, broker_from_options, check_node_name

__all__ = ["add_network_options", "check_network_options", "broker_of"]


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--publish``, ``--subscribe`` and the login options to ``parser``."""
    g = parser.add_argument_group("network (MQTT)")
    g.add_argument("--publish", metavar="mqtt://HOST[:PORT]/PREFIX",
                   help="with --headless: publish this node's columns, levels, labels, events "
                        "and status under PREFIX/NODE/")
    g.add_argument("--node", metavar="NAME", help="this node's name under the prefix")
    g.add_argument("--publish-audio", dest="publish_audio", action="store_true",
                   help="also publish the analysed audio (int16 mono; ~96 kB/s at 48 kHz)")
    g.add_argument("--subscribe", metavar="mqtt://HOST[:PORT]/PREFIX",
                   help="show every node publishing under PREFIX (with --headless: one JSON "
                        "line per status, event and --interval)")
    g.add_argument("--mqtt-user", dest="mqtt_user", metavar="USER",
                   help=f"broker user name; the password comes from ${PASSWORD_ENV} or "
                        f"--mqtt-password-file, never the command line")
    g.add_argument("--mqtt-password-file", dest="mqtt_password_file", metavar="FILE",
                   help="file whose first line is the broker password")
    # Named so that argparse never takes "--mqtt-password SECRET" for an abbreviation of
    # --mqtt-password-file (and then prints the secret in "cannot read SECRET").
    g.add_argument("--mqtt-password", action=_RefusePassword, help=argparse.SUPPRESS)
    g.add_argument("--mqtt-tls", dest="mqtt_tls", metavar="CA_FILE",
                   help="TLS to the broker, its certificate checked against CA_FILE")


class _RefusePassword(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(f"the MQTT password is never given on the command line (other users see "
                     f"it): set ${PASSWORD_ENV} or use --mqtt-password-file FILE")


def broker_of(ns: argparse.Namespace, url: str) -> Broker:
    return broker_from_options(url, getattr(ns, "mqtt_user", None),
                               getattr(ns, "mqtt_password_file", None),
                               getattr(ns, "mqtt_tls", None))


def check_network_options(ns: argparse.Namespace) -> None:
    """Raise :class:`ParameterError` (one line) for options that do not go together."""
    publish, subscribe = getattr(ns, "publish", None), getattr(ns, "subscribe", None)
    if publish and subscribe:
        raise ParameterError("--publish and --subscribe exclude each other")
    if publish:
        if not getattr(ns, "headless", False):
            raise ParameterError("--publish needs --headless")
        check_node_name(getattr(ns, "node", None))
        broker_of(ns, publish)
    else:
        for name in ("node", "publish_audio"):
            if getattr(ns, name, None):
                raise ParameterError(f"--{name.replace('_', '-')} needs --publish")
    if subscribe:
        broker_of(ns, subscribe)
    if not (publish or subscribe):
        for name in ("mqtt_user", "mqtt_password_file", "mqtt_tls"):
            if getattr(ns, name, None):
                raise ParameterError(f"--{name.replace('_', '-')} needs --publish or --subscribe")
