"""Command line: argparse → Settings, then the GUI or the headless runner.

Every error the user can cause ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence

from monitor import __version__
from monitor.errors import ParameterError
from monitor.outputs import check_output_options, ensure_standard_fds
from monitor.audio_file import file_format
from monitor.session import fit_settings
from monitor.settings import FIELDS, Field, Settings, parse_db_range

__all__ = ["main", "build_parser", "parse"]

PROG = "spectromon"
EXIT_USAGE = 2


def _device(text: str) -> Any:
    return int(text) if text.strip().isdigit() else text


def _latency(text: str) -> Any:
    if text in ("low", "high"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be low, high or seconds, got {text!r}") from None


def _watch(text: str) -> tuple:
    label, _, thr = text.rpartition("@")
    if not label:
        return (text, 0.3)
    try:
        return (label, float(thr))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be LABEL[@THRESHOLD], got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


_GROUPS = {"source": "input", "analysis": "analysis", "display": "display",
           "measurement": "measurement", "classifier": "classifier"}
_KIND_TYPES = {"int": int, "float": float, "device": _device, "latency": _latency, "watch": _watch}


def _add_field(group: argparse._ArgumentGroup, f: Field) -> None:
    """One option from one row of the settings table."""
    kw: dict[str, Any] = {"dest": f.name, "help": f.help.replace("%", "%%")}
    if f.action:
        kw["action"] = f.action
        if f.action == "store_const":
            kw["const"] = f.const
    else:
        if f.choices and f.kind == "str":
            kw["choices"] = f.choices
        else:
            kw["type"] = _KIND_TYPES.get(f.kind, _text)
        if f.metavar:
            kw["metavar"] = f.metavar
        if f.kind == "watch":
            kw["action"] = "append"
    group.add_argument(f.flag, **kw)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one option per row of :data:`monitor.settings.FIELDS` that has a
    flag, plus the run options."""
    p = _Parser(
        prog=PROG, argument_default=argparse.SUPPRESS,
        description="Real-time spectrogram monitor: live waterfall, spectrum, scope, level meters "
                    "and a sound-event classifier, from a microphone, a file or a generator.",
        epilog="Settings changed in the window persist between runs; options given here override "
               "them for this run. Exit code 2 means bad input (the message says which).")
    groups = {name: p.add_argument_group(title) for name, title in _GROUPS.items()}
    groups["source"].add_argument("--list-devices", action="store_true",
                                  help="list input devices and exit")
    for f in FIELDS:
        if f.flag:
            _add_field(groups[f.group], f)
        if f.name == "scale":
            groups["display"].add_argument("--db-range", dest="db_range", metavar="FLOOR:CEIL",
                                           help="colour range in dB (default -100:0)")
    groups["display"].add_argument("--reset-settings", action="store_true",
                                   help="forget the settings saved by the window")
    groups["classifier"].add_argument("--events-csv", dest="events_csv", metavar="OUT.csv",
                                      type=_text, help="append each event to this new file as "
                                                       "it ends (headless)")
    groups["classifier"].add_argument("--save-clips", dest="save_clips", metavar="DIR",
                                      type=_text,
                                      help="save a clip (pre-roll + until --clip-after s after "
                                           "the event) for each watch-list alert; SIGUSR1 and "
                                           "Ctrl+Shift+S save the pre-roll here too")
    run = p.add_argument_group("run")
    run.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    run.add_argument("--headless", action="store_true",
                     help="no window: print one JSON object per line (t, rms_dbfs, peak_dbfs, peak_hz, "
                          "dropped_frames, problems, ...)")
    run.add_argument("--interval", type=float, metavar="SECONDS", help="headless output interval (default 0.5)")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    run.add_argument("--save-features", dest="save_features", metavar="OUT.npz", type=_text,
                     help="save mel_db, power_db, frame_times, ... at the end (headless)")
    run.add_argument("--screenshot", metavar="OUT.png", type=_text,
                     help="with --duration: save the window and exit")
    run.add_argument("--record", metavar="OUT.wav", type=_text,
                     help="record the incoming audio while monitoring")
    run.add_argument("--window-state", dest="window_state",
                     choices=("normal", "full-screen", "minimised", "paused"),
                     help="how the window opens: full-screen (as F11), minimised, or with the "
                          "display paused (as Space); default normal")
    run.add_argument("--measure", action="store_true",
                     help="headless: add \"measure\" (level, THD, THD+N, SINAD, SNR, noise, hum, bands, "
                          "LAeq, LCpeak, ...) to each line; see the README's Measurements")
    run.add_argument("--export-spectrum", dest="export_spectrum", metavar="OUT.csv", type=_text,
                     help="headless: at the end, write the last spectrum and its peak hold")
    run.add_argument("--export-log", dest="export_log", metavar="OUT.csv", type=_text,
                     help="headless: at the end, write every measurement (implies --measure)")
    run.add_argument("--export-spectrogram", dest="export_spectrogram", metavar="OUT.npz",
                     type=_text,
                     help="headless: at the end, write the last --history seconds of spectrogram")
    run.add_argument("--session", metavar="DIR", type=_text,
                     help="write the analysis to DIR as it goes (new or empty folder; "
                          "crash-safe; see README 'Long sessions')")
    run.add_argument("--open", metavar="DIR", type=_text,
                     help="browse a session saved with --session (no input)")
    run.add_argument("--snapshot-every", dest="snapshot_every", metavar="PERIOD",
                     help="save a PNG of the waterfall every PERIOD (10m, 30s, 1h) of stream")
    run.add_argument("--snapshot-dir", dest="snapshot_dir", metavar="DIR", type=_text,
                     help="folder for --snapshot-every")
    run.add_argument("--level-log", dest="level_log", metavar="FILE.csv", type=_text,
                     help="per-minute LAeq, LAFmax, LCpeak (and flat) levels to a new CSV, "
                          "a row appended each minute")
    from monitor.network.options import add_network_options

    add_network_options(p)
    return p


def _text(text: str) -> str:
    if not text.strip() or "\n" in text or "\0" in text:
        raise argparse.ArgumentTypeError(f"must be a non-empty single line, got {text!r}")
    return text


_SETTINGS_FIELDS = {f for f in Settings.__dataclass_fields__}


def parse(argv: Optional[Sequence[str]] = None) -> tuple[dict, argparse.Namespace]:
    """Parse ``argv`` into (the Settings fields given explicitly, the whole namespace).

    Only explicitly given options are returned as overrides, so that the GUI can lay them
    over the persisted settings.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # "--db-range -80:-10" would read the value as an option; glue it on as "--db-range=-80:-10".
    for i, arg in enumerate(argv[:-1]):
        if arg == "--db-range" and argv[i + 1].startswith("-"):
            argv[i:i + 2] = [f"--db-range={argv[i + 1]}"]
            break
    ns = build_parser().parse_args(argv)
    given = {k: v for k, v in vars(ns).items() if k in _SETTINGS_FIELDS}
    if "db_range" in vars(ns):
        given["db_floor"], given["db_ceil"] = parse_db_range(ns.db_range)
    if "watch" in given:
        given["watch"] = tuple(given["watch"])
    return given, ns


def _opt(ns: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(ns, name, default)


def one_line(message: str) -> str:
    """``message`` as one line: a newline in a path or a library's message must not split it."""
    return " ".join(message.replace("\r", "\\r").replace("\n", "\\n ").split())


def _fail(message: str) -> int:
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return EXIT_USAGE


def _check_run_options(ns: argparse.Namespace) -> None:
    screenshot = _opt(ns, "screenshot")
    if screenshot and os.path.splitext(screenshot)[1].lower() not in (".png", ".jpg", ".jpeg",
                                                                          ".bmp"):
        raise ParameterError(f"--screenshot: {screenshot!r} must end in .png, .jpg or .bmp")
    duration, interval = _opt(ns, "duration"), _opt(ns, "interval")
    if duration is not None and not (0 < duration < 1e7):
        raise ParameterError(f"--duration must be positive seconds, got {duration:g}")
    if interval is not None and not (0.01 <= interval <= 3600):
        raise ParameterError(f"--interval must be from 0.01 to 3600 seconds, got {interval:g}")
    if _opt(ns, "screenshot") and (duration is None or _opt(ns, "headless")):
        raise ParameterError("--screenshot needs --duration SECONDS and the window (not --headless)")
    if _opt(ns, "input"):
        # A file plays at its own rate and channel count: options of a device do not apply.
        device_only = [f"--{k}" for k in ("device", "samplerate", "channels", "latency",
                                            "blocksize") if _opt(ns, k) is not None]
        if device_only:
            verb = "does" if len(device_only) == 1 else "do"
            raise ParameterError(f"{' and '.join(device_only)} {verb} not apply to --input "
                                 f"(a file plays at its own rate and channels)")
    for name in ("save_features", "events_csv", "measure", "export_spectrum", "export_log",
                 "export_spectrogram"):
        if _opt(ns, name) and not _opt(ns, "headless"):
            raise ParameterError(f"--{name.replace('_', '-')} needs --headless")
    clips = _opt(ns, "save_clips")
    if clips and not (os.path.isdir(clips) and os.access(clips, os.W_OK)):
        raise ParameterError(f"--save-clips: {clips} is not a writable folder")
    if clips and _opt(ns, "realtime", True) is False:
        raise ParameterError("--save-clips needs real time (not --no-realtime)")
    # Output paths are checked now, not after an hour of monitoring: every one is created
    # exclusively later, so an existing name (file, link, FIFO) is refused here already.
    from monitor.run_outputs import check_options

    check_options(ns)  # --session, --open, --snapshot-*, --level-log
    check_output_options({f"--{n.replace('_', '-')}": _opt(ns, n)
                          for n in ("save_features", "events_csv", "screenshot", "record",
                                    "export_spectrum", "export_log", "export_spectrogram",
                                    "level_log")})
    if _opt(ns, "record"):
        file_format(_opt(ns, "record"))
    from monitor.network.options import check_network_options

    check_network_options(ns)


def _list_devices() -> int:
    from monitor.sources.microphone import list_devices, portaudio_problem

    problem = portaudio_problem()
    if problem:
        return _fail(problem)
    devices = list_devices()
    if not devices:
        print("no input devices (PortAudio sees none)", file=sys.stderr)
    default = _default_input_index()
    for d in devices:
        mark = "*" if d["index"] == default else " "
        print(f"{mark}{d['index']:3d}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
              f"{d['samplerate']:g} Hz)" + ("  [default input]" if mark == "*" else ""))
    return 0


def _default_input_index() -> Optional[int]:
    """PortAudio's default input device index, None when it has none."""
    try:
        import sounddevice as sd

        index = sd.query_devices(kind="input")["index"]
        return int(index) if index is not None and index >= 0 else None
    except Exception:  # noqa: BLE001 - only a mark on a list: never a failure
        return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python main.py`` and ``spectromon``; returns the exit code."""
    ensure_standard_fds()
    code = _main(argv)
    _exit_now_if_audio_stuck(code)
    return code


def _exit_now_if_audio_stuck(code: int) -> None:
    """Closing must never hang: with an input stream stuck in a dead audio server, PortAudio's
    atexit teardown would block forever, so leave without it (files are closed by then)."""
    mic = sys.modules.get("monitor.sources.microphone")
    if mic is not None and mic.abandoned_streams():
        print("spectromon: the audio system stopped answering; exiting without closing it",
              file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        given, ns = parse(argv)
        fit_settings(given, strict=given)  # the command line's own values, before anything runs
        _check_run_options(ns)
        if _opt(ns, "list_devices"):
            return _list_devices()
        if _opt(ns, "open"):
            from monitor.gui.session_browser import run_browser

            return run_browser(ns.open, ns)
        if not given.get("classifier", True):
            ignored = [f"--{k}" for k in ("model", "labels", "watch", "threshold", "aggregate")
                       if k in given] + (["--events-csv"] if _opt(ns, "events_csv") else [])
            if ignored:
                print(f"{PROG}: note: --no-classifier: ignoring {', '.join(ignored)}", file=sys.stderr)
        if _opt(ns, "subscribe"):
            from monitor.subscribe import run_subscriber

            return run_subscriber(ns)
        if _opt(ns, "headless"):
            from monitor.headless import run_headless

            return run_headless(given, ns, saved=_saved_settings(ns))
        from monitor.gui.app import run_gui

        return run_gui(given, ns)
    except ParameterError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _saved_settings(ns: argparse.Namespace) -> dict:
    """The window's saved choices (after ``--reset-settings``, none)."""
    from monitor.settings_store import SettingsStore

    store = SettingsStore()
    if _opt(ns, "reset_settings"):
        store.clear()
    return store.load()
