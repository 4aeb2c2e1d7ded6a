"""Delay, polarity and level difference between two channels, by cross-correlation.

Method: both channels are mean-removed; their cross-correlation r[k] = sum_t a[t] b[t + k] is
computed for lags |k| <= max_lag through one zero-padded real FFT (no circular wrap), and
normalised by sqrt(sum a^2 * sum b^2), so it reads 1 when ``b`` is a scaled, delayed copy of
``a`` and about 1/sqrt(n) for unrelated noise. The lag is the largest |r| (polarity: its sign),
refined by a parabola through |r| at the three lags around it (sub-sample). Confidence is that
peak |r|; ``ambiguity`` is the largest |r| more than 2 samples away from the peak divided by the
peak (near 1 for a periodic signal, whose delay is only known modulo its period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ChannelDelay", "channel_delay", "level_difference_db"]


@dataclass(frozen=True)
class ChannelDelay:
    """Where channel ``b`` stands against channel ``a``.

    Attributes
    ----------
    lag_samples : float
        Samples ``b`` lags ``a`` (negative: ``b`` leads), sub-sample.
    delay_s : float
        The same in seconds.
    polarity : int
        +1 in phase, -1 inverted.
    confidence : float
        |normalised correlation| at the lag, 0..1.
    ambiguity : float
        Next-best |correlation| away from the peak over the peak's, 0..1.
    """

    lag_samples: float
    delay_s: float
    polarity: int
    confidence: float
    ambiguity: float

    def as_dict(self) -> dict:
        return {"lag_samples": round(self.lag_samples, 2), "delay_ms": round(1e3 * self.delay_s, 4),
                "polarity": self.polarity, "confidence": round(self.confidence, 4),
                "ambiguity": round(self.ambiguity, 4)}


def channel_delay(a: np.ndarray, b: np.ndarray, samplerate: float, max_lag_s: float = 0.01
                  ) -> ChannelDelay | None:
    """Delay and polarity of ``b`` against ``a`` (1-D, same length), lags up to ``max_lag_s``.

    Returns None when either channel is silent (no energy after removing the mean) or shorter
    than 4 samples.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = min(a.size, b.size)
    if n < 4:
        return None
    a, b = a[:n] - a[:n].mean(), b[:n] - b[:n].mean()
    norm = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if not norm > 0:
        return None
    max_lag = int(min(n - 1, max(1, round(max_lag_s * samplerate))))
    size = 1 << int(np.ceil(np.log2(n + max_lag)))
    r = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)
    r = np.concatenate((r[size - max_lag:], r[:max_lag + 1])) / norm  # lags -max_lag..max_lag
    mag = np.abs(r)
    k = int(np.argmax(mag))
    frac = 0.0
    if 0 < k < mag.size - 1:
        y0, y1, y2 = mag[k - 1], mag[k], mag[k + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            frac = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
    lag = k - max_lag + frac
    away = np.abs(np.arange(mag.size) - k) > 2
    second = float(mag[away].max()) if away.any() else 0.0
    peak = float(mag[k])
    return ChannelDelay(lag_samples=float(lag), delay_s=float(lag / samplerate),
                        polarity=1 if r[k] >= 0 else -1, confidence=min(1.0, peak),
                        ambiguity=second / peak if peak > 0 else 1.0)


def level_difference_db(a: np.ndarray, b: np.ndarray) -> float | None:
    """RMS level of ``b`` minus that of ``a``, dB; None when either is silent."""
    ea = float(np.mean(np.square(np.asarray(a, dtype=np.float64))))
    eb = float(np.mean(np.square(np.asarray(b, dtype=np.float64))))
    if ea <= 0 or eb <= 0:
        return None
    return float(10 * np.log10(eb / ea))
