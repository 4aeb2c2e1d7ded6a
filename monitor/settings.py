"""The one settings object of the monitor, validated in one place.

Everything the user can set (command line, GUI controls, persisted QSettings) ends up in a
:class:`Settings`. It is immutable; a change is a new object made with :meth:`Settings.replace`,
which validates again, so no part of the program ever sees an inconsistent combination
(for example ``hop > n_fft`` or ``fmax`` above Nyquist).

Only :meth:`Settings.validate` raises :class:`ParameterError`; callers at the boundary (CLI,
GUI) turn it into one clear line or a visible message.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional, Union

from monitor.errors import ParameterError

__all__ = [
    "ParameterError",
    "Settings",
    "WINDOWS",
    "SCALES",
    "COLORMAPS",
    "NORMALIZATIONS",
    "N_FFT_MIN",
    "N_FFT_MAX",
    "parse_db_range",
]


WINDOWS = ("hann", "hamming", "blackmanharris", "rectangular")
SCALES = ("linear", "log", "mel")
COLORMAPS = ("viridis", "inferno", "magma", "plasma", "grayscale")
NORMALIZATIONS = ("none", "peak", "rms")
AGGREGATIONS = ("mean", "max")
ORIENTATIONS = ("horizontal", "vertical")
N_FFT_MIN = 256
N_FFT_MAX = 16384


@dataclass(frozen=True)
class Settings:
    """All user settings. Units are in the names or the comments.

    Source fields (``device`` … ``realtime``) take effect when a source is (re)opened; analysis
    and display fields take effect live.
    """

    # --- source -------------------------------------------------------------------------------
    device: Optional[Union[int, str]] = None  # PortAudio index or name substring; None = default
    samplerate: Optional[float] = None  # Hz; None = the device's default (files: their own rate)
    channels: Optional[int] = None  # channels to open; None = up to 2 the device has
    channel: Optional[int] = None  # 1-based channel to analyse; None = mono mix
    blocksize: int = 0  # frames per callback; 0 = let PortAudio choose
    latency: Union[str, float] = "low"  # PortAudio suggested latency: 'low', 'high' or seconds
    input: Optional[str] = None  # audio file path
    loop: bool = False
    generator: Optional[str] = None  # generator spec, see monitor.sources.generator
    realtime: bool = True  # False: process a file as fast as possible

    # --- analysis ------------------------------------------------------------------------------
    n_fft: int = 2048  # samples per STFT frame (also the window length)
    hop: int = 512  # samples between frames
    window: str = "hann"
    n_mels: int = 128
    fmin: float = 0.0  # Hz, lower edge of the mel filterbank and of the displayed range
    fmax: Optional[float] = None  # Hz; None = Nyquist
    htk: bool = False  # mel scale: HTK formula instead of Slaney
    mel_norm: Optional[str] = "slaney"  # 'slaney' (area) or None
    normalize: str = "none"
    normalize_target: Optional[float] = None  # dBFS; None = -1 (peak) or -20 (rms)

    # --- display -------------------------------------------------------------------------------
    scale: str = "log"
    db_floor: float = -100.0  # dB mapped to the bottom of the colour map
    db_ceil: float = 0.0  # dB mapped to the top of the colour map
    colormap: str = "inferno"
    history: float = 10.0  # seconds shown in the waterfall
    orientation: str = "horizontal"  # newest column at the right, or newest row at the top
    fps: float = 60.0  # display refresh rate, Hz
    scope_ms: float = 50.0  # oscilloscope span, milliseconds
    peak_hold: float = 2.0  # seconds a held peak stays (spectrum and meters)

    # --- classifier ----------------------------------------------------------------------------
    classifier: bool = True
    model: Optional[str] = None  # custom YAMNet-compatible ONNX model
    labels: Optional[str] = None  # its class map CSV
    aggregate: str = "mean"  # smoothing of per-patch scores: mean or max
    smooth_patches: int = 3  # patches averaged (0.48 s each)
    threshold: float = 0.1  # scores under this are hidden
    specific_first: bool = False  # order nested AudioSet labels most specific first
    watch: tuple = ()  # ((label, threshold), ...)

    def replace(self, **changes: Any) -> "Settings":
        """Return a validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes).validate()

    def validate(self, samplerate: Optional[float] = None) -> "Settings":
        """Check every field; return ``self`` or raise :class:`ParameterError`.

        Parameters
        ----------
        samplerate : float, optional
            The real sample rate of the open source, Hz. When given, the frequency limits are
            checked against its Nyquist frequency and the mel filterbank against empty filters.
        """
        _check(isinstance(self.n_fft, int) and N_FFT_MIN <= self.n_fft <= N_FFT_MAX
               and self.n_fft & (self.n_fft - 1) == 0,
               f"n_fft must be a power of two from {N_FFT_MIN} to {N_FFT_MAX}, got {self.n_fft}")
        _check(isinstance(self.hop, int) and 1 <= self.hop <= self.n_fft,
               f"hop must be from 1 to n_fft ({self.n_fft}) samples, got {self.hop}")
        _check(self.window in WINDOWS, f"window must be one of {', '.join(WINDOWS)}, got {self.window!r}")
        _check(isinstance(self.n_mels, int) and 1 <= self.n_mels <= 1024,
               f"n_mels must be from 1 to 1024, got {self.n_mels}")
        _check(_finite(self.fmin) and self.fmin >= 0, f"fmin must be >= 0 Hz, got {self.fmin}")
        if self.fmax is not None:
            _check(_finite(self.fmax) and self.fmax > self.fmin,
                   f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax:g} Hz)")
        _check(self.mel_norm in ("slaney", None), f"mel_norm must be 'slaney' or None, got {self.mel_norm!r}")
        _check(self.normalize in NORMALIZATIONS,
               f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
        if self.normalize_target is not None:
            _check(_finite(self.normalize_target) and -80 <= self.normalize_target <= 0,
                   f"normalize target must be from -80 to 0 dBFS, got {self.normalize_target}")
        _check(self.scale in SCALES, f"scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        _check(_finite(self.db_floor) and _finite(self.db_ceil) and self.db_floor < self.db_ceil,
               f"dB range floor must be below ceiling, got {self.db_floor:g}:{self.db_ceil:g}")
        _check(self.colormap in COLORMAPS,
               f"colormap must be one of {', '.join(COLORMAPS)}, got {self.colormap!r}")
        _check(_finite(self.history) and 1 <= self.history <= 600,
               f"history must be from 1 to 600 seconds, got {self.history}")
        _check(self.orientation in ORIENTATIONS,
               f"orientation must be one of {', '.join(ORIENTATIONS)}, got {self.orientation!r}")
        _check(_finite(self.fps) and 1 <= self.fps <= 240, f"fps must be from 1 to 240, got {self.fps}")
        _check(_finite(self.scope_ms) and 1 <= self.scope_ms <= 2000,
               f"scope span must be from 1 to 2000 ms, got {self.scope_ms}")
        _check(isinstance(self.blocksize, int) and 0 <= self.blocksize <= 65536,
               f"blocksize must be from 0 (automatic) to 65536 frames, got {self.blocksize}")
        if self.samplerate is not None:
            _check(_finite(self.samplerate) and 1000 <= self.samplerate <= 768000,
                   f"sample rate must be from 1000 to 768000 Hz, got {self.samplerate}")
        if self.channels is not None:
            _check(isinstance(self.channels, int) and 1 <= self.channels <= 64,
                   f"channels must be from 1 to 64, got {self.channels}")
        if self.channel is not None:
            _check(isinstance(self.channel, int) and self.channel >= 1,
                   f"channel is 1-based and must be >= 1, got {self.channel}")
            if self.channels is not None:
                _check(self.channel <= self.channels,
                       f"channel {self.channel} is beyond the {self.channels} channel(s) opened")
        if isinstance(self.latency, str):
            _check(self.latency in ("low", "high"),
                   f"latency must be 'low', 'high' or seconds, got {self.latency!r}")
        else:
            _check(_finite(self.latency) and 0 < self.latency <= 2,
                   f"latency must be from 0 to 2 seconds, got {self.latency}")
        _check(not (self.input and self.generator), "--input and --generator exclude each other")
        _check(self.realtime or self.input is not None, "--no-realtime needs --input FILE")
        _check(self.aggregate in AGGREGATIONS,
               f"aggregate must be one of {', '.join(AGGREGATIONS)}, got {self.aggregate!r}")
        _check(isinstance(self.smooth_patches, int) and 1 <= self.smooth_patches <= 100,
               f"smoothing must be from 1 to 100 patches, got {self.smooth_patches}")
        _check(_finite(self.threshold) and 0 <= self.threshold <= 1,
               f"threshold must be from 0 to 1, got {self.threshold}")
        if samplerate is not None:
            self.check_rate(samplerate)
        return self

    def check_rate(self, samplerate: float) -> None:
        """Check the frequency settings against a real sample rate (Hz)."""
        nyquist = samplerate / 2
        if self.fmax is not None:
            _check(self.fmax <= nyquist + 1e-9,
                   f"fmax {self.fmax:g} Hz is above the Nyquist frequency {nyquist:g} Hz "
                   f"of {samplerate:g} Hz audio")
        _check(self.fmin < self.fmax_for(samplerate),
               f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax_for(samplerate):g} Hz)")
        # Imported here to keep the settings module free of numpy at import time.
        from monitor.dsp.mel import empty_filters

        empty = empty_filters(samplerate, self.n_fft, self.n_mels, self.fmin,
                              self.fmax_for(samplerate), htk=self.htk)
        _check(not empty,
               f"n_mels {self.n_mels} is too many for n_fft {self.n_fft} between "
               f"{self.fmin:g} and {self.fmax_for(samplerate):g} Hz: {empty} mel filter(s) "
               f"would be empty (use fewer mels or a larger n_fft)")

    def usable_n_mels(self, samplerate: float) -> Optional[int]:
        """The largest n_mels up to :attr:`n_mels` whose mel filters all catch an FFT bin at
        ``samplerate`` (Hz), or None when the frequency limits are unusable anyway."""
        from monitor.dsp.mel import empty_filters

        fmax = self.fmax_for(samplerate)
        if not (0 <= self.fmin < fmax <= samplerate / 2):
            return None

        def ok(n: int) -> bool:
            return empty_filters(samplerate, self.n_fft, n, self.fmin, fmax, self.htk) == 0

        if ok(self.n_mels):
            return self.n_mels
        if not ok(1):
            return None
        lo, hi = 1, self.n_mels  # ok(lo), not ok(hi): bisect the largest usable count
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    def fmax_for(self, samplerate: float) -> float:
        """The effective upper frequency, Hz."""
        return float(self.fmax) if self.fmax is not None else samplerate / 2

    def target_dbfs(self) -> float:
        """The normalisation target, dBFS."""
        if self.normalize_target is not None:
            return float(self.normalize_target)
        return -1.0 if self.normalize == "peak" else -20.0


def parse_db_range(text: str) -> tuple[float, float]:
    """Parse ``"FLOOR:CEIL"`` (dB) into two floats."""
    try:
        floor_s, ceil_s = text.split(":")
        floor, ceil = float(floor_s), float(ceil_s)
    except ValueError:
        raise ParameterError(f"dB range must be FLOOR:CEIL, for example -100:0, got {text!r}") from None
    _check(_finite(floor) and _finite(ceil) and floor < ceil,
           f"dB range floor must be below ceiling, got {text!r}")
    return floor, ceil


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ParameterError(message)
