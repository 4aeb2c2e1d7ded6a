"""Command line: argparse → Settings, then the GUI or the headless runner.

Every error the user can cause ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Optional, Sequence

from monitor.settings import (COLORMAPS, NORMALIZATIONS, SCALES, WINDOWS, ParameterError, Settings,
                              parse_db_range)

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option maps onto a :class:`Settings` field or a run option."""
    p = _Parser(
        prog=PROG, argument_default=argparse.SUPPRESS,
        description="Real-time spectrogram monitor: live waterfall, spectrum, scope, level meters "
                    "and a sound-event classifier, from a microphone, a file or a generator.",
        epilog="Settings changed in the window persist between runs; options given here override "
               "them for this run. Exit code 2 means bad input (the message says which).")
    src = p.add_argument_group("input")
    src.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    src.add_argument("--device", type=_device, metavar="NAME_OR_INDEX",
                     help="input device (index, or part of its name; default: system default)")
    src.add_argument("--samplerate", type=float, metavar="HZ", help="sample rate (default: device's)")
    src.add_argument("--channels", type=int, metavar="N", help="channels to open (default: up to 2)")
    src.add_argument("--channel", type=int, metavar="N", help="analyse channel N (1-based; default: mono mix)")
    src.add_argument("--blocksize", type=int, metavar="FRAMES", help="frames per audio callback (0: automatic)")
    src.add_argument("--latency", type=_latency, metavar="low|high|SECONDS", help="input latency (default: low)")
    src.add_argument("--input", metavar="FILE", help="analyse an audio file (WAV, FLAC, OGG, MP3, ...)")
    src.add_argument("--loop", action="store_true", help="with --input: loop the file")
    src.add_argument("--generator", metavar="SPEC",
                     help="synthetic input: sine:1000, sine:1000@-6, sweep:20-20000:10, "
                          "tones:440,880@-12, white, pink, silence (levels in dBFS)")
    src.add_argument("--no-realtime", dest="realtime", action="store_false",
                     help="with --input: process as fast as possible and stop at the end "
                          "(t and --interval are then seconds of audio)")
    an = p.add_argument_group("analysis")
    an.add_argument("--n-fft", dest="n_fft", type=int, metavar="N", help="FFT/window length, power of two 256..16384 (default 2048)")
    an.add_argument("--hop", type=int, metavar="N", help="samples between columns (default n_fft/4: 75%% overlap)")
    an.add_argument("--window", choices=WINDOWS, help="analysis window (default hann)")
    an.add_argument("--n-mels", dest="n_mels", type=int, metavar="N", help="mel bands (default 128)")
    an.add_argument("--fmin", type=float, metavar="HZ", help="lowest frequency (default 0)")
    an.add_argument("--fmax", type=float, metavar="HZ", help="highest frequency (default Nyquist)")
    an.add_argument("--htk", action="store_true", help="HTK mel formula instead of Slaney")
    an.add_argument("--normalize", choices=NORMALIZATIONS, help="peak or RMS normalisation before analysis (default none)")
    an.add_argument("--normalize-target", dest="normalize_target", type=float, metavar="DBFS",
                    help="normalisation target (default -1 peak, -20 RMS)")
    disp = p.add_argument_group("display")
    disp.add_argument("--scale", choices=SCALES, help="frequency axis (default log)")
    disp.add_argument("--db-range", dest="db_range", metavar="FLOOR:CEIL", help="colour range in dB (default -100:0)")
    disp.add_argument("--colormap", choices=COLORMAPS, help="colour map (default inferno)")
    disp.add_argument("--history", type=float, metavar="SECONDS", help="waterfall length (default 10)")
    disp.add_argument("--vertical", dest="orientation", action="store_const", const="vertical",
                      help="vertical waterfall (newest row at the top)")
    disp.add_argument("--fps", type=float, help="display refresh rate (default 60)")
    disp.add_argument("--reset-settings", action="store_true", help="forget the settings saved by the window")
    cl = p.add_argument_group("classifier")
    cl.add_argument("--no-classifier", dest="classifier", action="store_false", help="turn the classifier off")
    cl.add_argument("--model", metavar="PATH.onnx", help="another YAMNet-compatible ONNX model")
    cl.add_argument("--labels", metavar="PATH.csv", help="its class map (index,mid,display_name)")
    cl.add_argument("--aggregate", choices=("mean", "max"), help="smoothing of patch scores (default mean)")
    cl.add_argument("--smooth", dest="smooth_patches", type=int, metavar="N", help="patches smoothed over, 0.48 s each (default 3)")
    cl.add_argument("--threshold", type=float, help="hide labels scoring under this (default 0.1)")
    cl.add_argument("--specific-first", dest="specific_first", action="store_true",
                    help="order nested AudioSet labels most specific first (Bark before Dog before Animal)")
    cl.add_argument("--watch", type=_watch, action="append", metavar="LABEL[@THRESHOLD]",
                    help="alert when LABEL scores over THRESHOLD (default 0.3); repeatable")
    cl.add_argument("--events-csv", dest="events_csv", metavar="OUT.csv", help="write the event log (headless)")
    run = p.add_argument_group("run")
    run.add_argument("--headless", action="store_true",
                     help="no window: print one JSON object per line (t, rms_dbfs, peak_dbfs, peak_hz, "
                          "dropped_frames, ...)")
    run.add_argument("--interval", type=float, metavar="SECONDS", help="headless output interval (default 0.5)")
    run.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    run.add_argument("--save-features", dest="save_features", metavar="OUT.npz",
                     help="save mel_db, power_db, frame_times, ... at the end (headless)")
    run.add_argument("--screenshot", metavar="OUT.png", help="with --duration: save the window and exit")
    run.add_argument("--record", metavar="OUT.wav", help="record the incoming audio while monitoring")
    return p


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
    if "n_fft" in given and "hop" not in given:
        given["hop"] = max(1, given["n_fft"] // 4)  # keep the default 75% overlap
    if "watch" in given:
        given["watch"] = tuple(given["watch"])
    return given, ns


def _opt(ns: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(ns, name, default)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _check_run_options(ns: argparse.Namespace) -> None:
    duration, interval = _opt(ns, "duration"), _opt(ns, "interval")
    if duration is not None and not (0 < duration < 1e7):
        raise ParameterError(f"--duration must be positive seconds, got {duration:g}")
    if interval is not None and not (0.01 <= interval <= 3600):
        raise ParameterError(f"--interval must be from 0.01 to 3600 seconds, got {interval:g}")
    if _opt(ns, "screenshot") and (duration is None or _opt(ns, "headless")):
        raise ParameterError("--screenshot needs --duration SECONDS and the window (not --headless)")
    if _opt(ns, "loop") and not _opt(ns, "input"):
        raise ParameterError("--loop needs --input FILE")
    if _opt(ns, "loop") and _opt(ns, "realtime", True) is False:
        raise ParameterError("--loop and --no-realtime exclude each other (the file would never end)")
    for name in ("save_features", "events_csv"):
        if _opt(ns, name) and not _opt(ns, "headless"):
            raise ParameterError(f"--{name.replace('_', '-')} needs --headless")
    # Output paths are checked now, not after an hour of monitoring.
    for name in ("save_features", "events_csv", "screenshot", "record"):
        path = _opt(ns, name)
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise ParameterError(f"--{name.replace('_', '-')}: cannot write {path} "
                                     f"(no such folder, or not writable)")


def _list_devices() -> int:
    from monitor.sources.microphone import list_devices, portaudio_problem

    problem = portaudio_problem()
    if problem:
        return _fail(problem)
    devices = list_devices()
    if not devices:
        print("no input devices (PortAudio sees none)", file=sys.stderr)
    for d in devices:
        print(f"{d['index']:3d}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
              f"{d['samplerate']:g} Hz)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python main.py`` and ``spectromon``; returns the exit code."""
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
        _check_run_options(ns)
        if _opt(ns, "list_devices"):
            return _list_devices()
        if not given.get("classifier", True):
            ignored = [f"--{k}" for k in ("model", "labels", "watch", "threshold", "aggregate")
                       if k in given] + (["--events-csv"] if _opt(ns, "events_csv") else [])
            if ignored:
                print(f"{PROG}: note: --no-classifier: ignoring {', '.join(ignored)}", file=sys.stderr)
        if _opt(ns, "headless"):
            if _opt(ns, "reset_settings"):
                from monitor.gui.settings_store import SettingsStore

                SettingsStore().clear()  # the window's saved settings; headless never reads them
            settings = Settings(**given).validate()
            from monitor.headless import run_headless

            return run_headless(settings, ns)
        from monitor.gui.main_window import run_gui

        return run_gui(given, ns)
    except ParameterError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def dumps(obj: dict) -> str:
    """One compact JSON line."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)
