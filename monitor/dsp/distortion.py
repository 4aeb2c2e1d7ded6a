"""Tone and noise measurements of one block of audio: frequency, level, THD, THD+N, SINAD, SNR,
ENOB, noise floor (flat and A-weighted), DC offset and mains hum.

Method (stated once, used for every figure):

- Welch average of the last ``frames`` frames of ``n_fft`` samples at 50 % overlap, each frame
  mean-removed and weighted by a 7-term Blackman-Harris window (side lobes -180 dB, main lobe
  +-7 bins, ENBW 2.63 bins); bins scaled to mean-square power (see ``power_spectrum``).
- Fundamental: the strongest bin, refined by Gaussian (log-parabolic) interpolation and then by
  maximising the frames' summed DTFT power at continuous frequency (a few parabolic steps of
  shrinking width), so its error is set by noise, not by the bin grid.
- Powers of the fundamental and harmonics h*f0: RMS integration over the bins within +-7 bins of
  each line (the main lobe), noise-corrected: the local noise density (mean of the bins 7-21
  bins away that hold no line) times the bins integrated is subtracted. Dividing by the
  window's noise bandwidth is built into the bin scaling.
- THD = sqrt(sum P_h / P_1), h = 2..N with h*f0 inside the band. THD+N = sqrt((N + D) / P_1)
  and SINAD = (P_1 + N + D) / (N + D), where N + D is everything in the band except the
  fundamental's lobe, whose noise is put back as the local density (as it is for the DC lobe,
  bins 1-6, emptied by removing each frame's DC). SNR = P_1 / N with the
  harmonic lobes also replaced by the density.
- ENOB (IEEE 1241) = (10 log10(0.5 / NAD) - 1.76) / 6.02 with NAD the full-band (0 to fs/2)
  noise-and-distortion power: referred to full scale, so it describes the converter, not the
  test tone's level.
- Levels in dBFS follow AES17: 0 dBFS is the mean square of a full-scale sine (0.5), so a
  sine of amplitude 1 reads 0 dBFS and noise of RMS r reads 20 log10(r) + 3.01 dBFS.
- Hum: the coherent (DTFT) power of lines at k * f_mains, f_mains the stronger of the lines
  found within +-0.5 % of 50 and 60 Hz; a line counts when it stands 10 dB above the noise in
  the window's noise bandwidth. Resolving neighbouring mains harmonics needs
  n_fft >= 7 * samplerate / 50 (6720 at 48 kHz, 13440 at 96 kHz).
- A line within +-0.5 % of 50, 60, 100, 120, 150 or 180 Hz is read as hum, never as the test
  tone; a tone counts when its lobe holds 30 dB more than the noise in the same bins.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from monitor.dsp.power_spectrum import BH7, PowerSpectrum, power_spectrum
from monitor.dsp.weighting import weighting_power_gain

__all__ = ["WINDOW_NAME", "DistortionResult", "measure_distortion"]

WINDOW_NAME = "7-term Blackman-Harris"
LOBE = len(BH7)  # main-lobe half-width, bins
FULL_SCALE_SINE_POWER = 0.5
MAINS_HZ = (50.0, 60.0)
MAINS_TOLERANCE = 0.005
TONE_MIN_SNR = 1e3  # 30 dB above the noise in its own lobe
HUM_MIN_SNR = 10.0  # 10 dB above the noise in the noise bandwidth


@dataclass(frozen=True)
class DistortionResult:
    """Measurements of one block. None where a figure does not apply (no tone, no hum).

    Attributes
    ----------
    samplerate_hz, n_fft, frames, window, enbw_bins, band_hz
        How it was measured: Hz, samples per frame, frames averaged (50 % overlap), window name,
        its noise bandwidth in bins, and the (low, high) band of THD+N/SINAD/SNR/noise in Hz.
    fundamental_hz : float or None
        Tone frequency, Hz.
    level_dbfs : float or None
        Tone level, dBFS (AES17: full-scale sine = 0).
    harmonics_dbfs : tuple
        Levels of harmonics 2..N (dBFS; None where below the noise or outside the band).
    thd_percent, thd_db : float or None
        Total harmonic distortion over harmonics 2..N, % and dB (20 log10 of the ratio); None
        when no harmonic falls inside the band (a 15 kHz tone in a 20 kHz band).
    thdn_percent, thdn_db : float or None
        THD+N in the band, % and dB re the fundamental.
    sinad_db, snr_db : float or None
        dB, in the band.
    enob_bits : float or None
        Effective number of bits, from the full-band NAD re full scale.
    noise_dbfs, noise_dbfs_a : float
        Noise in the band (tone and harmonics removed when there is a tone), dBFS flat and
        A-weighted.
    dc_offset : float
        DC: the window-weighted mean of the analysed frames (which rejects tones), full scale 1.
    dc_dbfs : float or None
        20 log10 |dc_offset| (DC at full scale = 0 dB); None for exactly 0.
    hum_hz : float or None
        Mains frequency found, Hz (about 50 or 60).
    hum_dbfs : float or None
        Power sum of the hum lines found, dBFS.
    hum_harmonics_dbfs : tuple
        Level of each mains line k * hum_hz, k = 1.., dBFS (None below the noise).
    """

    samplerate_hz: float
    n_fft: int
    frames: int
    window: str
    enbw_bins: float
    band_hz: tuple
    fundamental_hz: float | None
    level_dbfs: float | None
    harmonics_dbfs: tuple
    thd_percent: float | None
    thd_db: float | None
    thdn_percent: float | None
    thdn_db: float | None
    sinad_db: float | None
    snr_db: float | None
    enob_bits: float | None
    noise_dbfs: float
    noise_dbfs_a: float
    dc_offset: float
    dc_dbfs: float | None
    hum_hz: float | None
    hum_dbfs: float | None
    hum_harmonics_dbfs: tuple


def _dbfs(power: float) -> float | None:
    return float(10.0 * np.log10(power / FULL_SCALE_SINE_POWER)) if power > 0 else None


def _split(n: int) -> tuple[int, int]:
    """(coarse, fine) with ``fine`` a power of two near sqrt(n) and ``coarse * fine >= n``:
    sample t = fine * a + b, a < coarse, b < fine."""
    fine = 1 << max(1, (int(n) - 1).bit_length() // 2)
    return -(-int(n) // fine), fine


def _tables(frequencies: np.ndarray, n: int, samplerate: float) -> tuple[np.ndarray, np.ndarray]:
    """The coarse (coarse, k) and fine (fine, k) tables of ``exp(-2j pi f t / fs)``: the
    phasor of sample t = fine * a + b is ``coarse[a] * fine[b]`` (each within a few ulp of
    the direct exp: tests/test_distortion_kernels.py)."""
    coarse, fine = _split(n)
    w = -2j * np.pi * np.asarray(frequencies, dtype=np.float64) / samplerate
    low = np.exp(np.outer(np.arange(fine), w))  # (fine, k)
    # The coarse table itself from two smaller ones (a = c_fine * A + B): 8 + 16 exps
    # instead of 128 at 8192 points; the complex exps (with their argument reduction) were
    # 2.1 of the 14 M instructions of a measurement.
    c_coarse, c_fine = _split(coarse)
    high = (np.exp(np.outer(np.arange(c_coarse) * (c_fine * fine), w))[:, None, :]
            * np.exp(np.outer(np.arange(c_fine) * fine, w))[None, :, :]).reshape(c_coarse * c_fine, -1)[:coarse]
    return high, low


def _phasors(frequencies: np.ndarray, n: int, samplerate: float) -> np.ndarray:
    """``exp(-2j pi f t / fs)`` for t = 0..n-1 samples (rows) and each of ``frequencies`` (Hz,
    columns), as the outer product of a coarse and a fine table (t = B a + b): 2 sqrt(n)
    complex exps per frequency instead of n (8192 samples: 192), each entry within a few
    ulp of the direct exp. (The line powers no longer build this n x k table: see
    :func:`_line_power`; the tests compare both with the direct exponential.)"""
    f = np.asarray(frequencies, dtype=np.float64)
    high, low = _tables(f, n, samplerate)
    return (high[:, None, :] * low[None, :, :]).reshape(high.shape[0] * low.shape[0], f.size)[:n]


def _coherent_power(ps: PowerSpectrum, kernel: np.ndarray) -> np.ndarray:
    """Frames-averaged coherent power of each column of ``kernel`` (n_fft, k) of phasors."""
    # Two real products: numpy would first cast the frames to complex for a complex one.
    re = ps.segments @ np.ascontiguousarray(kernel.real)
    im = ps.segments @ np.ascontiguousarray(kernel.imag)
    return 2.0 * np.mean(re * re + im * im, axis=0) / ps.window.sum() ** 2


def _line_power(ps: PowerSpectrum, frequencies) -> np.ndarray:
    """Coherent power (A^2 / 2 of a sine) at continuous ``frequencies`` (Hz), frames averaged.

    The DTFT of each frame at f is ``sum_a coarse[a] sum_b x[fine a + b] fine[b]`` (see
    :func:`_tables`): one real product of the frames folded to (frames * coarse, fine) with
    the fine table's real and imaginary parts, then a small complex sum over ``a``. The same
    sum as :func:`_coherent_power` of :func:`_phasors` in another order (they agree to 1e-13
    relative, tests/test_distortion_kernels.py), without building the n_fft x k kernel:
    that, and its two contiguous copies, were three quarters of each call (0.25 of 0.33 ms
    for 3 lines at 8192 points; 0.57 of the thread's 1.06 s per 20 s of audio in cProfile).
    """
    f = np.atleast_1d(np.asarray(frequencies, dtype=np.float64))
    n = ps.n_fft
    high, low = _tables(f, n, ps.samplerate)
    coarse, fine = high.shape[0], low.shape[0]
    frames = ps.segments
    if coarse * fine != n:  # n_fft not a power of two: pad the frames with zeros
        frames = np.concatenate((frames, np.zeros((frames.shape[0], coarse * fine - n))), axis=1)
    folded = frames.reshape(-1, fine)  # (frames * coarse, fine), a view for a power of two
    k = f.size
    # The fine table's real and imaginary parts interleaved: the product's rows are then the
    # complex inner sums as they lie in memory (a view, not a cast and a multiply by 1j).
    table = np.stack((low.real, low.imag), axis=2).reshape(fine, 2 * k)
    inner = (folded @ table).view(np.complex128).reshape(-1, coarse, k)  # (frames, coarse, k)
    spectra = np.einsum("mak,ak->mk", inner, high)  # (frames, k)
    return 2.0 * np.mean(spectra.real ** 2 + spectra.imag ** 2, axis=0) / ps.window.sum() ** 2


def _grid_power(ps: PowerSpectrum, first: float, step: float, count: int) -> np.ndarray:
    """:func:`_line_power` at ``first + m * step`` Hz, m < count."""
    return _line_power(ps, first + step * np.arange(count))


def _refine(ps: PowerSpectrum, k: int) -> float:
    """Frequency (Hz) of the line peaking at bin ``k``, to a small fraction of a bin."""
    p = np.log(np.maximum(ps.power[k - 1:k + 2], 1e-300))
    denom = p[0] - 2 * p[1] + p[2]
    delta = 0.5 * (p[0] - p[2]) / denom if denom < 0 else 0.0
    f, step = (k + float(np.clip(delta, -0.5, 0.5))) * ps.bin_hz, 0.2 * ps.bin_hz
    for _ in range(4):  # parabolic steps on the continuous DTFT power; each shrinks 5x
        a, b, c = np.log(np.maximum(_line_power(ps, [f - step, f, f + step]), 1e-300))
        denom = a - 2 * b + c
        if denom < 0:
            f += step * float(np.clip(0.5 * (a - c) / denom, -1.0, 1.0))
        step /= 5.0
    return f


def _is_mains(f: float) -> bool:
    return any(abs(f - k * m) <= MAINS_TOLERANCE * k * m for m in MAINS_HZ for k in (1, 2, 3))


class _Lines:
    """Bins held by spectral lines, and their noise-corrected powers."""

    def __init__(self, ps: PowerSpectrum) -> None:
        self.ps = ps
        self.bins = np.arange(ps.power.size, dtype=np.float64)  # float: no cast at each use
        self.taken = np.zeros(ps.power.size, dtype=bool)

    def lobe(self, f: float, half: float = LOBE) -> np.ndarray:
        return np.abs(self.bins - f / self.ps.bin_hz) < half

    def density(self, f: float) -> float:
        """Mean power per bin near ``f`` in bins that hold no line.

        The ring 7-21 bins away; where lines fill it (mains harmonics at low frequency), rings
        3 and 9 times wider, then every free bin.
        """
        distance = np.abs(self.bins - f / self.ps.bin_hz)
        free = ~self.taken & (self.bins > 0)
        for outer in (3 * LOBE, 9 * LOBE, 27 * LOBE, np.inf):
            ring = (distance >= LOBE) & (distance < outer) & free
            if np.count_nonzero(ring) >= 2 * LOBE:
                return float(self.ps.power[ring].mean())
        return 0.0


def measure_distortion(x: np.ndarray, samplerate: float, n_fft: int = 8192,
                       frames: int | None = None, n_harmonics: int = 10,
                       band: tuple | None = (20.0, 20000.0), hum_harmonics: int = 6,
                       power_gain: np.ndarray | None = None) -> DistortionResult:
    """Measure the tone, distortion and noise in ``x``.

    Parameters
    ----------
    x : ndarray
        Mono samples, full scale +-1; at least ``n_fft`` of them.
    samplerate : float
        Hz.
    n_fft : int
        Samples per frame.
    frames : int or None
        Frames averaged (the last ones, 50 % overlap); None = all that fit.
    n_harmonics : int
        THD uses harmonics 2..n_harmonics.
    band : (float, float) or None
        Band of THD+N, SINAD, SNR and noise, Hz, clipped to 0..fs/2; None = full band.
    hum_harmonics : int
        Mains lines k * f_mains, k = 1..hum_harmonics, in the hum figure.
    power_gain : ndarray or None
        Power gain per rfft bin applied first (e.g. a microphone calibration).
    """
    x = np.asarray(x, dtype=np.float64)
    ps = power_spectrum(x, samplerate, n_fft, frames)
    if power_gain is not None:
        ps = dataclasses.replace(ps, power=ps.power * power_gain)
    dc = ps.dc
    nyquist = samplerate / 2.0
    lo, hi = (0.0, nyquist) if band is None else (max(0.0, band[0]), min(nyquist, band[1]))
    lines = _Lines(ps)
    in_band = (ps.frequencies >= lo) & (ps.frequencies <= hi) & (lines.bins > 0)
    full = lines.bins > 0
    f0 = _find_tone(ps, lines, lo, hi)
    residual = ps.power.copy()  # the spectrum with every line replaced by the noise under it
    tone = {}
    if f0 is not None:
        tone = _tone_lines(ps, lines, residual, f0, n_harmonics, hi)
    tone_hz = (f0,) + tone["harmonic_hz"] if f0 is not None else ()
    hum = _hum(ps, lines, hum_harmonics, tone_hz, power_gain)
    # Removing each frame's DC also took noise out of the window's DC lobe (bins 1-6): raise
    # them to the noise density next to it (never lower: they may hold hum).
    near_dc = (lines.bins > 0) & lines.lobe(0.0)
    residual[near_dc] = np.maximum(residual[near_dc], lines.density(0.0))
    a_gain = _a_gain(float(samplerate), int(n_fft))
    noise = float(residual[in_band].sum())
    noise_a = float((residual * a_gain)[in_band].sum())
    common = dict(samplerate_hz=float(samplerate), n_fft=int(n_fft), frames=ps.frames, window=WINDOW_NAME,
                  enbw_bins=ps.enbw, band_hz=(lo, hi), noise_dbfs=_dbfs(noise), noise_dbfs_a=_dbfs(noise_a),
                  dc_offset=dc, dc_dbfs=float(20 * np.log10(abs(dc))) if dc else None, **hum)
    if f0 is None:
        return DistortionResult(fundamental_hz=None, level_dbfs=None, harmonics_dbfs=(), thd_percent=None,
                                thd_db=None, thdn_percent=None, thdn_db=None, sinad_db=None, snr_db=None,
                                enob_bits=None, **common)
    p1, harmonics = tone["p1"], tone["harmonics"]
    in_band_h = [p for p, f in zip(harmonics, tone["harmonic_hz"]) if lo <= f <= hi]
    nd = noise + sum(in_band_h)
    nd_full = float(residual[full].sum()) + sum(harmonics)
    thd = np.sqrt(sum(harmonics) / p1) if harmonics else None  # None: no harmonic in the band
    thdn = np.sqrt(nd / p1)
    return DistortionResult(
        fundamental_hz=f0, level_dbfs=_dbfs(p1),
        harmonics_dbfs=tuple(_dbfs(p) for p in harmonics),
        thd_percent=None if thd is None else 100.0 * thd, thd_db=None if thd is None else _ratio_db(thd),
        thdn_percent=100.0 * thdn, thdn_db=_ratio_db(thdn),
        sinad_db=_ratio_db(np.sqrt((p1 + nd) / nd)) if nd > 0 else None,
        snr_db=_ratio_db(np.sqrt(p1 / noise)) if noise > 0 else None,
        enob_bits=(10 * np.log10(FULL_SCALE_SINE_POWER / nd_full) - 1.76) / 6.02 if nd_full > 0 else None,
        **common)


@functools.lru_cache(maxsize=4)
def _a_gain(samplerate: float, n_fft: int) -> np.ndarray:
    """A-weighting power gain at the rfft bins, made once per (rate, n_fft), read-only."""
    gain = weighting_power_gain("A", np.arange(n_fft // 2 + 1) * samplerate / n_fft)
    gain.flags.writeable = False
    return gain


def _ratio_db(amplitude_ratio: float) -> float | None:
    return float(20.0 * np.log10(amplitude_ratio)) if amplitude_ratio > 0 else None


def _find_tone(ps: PowerSpectrum, lines: _Lines, lo: float, hi: float) -> float | None:
    """Frequency (Hz) of the test tone: the strongest line that is no mains line, or None."""
    searchable = ((ps.frequencies >= lo) & (ps.frequencies <= hi) & (lines.bins >= LOBE)
                  & (lines.bins <= ps.power.size - 1 - LOBE))
    for _ in range(7):  # at most the six mains lines can come first
        if not searchable.any():
            return None
        k = int(np.argmax(np.where(searchable, ps.power, -1.0)))
        f = _refine(ps, k)
        lobe = lines.lobe(f)
        if not _is_mains(f):
            noise_in_lobe = lines.density(f) * np.count_nonzero(lobe)
            return f if ps.power[lobe].sum() > TONE_MIN_SNR * noise_in_lobe else None
        searchable &= ~lobe
    return None


def _tone_lines(ps, lines, residual, f0, n_harmonics, hi) -> dict:
    """Noise-corrected powers of the fundamental and harmonics 2..N; notches them in ``residual``."""
    freqs = [h * f0 for h in range(1, n_harmonics + 1)]
    half = min(LOBE, 0.5 * f0 / ps.bin_hz)  # neighbouring harmonics' lobes must not overlap
    lobes = [lines.lobe(f, half) for f in freqs]
    for lobe in lobes:
        lines.taken |= lobe
    powers, used = [], []
    top = min(hi, ps.samplerate / 2.0 - LOBE * ps.bin_hz)
    for h, (f, lobe) in enumerate(zip(freqs, lobes), start=1):
        if h > 1 and f > top:
            break
        density = lines.density(f)
        powers.append(max(0.0, float(ps.power[lobe].sum()) - density * np.count_nonzero(lobe)))
        residual[lobe] = density
        used.append(f)
    return {"p1": powers[0], "harmonics": powers[1:], "harmonic_hz": tuple(used[1:])}


def _hum(ps: PowerSpectrum, lines: _Lines, count: int, tone_lines, power_gain) -> dict:
    """Mains frequency, total hum and per-line hum levels (dBFS); lines on the tone's are None."""
    none = {"hum_hz": None, "hum_dbfs": None, "hum_harmonics_dbfs": ()}
    # Both mains grids in one product, and below every line in one: each call has a fixed
    # cost (the tables, the fold), so 2 + 6 calls of 21 and 1 line cost twice 1 + 1 calls.
    grids = [mains * (1.0 + MAINS_TOLERANCE * np.linspace(-1.0, 1.0, 21)) for mains in MAINS_HZ]
    powers = np.split(_line_power(ps, np.concatenate([g[0] + (g[1] - g[0]) * np.arange(g.size) for g in grids])),
                      len(grids))
    best = None
    for grid, power in zip(grids, powers):
        if best is None or power.max() > best[1]:
            best = (float(grid[np.argmax(power)]), float(power.max()))
    f_mains = best[0]
    top = ps.samplerate / 2.0 - LOBE * ps.bin_hz
    candidates = [k * f_mains for k in range(1, count + 1) if k * f_mains <= top]
    for f in candidates:
        lines.taken |= lines.lobe(f)
    on_tone = [any(abs(f - t) < LOBE * ps.bin_hz for t in tone_lines) for f in candidates]
    free = [f for f, taken in zip(candidates, on_tone) if not taken]
    line_powers = iter(_line_power(ps, free).tolist() if free else ())
    levels, total = [], 0.0
    for f, taken in zip(candidates, on_tone):
        if taken:
            levels.append(None)
            continue
        noise = lines.density(f) * ps.enbw
        p = next(line_powers)  # from the frames: apply the calibration here
        p *= 1.0 if power_gain is None else float(power_gain[int(round(f / ps.bin_hz))])
        found = p > HUM_MIN_SNR * noise
        levels.append(_dbfs(p - noise) if found else None)
        total += p - noise if found else 0.0
    if total <= 0.0:
        return none
    return {"hum_hz": f_mains, "hum_dbfs": _dbfs(total), "hum_harmonics_dbfs": tuple(levels)}
