"""Signal levels (peak, RMS in dBFS), peak frequency, and peak/RMS normalisation."""

from __future__ import annotations

import collections
import math

import numpy as np

__all__ = ["frame_levels", "frame_squares", "peak_frequency_db", "Normalizer", "limit_samples", "mix_to_mono",
           "SAMPLE_LIMIT", "WeightedRMS"]

_NEIGHBOURS = np.array([-1, 0, 1])

# Largest sample magnitude analysed (+96.3 dBFS). A float WAV may hold any finite value
# (±3.4e38): squared in the power spectrum such a value is Inf in float32. Bounded here, the
# largest power is (SAMPLE_LIMIT · 40 dB of normaliser gain · n_fft 16384)² ≈ 1e22, far inside
# float32, so every finite input gives finite features. Real audio never comes near it.
SAMPLE_LIMIT = 65536.0


def limit_samples(block: np.ndarray, extremes: tuple[float, float] | None = None
                  ) -> tuple[np.ndarray, int]:
    """Clamp ``block`` to ±:data:`SAMPLE_LIMIT`; return it and how many samples were clamped.

    The input is returned unchanged (not copied) when nothing is beyond the limit. NaN and Inf
    must have been replaced before (they are not counted here). ``extremes``: bounds (min, max)
    of the samples if the caller knows them (e.g. of the block ``block`` was mixed from).
    """
    if extremes is not None and -SAMPLE_LIMIT <= extremes[0] and extremes[1] <= SAMPLE_LIMIT:
        return block, 0
    over = int(np.count_nonzero(np.abs(block) > SAMPLE_LIMIT))
    if over:
        block = np.clip(block, -SAMPLE_LIMIT, SAMPLE_LIMIT)
    return block, over


def mix_to_mono(block: np.ndarray) -> np.ndarray:
    """Mean of the channels of ``block`` (frames × channels), float32.

    Summed in float64: in float32 two channels at ±3e38 add up to Inf, and many channels of
    nearly equal samples lose their low bits.
    """
    if block.shape[1] == 1:
        return block[:, 0]
    return block.mean(axis=1, dtype=np.float64).astype(np.float32)


def frame_levels(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak and RMS level of each frame (rows of samples), dBFS.

    A full-scale sine has peak 0 dBFS and RMS -3.01 dBFS.
    """
    n = frames.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.float32)
        return empty, empty
    # ufunc reductions directly (np.max/np.mean add ~10 µs of Python per call); the two dBFS
    # values per row in Python floats: a numpy call costs ~4,600 instructions even on one
    # element (valgrind), the four of a vectorised dBFS pass as much as the reductions. Per
    # row the same way for any batch, so results do not depend on how frames are batched.
    peak = np.maximum.reduce(np.abs(frames), axis=1).tolist()
    energy = np.add.reduce(np.square(frames, dtype=np.float64), axis=1).tolist()
    size = frames.shape[1]
    dbfs = [_dbfs(p) for p in peak] + [_dbfs(math.sqrt(e / size)) for e in energy]
    levels = np.array(dbfs, dtype=np.float32)
    return levels[:n], levels[n:]


def frame_squares(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Peak² and mean square of each frame (rows of samples), into ``out`` (2 × n float32):
    :func:`frame_levels` before the dB (``10·log10`` of these, floored at 1e-10, is its
    dBFS). The sum of squares is taken in float64; per row, so any batching gives the same.
    """
    squares = np.square(frames, dtype=np.float64)  # 4 numpy calls in all: ~5-10k instructions each
    np.maximum.reduce(squares, axis=1, out=out[0])
    energy = np.add.reduce(squares, axis=1)
    return np.multiply(energy, 1.0 / frames.shape[1], out=out[1])


class WeightedRMS:
    """RMS level of frames with a frequency weighting, from their power spectra (Parseval).

    For the STFT's unnormalised power ``P_k = |rfft(w x)|^2`` (window ``w``, ``n_fft``
    samples), the mean square of the windowed frame is ``sum_k c_k g_k P_k / (n_fft sum w^2)``
    with ``c_k`` 2 for the bins that stand for a negative frequency too (1 at DC and Nyquist)
    and ``g_k`` the weighting's power gain at the bin (IEC 61672-1, 1 at 1 kHz). Flat (Z), a
    steady signal reads the frame RMS of :func:`frame_levels` (the window weights time, so a
    level that changes within the frame reads its window-weighted mean).

    Parameters
    ----------
    n_fft : int
        Samples per frame.
    samplerate : float
        Hz.
    window : str
        The STFT's window (:func:`monitor.dsp.windows.get_window`).
    weighting : {'A', 'C', 'Z'}
    """

    def __init__(self, n_fft: int, samplerate: float, window: str, weighting: str) -> None:
        from monitor.dsp.weighting import weighting_power_gain
        from monitor.dsp.windows import get_window

        w = get_window(window, n_fft)
        count = np.full(n_fft // 2 + 1, 2.0)
        count[0] = 1.0
        if n_fft % 2 == 0:
            count[-1] = 1.0
        gain = weighting_power_gain(weighting, np.fft.rfftfreq(n_fft, 1.0 / samplerate))
        self.key = (int(n_fft), float(samplerate), window, weighting)
        self._weights = count * gain / (n_fft * float(np.dot(w, w)))

    def dbfs(self, power_db: np.ndarray) -> np.ndarray:
        """RMS (dBFS, a full-scale sine -3.01) of each row of ``power_db`` (frames × bins, the
        power in dB re 1 as :class:`~monitor.dsp.features.FeatureBatch` carries it)."""
        power = np.power(10.0, np.asarray(power_db, dtype=np.float64) * 0.1)
        mean_square = power @ self._weights
        return 10.0 * np.log10(np.maximum(mean_square, 1e-10))


def _dbfs(amplitude: float, amin: float = 1e-5) -> float:
    """:func:`~monitor.dsp.db.amplitude_to_dbfs` of one non-negative float (Python math)."""
    return 20.0 * math.log10(max(amplitude, amin))


def peak_frequency_db(power_db: np.ndarray, samplerate: float, n_fft: int) -> np.ndarray:
    """Frequency (Hz) of the strongest bin of each row of power spectra in dB (``10·log10``
    of power; frames × bins, as :class:`~monitor.dsp.features.FeatureBatch` carries them).

    Refined by a parabola through the log power of the peak bin and its neighbours, which
    locates a windowed sinusoid to a small fraction of a bin; its vertex does not depend on the
    log's scale, so the spectra's own dB rows serve and no second logarithm is taken.
    Arithmetic in float64 on the float32 dB values: the one-row path (Python floats, ~10k
    instructions against ~43k for the former power-domain version, valgrind; live, nearly
    every batch is one frame) and the vectorised one do the same IEEE operations in the same
    order, so they are equal bit for bit.
    """
    n = power_db.shape[0]
    if n == 1:
        row = power_db[0]
        k = int(row.argmax())
        delta = 0.0
        if 0 < k < row.shape[0] - 1:
            a, b, c = row[k - 1:k + 2].tolist()
            denom = a - 2.0 * b + c
            if denom < 0:  # only a parabola opening downwards has a peak to refine
                delta = min(max(0.5 * (a - c) / denom, -0.5), 0.5)
        return np.array([(k + delta) * samplerate / n_fft], dtype=np.float32)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    k = power_db.argmax(axis=1)
    inner = np.minimum(np.maximum(k, 1), power_db.shape[1] - 2)
    flat = np.ascontiguousarray(power_db).ravel()
    index = (np.arange(n) * power_db.shape[1] + inner)[:, None] + _NEIGHBOURS
    a, b, c = flat[index].astype(np.float64).T
    denom = a - 2.0 * b + c
    curved = denom < 0
    delta = 0.5 * (a - c) / np.where(curved, denom, -1.0)
    delta = np.minimum(np.maximum(delta, -0.5), 0.5)
    delta = np.where(curved & (k == inner), delta, 0.0)
    return ((k + delta) * samplerate / n_fft).astype(np.float32)


class Normalizer:
    """Peak or RMS normalisation of a live stream to a target level (dBFS).

    A stream has no end to normalise against, so the level is measured over the last
    ``window`` seconds and the gain follows it, ramped across each block so that gain changes
    never click. Gain is limited to ``max_gain_db`` so that silence is not blown up into noise.

    Parameters
    ----------
    mode : {'none', 'peak', 'rms'}
    target_dbfs : float
        Level the measured peak or RMS is brought to, dBFS.
    samplerate : float
        Hz.
    window : float
        Seconds of level history the gain is based on.
    max_gain_db : float
        Largest gain applied, dB (also the largest cut).
    """

    def __init__(self, mode: str, target_dbfs: float, samplerate: float, window: float = 3.0,
                 max_gain_db: float = 40.0) -> None:
        self.mode = mode
        self.target = 10.0 ** (target_dbfs / 20.0)
        self.max_gain = 10.0 ** (max_gain_db / 20.0)
        self.window_samples = int(window * samplerate)
        self.gain = 1.0
        self._chunks: collections.deque = collections.deque()  # (peak, sum of squares, n)
        self._held = 0

    @property
    def gain_db(self) -> float:
        """The gain last applied, dB."""
        return 20.0 * math.log10(self.gain)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Return ``block`` (1-D) scaled towards the target; unchanged in mode 'none'."""
        if self.mode == "none" or block.size == 0:
            return block
        x = block.astype(np.float64)
        self._chunks.append((float(np.max(np.abs(x))), float(np.dot(x, x)), x.size))
        self._held += x.size
        while self._chunks and self._held - self._chunks[0][2] >= self.window_samples:
            self._held -= self._chunks.popleft()[2]
        if self.mode == "peak":
            level = max(c[0] for c in self._chunks)
        else:
            level = np.sqrt(sum(c[1] for c in self._chunks) / max(1, self._held))
        wanted = self.target / level if level > 0 else self.max_gain
        wanted = float(np.clip(wanted, 1.0 / self.max_gain, self.max_gain))
        ramp = np.linspace(self.gain, wanted, x.size, endpoint=True)
        self.gain = wanted
        return (x * ramp).astype(np.float32)
