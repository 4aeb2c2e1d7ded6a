"""Test and demo signals: sine, log sweep, white and pink noise, silence, multi-tone.

Spec grammar (``--generator``), levels in dBFS after ``@``::

    sine:FREQ[@DB]              sine:1000, sine:1000@-6
    sweep:F0-F1:SECONDS[@DB]    sweep:20-20000:10 (logarithmic, repeats; F0 = F1 is a sine)
    tones:F1,F2,...[@DB]        tones:440,880,1320@-12 (each tone at DB)
    white[@DB]  pink[@DB]  silence

Levels: for ``sine``, ``sweep`` and ``tones`` the level is the **peak** of each tone; for
``white`` and ``pink`` it is the **RMS**, and the noise is limited to ±4 × its RMS (a 12 dB crest
factor; 6e-5 of Gaussian samples lie beyond, clipping them moves the RMS by 0.005 dB). A
generator never exceeds full scale: a spec that could (``white@0``, whose Gaussian peaks
reach +13 dBFS, or 1000 tones at -12 dBFS each, up to +48 dBFS) is refused with the largest
level that fits. At most :data:`MAX_TONE_RATE` sine samples per second are rendered (64 tones at
48 kHz, measured at 11 % of one core); more could not keep up in real time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from monitor.errors import ParameterError
from monitor.sources.base import PacedSource, check_stream_format

__all__ = ["GeneratorSource", "parse_spec", "MAX_TONE_RATE", "NOISE_CREST"]

_DEFAULT_DB = {"sine": -6.0, "sweep": -6.0, "tones": -12.0, "white": -20.0, "pink": -20.0,
               "silence": 0.0}
_PINK_OCTAVES = 16
_SWEEP_FADE = 0.02  # seconds of fade-in and fade-out of each sweep
# Sine samples rendered per second, at most: ~0.17 % of a core per tone at 48 kHz (measured),
# so 64 tones at 48 kHz take 11 %; 1000 tones ran at 57 % of real time.
MAX_TONE_RATE = 64 * 48000
NOISE_CREST = 4.0  # noise peaks are limited to this many times its RMS (+12.04 dB)


def parse_spec(spec: str, samplerate: float) -> dict:
    """Parse a generator spec into a dict with 'kind', 'db' and the kind's parameters.

    Raises :class:`ParameterError` with the grammar on any mistake.
    """
    usage = ("generator must be sine:FREQ[@DB], sweep:F0-F1:SECONDS[@DB], tones:F1,F2,...[@DB], "
             f"white[@DB], pink[@DB] or silence; got {spec!r}")
    body, _, level = spec.strip().partition("@")
    kind, _, args = body.partition(":")
    kind = kind.strip().lower()
    if kind not in _DEFAULT_DB:
        raise ParameterError(usage)
    try:
        db = float(level) if level else _DEFAULT_DB[kind]
        if kind == "sine":
            out = {"freqs": [float(args)]}
        elif kind == "tones":
            out = {"freqs": [float(f) for f in args.split(",")]}
        elif kind == "sweep":
            band, _, seconds = args.partition(":")
            f0, f1 = (float(f) for f in band.split("-"))
            out = {"f0": f0, "f1": f1, "seconds": float(seconds)}
        else:
            if args:
                raise ValueError
            out = {}
    except ValueError:
        raise ParameterError(usage) from None
    nyquist = samplerate / 2
    freqs = out.get("freqs", []) + [out[k] for k in ("f0", "f1") if k in out]
    for f in freqs:
        if not (0 < f < nyquist):
            raise ParameterError(f"generator frequency {f:g} Hz must be between 0 and the Nyquist "
                                 f"frequency {nyquist:g} Hz")
    if "seconds" in out and not (0.01 <= out["seconds"] <= 3600):
        raise ParameterError(f"sweep duration must be from 0.01 to 3600 s, got {out['seconds']:g}")
    if not (np.isfinite(db) and -200 <= db <= 0):
        raise ParameterError(f"generator level must be from -200 to 0 dBFS, got {db:g}")
    n_tones = len(out.get("freqs", ()))
    if n_tones * samplerate > MAX_TONE_RATE:
        most = max(1, int(MAX_TONE_RATE // samplerate))
        raise ParameterError(f"generator: {n_tones} tones at {samplerate:g} Hz are more than can be "
                             f"rendered in real time; at most {most} at this rate")
    _check_full_scale(kind, db, n_tones)
    return {"kind": kind, "db": db, **out}


def _check_full_scale(kind: str, db: float, n_tones: int) -> None:
    """Refuse a level whose signal could exceed full scale (0 dBFS peak), saying the most allowed."""
    if kind == "tones" and n_tones > 1:
        peak = 20 * np.log10(n_tones) + db  # tones in phase add up
        if peak > 0:
            raise ParameterError(f"generator: {n_tones} tones at {db:g} dBFS each can add up to "
                                 f"{peak:+.2f} dBFS, above full scale; use at most "
                                 f"{-20 * np.log10(n_tones):.2f} dBFS each")
    elif kind in ("white", "pink"):
        peak = 20 * np.log10(NOISE_CREST) + db
        if peak > 0:
            raise ParameterError(f"generator: {kind} noise at {db:g} dBFS RMS peaks at {peak:+.1f} "
                                 f"dBFS, above full scale; use at most "
                                 f"{-20 * np.log10(NOISE_CREST):.1f} dBFS RMS")


class GeneratorSource(PacedSource):
    """A synthetic signal, continuous across blocks, paced in real time.

    Parameters
    ----------
    spec : str
        See the module docstring.
    samplerate : float
        Hz.
    blocksize : int
        Frames per block written.
    seed : int
        Noise seed, for reproducible tests.
    """

    kind = "generator"

    def __init__(self, spec: str, samplerate: float = 48000.0, blocksize: int = 0,
                 seed: int = 0) -> None:
        check_stream_format(samplerate, 1, blocksize, f"generator {spec}")
        super().__init__(samplerate, 1, blocksize)
        self.spec = parse_spec(spec, samplerate)
        self.description = f"generator {spec}"
        self.amplitude = 10.0 ** (self.spec["db"] / 20.0)
        self.position = 0  # samples rendered
        self._rng = np.random.default_rng(seed)
        self._pink_index = np.full(_PINK_OCTAVES, -1, dtype=np.int64)
        self._pink_value = np.zeros(_PINK_OCTAVES)
        self._sweep_phase = 0.0
        renderers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "sine": self._tones, "tones": self._tones, "sweep": self._sweep,
            "white": self._white, "pink": self._pink, "silence": np.zeros_like,
        }
        self._render = renderers[self.spec["kind"]]

    def render(self, n: int) -> np.ndarray:
        t = np.arange(self.position, self.position + n, dtype=np.float64)
        self.position += n
        return self._render(t).astype(np.float32).reshape(-1, 1)

    def _tones(self, t: np.ndarray) -> np.ndarray:
        out = np.zeros_like(t)
        for f in self.spec["freqs"]:
            # Phase from the integer sample index keeps the tone exact over hours.
            cycles = np.mod(t * (f / self.samplerate), 1.0)
            out += np.sin(2 * np.pi * cycles)
        return self.amplitude * out

    def _sweep(self, t: np.ndarray) -> np.ndarray:
        f0, f1, seconds = self.spec["f0"], self.spec["f1"], self.spec["seconds"]
        period = int(round(seconds * self.samplerate))
        repeat, local = np.divmod(t, period)
        tau = local / self.samplerate  # seconds into the current sweep
        rate = np.log(f1 / f0) / seconds
        # Instantaneous frequency f0·exp(rate·τ); phase is its integral. Each repeat starts
        # where the previous one ended (phase carried over, modulo one cycle), so the return
        # from f1 to f0 is a jump in frequency only, not a click across the whole spectrum.
        cycles_per_sweep = f0 * _growth(rate, period / self.samplerate)
        carried = np.mod(repeat * np.mod(cycles_per_sweep, 1.0), 1.0)
        cycles = f0 * _growth(rate, tau) + carried
        # The jump from f1 back to f0 still splatters across the spectrum (a vertical line in
        # the waterfall); a short raised-cosine fade at both ends of each sweep hides it.
        fade = np.minimum(1.0, np.minimum(tau, seconds - tau) / min(_SWEEP_FADE, seconds / 4))
        envelope = 0.5 - 0.5 * np.cos(np.pi * fade)
        return self.amplitude * envelope * np.sin(2 * np.pi * np.mod(cycles, 1.0))

    def _white(self, t: np.ndarray) -> np.ndarray:
        return self.amplitude * _limit(self._rng.standard_normal(t.size))

    def _pink(self, t: np.ndarray) -> np.ndarray:
        # Voss-McCartney: octave k holds a random value for 2**k samples; the sum has a 1/f
        # spectrum (within ±1.5 dB). Values persist across blocks, so the noise is continuous.
        idx = t.astype(np.int64)
        out = self._rng.standard_normal(t.size)  # the fastest "octave" is plain white noise
        for k in range(_PINK_OCTAVES):
            held = idx >> k
            starts = np.flatnonzero(np.diff(held, prepend=held[0] - 1))
            values = self._rng.standard_normal(starts.size)
            if held[0] == self._pink_index[k]:
                values[0] = self._pink_value[k]
            out += np.repeat(values, np.diff(np.append(starts, held.size)))
            self._pink_index[k], self._pink_value[k] = held[-1], values[-1]
        return self.amplitude * _limit(out / np.sqrt(_PINK_OCTAVES + 1))


def _limit(noise: np.ndarray) -> np.ndarray:
    """Unit-RMS noise clipped to ±:data:`NOISE_CREST` (in place)."""
    return np.clip(noise, -NOISE_CREST, NOISE_CREST, out=noise)


def _growth(rate: float, tau):
    """∫₀^τ exp(rate·s) ds = expm1(rate·τ) / rate, and τ itself for rate 0 (F0 = F1: a sine)."""
    if rate == 0.0:
        return np.asarray(tau, dtype=np.float64)
    return np.expm1(rate * tau) / rate
