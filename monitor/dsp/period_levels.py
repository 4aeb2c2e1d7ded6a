"""Levels per period (a minute by default) for a noise log: LAeq, LAFmax, LCpeak and flat (Z).

Per period of stream time (exact sample boundaries: period ``k`` covers samples
``[k·P·fs, (k+1)·P·fs)``):

- ``LAeq`` / ``LZeq``: equivalent continuous level, A-weighted / flat.
- ``LAFmax`` / ``LZFmax``: maximum of the Fast (125 ms exponential) time-weighted level. The
  exponential average of the squared signal is the one-pole IIR
  ``y[n] = a·y[n-1] + (1-a)·x[n]²`` with ``a = exp(-1 / (0.125 s · fs))`` (IEC 61672-1), run by
  the same exact block IIR as the weightings (:class:`~monitor.dsp.weighting.SOSFilter`).
- ``LCpeak`` / ``LZpeak``: largest |sample| after C weighting / without weighting.

All in dB relative to a full-scale sine's mean square (AES17 dBFS, the scale of
:mod:`monitor.dsp.weighting`): a full-scale 1 kHz sine reads LAeq 0 dB, LCpeak +3.01 dB. The
filters keep their state across periods (no start transient at each minute).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from monitor.dsp.weighting import FULL_SCALE_SINE_POWER, SOSFilter, weighting_sos

__all__ = ["COLUMNS", "FAST_SECONDS", "PeriodLevels"]

FAST_SECONDS = 0.125
COLUMNS = ("start_s", "duration_s", "LAeq", "LAFmax", "LCpeak", "LZeq", "LZFmax", "LZpeak")


def _db(power: float) -> Optional[float]:
    return None if power <= 0.0 else 10.0 * math.log10(power / FULL_SCALE_SINE_POWER)


class PeriodLevels:
    """Integrates a stream and returns one row of levels per completed period.

    Parameters
    ----------
    samplerate : float
        Hz.
    period : float
        Seconds per row (default 60).
    start_s : float
        Stream time of the first sample, s (the rows' ``start_s`` count from it).
    """

    def __init__(self, samplerate: float, period: float = 60.0, start_s: float = 0.0) -> None:
        self.start_s = float(start_s)
        self.samplerate = float(samplerate)
        self.period = float(period)
        self.period_samples = max(1, int(round(self.period * self.samplerate)))
        self._a = SOSFilter(weighting_sos("A", samplerate))
        self._c = SOSFilter(weighting_sos("C", samplerate))
        a = math.exp(-1.0 / (FAST_SECONDS * self.samplerate))
        fast = np.array([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]])
        self._fast_a = SOSFilter(fast)
        self._fast_z = SOSFilter(fast)
        self.samples = 0  # samples seen in all
        self._start = 0  # first sample of the open period
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._ea = self._ez = 0.0
        self._fa = self._fz = 0.0
        self._pc = self._pz = 0.0

    def feed(self, x: np.ndarray) -> list[dict]:
        """Integrate ``x`` (1-D, full scale ±1); returns the rows of the periods it completes."""
        x = np.asarray(x, dtype=np.float64)
        rows = []
        while x.size:
            take = min(x.size, self.period_samples - self._n)
            self._integrate(x[:take])
            x = x[take:]
            if self._n == self.period_samples:
                rows.append(self.row())
                self._start += self._n
                self._reset()
        return rows

    def _integrate(self, x: np.ndarray) -> None:
        ya = self._a.process(x)
        yc = self._c.process(x)
        self._ea += float(np.dot(ya, ya))
        self._ez += float(np.dot(x, x))
        self._fa = max(self._fa, float(np.max(self._fast_a.process(ya * ya))))
        self._fz = max(self._fz, float(np.max(self._fast_z.process(x * x))))
        self._pc = max(self._pc, float(np.max(np.abs(yc))))
        self._pz = max(self._pz, float(np.max(np.abs(x))))
        self._n += x.size
        self.samples += x.size

    def row(self) -> Optional[dict]:
        """The open period's row so far (the last, partial one at the end of a run); None if
        it holds no sample."""
        if not self._n:
            return None
        n = self._n
        return {"start_s": self.start_s + self._start / self.samplerate,
                "duration_s": n / self.samplerate,
                "LAeq": _db(self._ea / n), "LAFmax": _db(self._fa), "LCpeak": _db(self._pc ** 2),
                "LZeq": _db(self._ez / n), "LZFmax": _db(self._fz), "LZpeak": _db(self._pz ** 2)}
