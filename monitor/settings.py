"""The monitor's settings: one table, and the immutable :class:`Settings` made from it.

Each setting is one :class:`Field` row in :data:`FIELDS`: its type, range, default,
command-line flag, help text and widget label. The command line (``monitor.cli``), the
window's widget ranges (``monitor.gui.controls``), the saved-settings check
(``monitor.settings_store``) and :meth:`Settings.validate` all read this table, so adding a
setting is one row plus its effect.

Rules that need the source's sample rate (Nyquist, empty mel filters) are not here: they live
in ``monitor.session``, which knows the rate. This module needs nothing but the standard library
and :mod:`monitor.errors`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional

from monitor.errors import ParameterError

__all__ = [
    "ParameterError", "Field", "FIELDS", "Settings", "field_spec", "WINDOWS", "SCALES",
    "COLORMAPS", "NORMALIZATIONS", "AGGREGATIONS", "ORIENTATIONS", "N_FFT_MIN", "N_FFT_MAX",
    "SOURCE_FIELDS", "parse_db_range", "hop_min",
]

WINDOWS = ("hann", "hamming", "blackmanharris", "rectangular")  # = monitor.dsp.windows.WINDOWS
SCALES = ("linear", "log", "mel")
COLORMAPS = ("viridis", "inferno", "magma", "plasma", "grayscale")
NORMALIZATIONS = ("none", "peak", "rms")
AGGREGATIONS = ("mean", "max")
ORIENTATIONS = ("horizontal", "vertical")
N_FFT_MIN = 256
N_FFT_MAX = 16384
# The smallest hop is n_fft / HOP_MIN_DIVISOR (98.4 % overlap). Below it the work per second of
# audio grows without bound: --n-fft 16384 --hop 4 needed 2.8 s of CPU per second of audio and
# --hop 1 grew memory at 320 MB/s, both with values that used to pass validation.
HOP_MIN_DIVISOR = 64
DB_LIMIT = 300.0  # |dB| of the colour range's ends, and its largest span
DB_MIN_SPAN = 1.0  # dB: a narrower colour range maps everything to two colours


def hop_min(n_fft: int) -> int:
    """The smallest hop allowed at ``n_fft`` (samples)."""
    return max(1, n_fft // HOP_MIN_DIVISOR)


@dataclass(frozen=True)
class Field:
    """One setting.

    Attributes
    ----------
    name : str
        The :class:`Settings` attribute.
    default : object
    kind : {'int', 'float', 'str', 'bool', 'device', 'latency', 'watch', 'any'}
    group : {'source', 'analysis', 'display', 'classifier'}
        Source fields take effect when a source is (re)opened; the others live.
    help : str
        Command-line help; also the widget's tooltip.
    label : str
        Widget label.
    lo, hi : float, optional
        Inclusive bounds of a number.
    choices : tuple, optional
        The allowed values of a string.
    optional : bool
        None is allowed (and means what ``help`` says).
    flag : str, optional
        Command-line flag; None: not on the command line.
    action : str, optional
        'store_true', 'store_false' or 'store_const' (with ``const``) for flags without value.
    metavar, unit : str
    persist : bool
        Saved by the window between runs.
    """

    name: str
    default: Any
    kind: str
    group: str
    help: str
    label: str = ""
    lo: Optional[float] = None
    hi: Optional[float] = None
    choices: Optional[tuple] = None
    optional: bool = False
    flag: Optional[str] = None
    action: Optional[str] = None
    const: Any = None
    metavar: Optional[str] = None
    unit: str = ""
    persist: bool = True
    rule: Optional[str] = None  # what a valid value is, when the range does not say it all

    def check(self, value: Any) -> None:
        """Raise :class:`ParameterError` unless ``value`` fits this field (alone)."""
        what = self.label or self.name.replace("_", " ")
        if value is None:
            _check(self.optional, f"{what} must be given")
            return
        if self.kind == "bool":
            _check(isinstance(value, bool), f"{what} must be true or false, got {value!r}")
        elif self.kind in ("int", "float"):
            ok = _is_int(value) if self.kind == "int" else _finite(value)
            unit = f" {self.unit}" if self.unit else ""
            if self.rule:
                bounds = self.rule
            elif self.lo is not None and self.hi is not None:
                bounds = f"from {self.lo:g} to {self.hi:g}{unit}"
            else:
                bounds = f"a number{unit}"
            _check(ok, f"{what} must be {'a whole number ' if self.kind == 'int' else ''}"
                       f"{bounds}, got {value!r}")
            _check((self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi),
                   f"{what} must be {bounds}, got {value:g}")
        elif self.kind == "str":
            _check(isinstance(value, str), f"{what} must be text, got {value!r}")
            if self.choices:
                _check(value in self.choices,
                       f"{what} must be one of {', '.join(self.choices)}, got {value!r}")
            else:
                _check(value != "" and "\n" not in value and "\0" not in value,
                       f"{what} must be a non-empty single line, got {value!r}")
        elif self.kind == "device":
            _check(_is_int(value) and value >= 0 or isinstance(value, str) and value.strip() != ""
                   and "\n" not in value, f"device must be an index or a name, got {value!r}")
        elif self.kind == "latency":
            if isinstance(value, str):
                _check(value in ("low", "high"),
                       f"latency must be 'low', 'high' or seconds, got {value!r}")
            else:
                _check(_finite(value) and 0 < value <= 2,
                       f"latency must be from 0 to 2 seconds, got {value!r}")
        elif self.kind == "watch":
            _check(isinstance(value, tuple) and all(
                isinstance(w, tuple) and len(w) == 2 and isinstance(w[0], str) and w[0].strip()
                and _finite(w[1]) and 0 < w[1] <= 1 for w in value),
                f"watch list must be LABEL@THRESHOLD items with thresholds in (0, 1], got {value!r}")


def _f(name: str, default: Any, kind: str, group: str, help: str, **kw: Any) -> Field:
    return Field(name, default, kind, group, help, **kw)


#: Every setting, in the order of ``--help`` and of the Controls panel.
FIELDS: tuple[Field, ...] = (
    # --- source -------------------------------------------------------------------------------
    _f("device", None, "device", "source", "input device (index, or part of its name; default: "
       "system default)", label="device", optional=True, flag="--device", metavar="NAME_OR_INDEX"),
    _f("samplerate", None, "float", "source", "sample rate (default: the device's; files keep "
       "their own)", label="sample rate", lo=1000, hi=768000, unit="Hz", optional=True,
       flag="--samplerate", metavar="HZ"),
    _f("channels", None, "int", "source", "channels to open (default: up to 2)", label="channels",
       lo=1, hi=64, optional=True, flag="--channels", metavar="N"),
    _f("channel", None, "int", "source", "analyse channel N (1-based; default: mono mix)",
       label="channel", lo=1, hi=64, optional=True, flag="--channel", metavar="N"),
    _f("blocksize", 0, "int", "source", "frames per audio callback (0: automatic)",
       label="block size", lo=0, hi=65536, unit="frames", flag="--blocksize", metavar="FRAMES"),
    _f("latency", "low", "latency", "source", "input latency (default: low)", label="latency",
       flag="--latency", metavar="low|high|SECONDS"),
    _f("input", None, "str", "source", "analyse an audio file (WAV, FLAC, OGG, MP3, ...)",
       label="file", optional=True, flag="--input", metavar="FILE", persist=False),
    _f("loop", False, "bool", "source", "with --input: loop the file", label="loop",
       flag="--loop", action="store_true", persist=False),
    _f("generator", None, "str", "source", "synthetic input: sine:1000, sine:1000@-6, "
       "sweep:20-20000:10, tones:440,880@-12, white, pink, silence (levels in dBFS)",
       label="generator", optional=True, flag="--generator", metavar="SPEC", persist=False),
    _f("preroll", 30.0, "float", "source", "seconds of audio always kept in memory for 'save "
       "the last N s' (SIGUSR1, Ctrl+Shift+S) and for clips (default 30, at most 600)",
       label="pre-roll", lo=1, hi=600, unit="seconds", flag="--preroll", metavar="SECONDS"),
    _f("realtime", True, "bool", "source", "with --input: process as fast as possible and stop "
       "at the end (t and --interval are then seconds of audio)", flag="--no-realtime",
       action="store_false", persist=False),
    # --- analysis -----------------------------------------------------------------------------
    _f("n_fft", 2048, "int", "analysis", f"FFT/window length, power of two {N_FFT_MIN}.."
       f"{N_FFT_MAX} (default 2048)", label="n_fft", lo=N_FFT_MIN, hi=N_FFT_MAX,
       unit="samples", flag="--n-fft", metavar="N",
       rule=f"a power of two from {N_FFT_MIN} to {N_FFT_MAX}"),
    _f("hop", 512, "int", "analysis", f"samples between columns, n_fft/{HOP_MIN_DIVISOR} .. n_fft "
       "(default n_fft/4: 75% overlap; follows n_fft unless set)", label="hop", lo=1,
       hi=N_FFT_MAX, unit="samples", flag="--hop", metavar="N"),
    _f("window", "hann", "str", "analysis", "analysis window (default hann)", label="window",
       choices=WINDOWS, flag="--window"),
    _f("n_mels", 128, "int", "analysis", "mel bands (default 128; lowered when a small n_fft "
       "would leave bands empty, unless given)", label="n_mels", lo=1, hi=1024,
       flag="--n-mels", metavar="N"),
    _f("fmin", 0.0, "float", "analysis", "lowest frequency (default 0)", label="fmin", lo=0,
       hi=384000, unit="Hz", flag="--fmin", metavar="HZ"),
    _f("fmax", None, "float", "analysis", "highest frequency (default Nyquist)", label="fmax",
       lo=1, hi=384000, unit="Hz", optional=True, flag="--fmax", metavar="HZ"),
    _f("htk", False, "bool", "analysis", "HTK mel formula instead of Slaney", label="HTK mel",
       flag="--htk", action="store_true"),
    _f("mel_norm", "slaney", "str", "analysis", "mel filter normalisation: 'slaney' (area) or "
       "None", label="mel norm", choices=("slaney",), optional=True),
    _f("normalize", "none", "str", "analysis", "peak or RMS normalisation before analysis "
       "(default none)", label="normalise", choices=NORMALIZATIONS, flag="--normalize"),
    _f("normalize_target", None, "float", "analysis", "normalisation target (default -1 peak, "
       "-20 RMS)", label="target", lo=-80, hi=0, unit="dBFS", optional=True,
       flag="--normalize-target", metavar="DBFS"),
    # --- display ------------------------------------------------------------------------------
    _f("scale", "log", "str", "display", "frequency axis (default log)", label="frequency axis",
       choices=SCALES, flag="--scale"),
    _f("db_floor", -100.0, "float", "display", "dB at the bottom of the colour map",
       label="dB floor", lo=-DB_LIMIT, hi=DB_LIMIT, unit="dB"),
    _f("db_ceil", 0.0, "float", "display", "dB at the top of the colour map", label="dB ceiling",
       lo=-DB_LIMIT, hi=DB_LIMIT, unit="dB"),
    _f("colormap", "inferno", "str", "display", "colour map (default inferno)", label="colours",
       choices=COLORMAPS, flag="--colormap"),
    _f("history", 10.0, "float", "display", "waterfall length (default 10)", label="history",
       lo=1, hi=600, unit="seconds", flag="--history", metavar="SECONDS"),
    _f("orientation", "horizontal", "str", "display", "vertical waterfall (newest row at the "
       "top)", label="orientation", choices=ORIENTATIONS, flag="--vertical",
       action="store_const", const="vertical"),
    _f("fps", 60.0, "float", "display", "display refresh rate (default 60)", label="refresh rate",
       lo=1, hi=240, unit="fps", flag="--fps"),
    _f("scope_ms", 50.0, "float", "display", "oscilloscope span", label="scope span", lo=1,
       hi=2000, unit="ms"),
    _f("peak_hold", 2.0, "float", "display", "seconds a held peak stays (spectrum and meters)",
       label="peak hold", lo=0, hi=60, unit="seconds"),
    # --- classifier ---------------------------------------------------------------------------
    _f("classifier", True, "bool", "classifier", "turn the classifier off",
       flag="--no-classifier", action="store_false"),
    _f("model", None, "str", "classifier", "another YAMNet-compatible ONNX model",
       optional=True, flag="--model", metavar="PATH.onnx"),
    _f("labels", None, "str", "classifier", "its class map (index,mid,display_name)",
       optional=True, flag="--labels", metavar="PATH.csv"),
    _f("aggregate", "mean", "str", "classifier", "smoothing of patch scores (default mean)",
       label="smoothing", choices=AGGREGATIONS, flag="--aggregate"),
    _f("smooth_patches", 3, "int", "classifier", "patches smoothed over, 0.48 s each (default 3)",
       label="patches", lo=1, hi=100, flag="--smooth", metavar="N"),
    _f("threshold", 0.1, "float", "classifier", "hide labels scoring under this (default 0.1)",
       label="threshold", lo=0, hi=1, flag="--threshold"),
    _f("specific_first", False, "bool", "classifier", "order nested AudioSet labels most "
       "specific first (Bark before Dog before Animal)", label="most specific first",
       flag="--specific-first", action="store_true"),
    _f("watch", (), "watch", "classifier", "alert when LABEL scores over THRESHOLD (default 0.3);"
       " repeatable", label="watch list", flag="--watch", metavar="LABEL[@THRESHOLD]"),
    _f("clip_after", 5.0, "float", "classifier", "with --save-clips: seconds a clip goes on "
       "after its event ends (default 5)", label="clip after", lo=0, hi=600, unit="seconds",
       flag="--clip-after", metavar="SECONDS"),
)

_BY_NAME = {f.name: f for f in FIELDS}
#: The fields that take effect when a source is (re)opened.
SOURCE_FIELDS = tuple(f.name for f in FIELDS if f.group == "source")


def field_spec(name: str) -> Field:
    """The :class:`Field` row of setting ``name``."""
    return _BY_NAME[name]


def _replace(self: "Settings", **changes: Any) -> "Settings":
    """Return a validated copy with ``changes`` applied."""
    return dataclasses.replace(self, **changes).validate()


def _validate(self: "Settings") -> "Settings":
    """Check every field against its row, then the rules between fields; return ``self`` or
    raise :class:`ParameterError` (one line). Rules that need the source's sample rate are
    checked by the session, which knows it."""
    for f in FIELDS:
        f.check(getattr(self, f.name))
    _check(self.n_fft & (self.n_fft - 1) == 0,
           f"n_fft must be a power of two from {N_FFT_MIN} to {N_FFT_MAX}, got {self.n_fft}")
    _check(hop_min(self.n_fft) <= self.hop <= self.n_fft,
           f"hop must be from {hop_min(self.n_fft)} (n_fft/{HOP_MIN_DIVISOR}) to n_fft "
           f"({self.n_fft}) samples, got {self.hop}")
    if self.fmax is not None:
        _check(self.fmax > self.fmin,
               f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax:g} Hz)")
    span = self.db_ceil - self.db_floor
    _check(DB_MIN_SPAN <= span <= DB_LIMIT,
           f"dB range must span from {DB_MIN_SPAN:g} to {DB_LIMIT:g} dB with floor below "
           f"ceiling, got {self.db_floor:g}:{self.db_ceil:g}")
    if self.channel is not None and self.channels is not None:
        _check(self.channel <= self.channels,
               f"channel {self.channel} is beyond the {self.channels} channel(s) opened")
    _check(not (self.input and self.generator), "--input and --generator exclude each other")
    _check(self.realtime or self.input is not None, "--no-realtime needs --input FILE")
    _check(not self.loop or self.input is not None, "--loop needs --input FILE")
    _check(not (self.loop and not self.realtime),
           "--loop and --no-realtime exclude each other (the file would never end)")
    return self


def _fmax_for(self: "Settings", samplerate: float) -> float:
    """The effective upper frequency at ``samplerate``, Hz."""
    return float(self.fmax) if self.fmax is not None else samplerate / 2


def _target_dbfs(self: "Settings") -> float:
    """The normalisation target, dBFS."""
    if self.normalize_target is not None:
        return float(self.normalize_target)
    return -1.0 if self.normalize == "peak" else -20.0


def _make_settings() -> type:
    fields = [(f.name, Any, dataclasses.field(default=f.default)) for f in FIELDS]
    doc = ("All user settings, one attribute per row of :data:`FIELDS` (units there). "
           "Immutable; a change is a new object from :meth:`replace`, validated again.")
    cls = dataclasses.make_dataclass(
        "Settings", fields, frozen=True,
        namespace={"__doc__": doc, "replace": _replace, "validate": _validate,
                   "fmax_for": _fmax_for, "target_dbfs": _target_dbfs})
    cls.__module__ = __name__
    return cls


Settings = _make_settings()


def parse_db_range(text: str) -> tuple[float, float]:
    """Parse ``"FLOOR:CEIL"`` (dB) into two floats, bounded like the settings."""
    try:
        floor_s, ceil_s = text.split(":")
        floor, ceil = float(floor_s), float(ceil_s)
    except ValueError:
        raise ParameterError(f"dB range must be FLOOR:CEIL, for example -100:0, got {text!r}") from None
    ok = (_finite(floor) and _finite(ceil) and abs(floor) <= DB_LIMIT and abs(ceil) <= DB_LIMIT
          and DB_MIN_SPAN <= ceil - floor <= DB_LIMIT)
    _check(ok, f"dB range must be FLOOR:CEIL within ±{DB_LIMIT:g} dB, spanning {DB_MIN_SPAN:g} "
               f"to {DB_LIMIT:g} dB, got {text!r}")
    return floor, ceil


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ParameterError(message)

