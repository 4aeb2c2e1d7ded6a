"""Streaming detector of sample discontinuities: a step or kink in an otherwise predictable signal.

A lost or repeated buffer, a splice, or a click from a USB / clock resynchronisation leaves the
waveform smooth on either side of one sample and broken at it. A short linear predictor fitted
to the signal just before predicts each sample from the ``order`` before it; its error

    e[n] = x[n] - sum_k a_k x[n-k]

is small for anything the predictor has learnt (a tone of any frequency up to Nyquist, a slow
sweep, coloured noise is whitened) and jumps at a break. A sample is flagged when

    |e[n]| > k * rms(e over the ``window`` seconds before n)   and   |e[n]| >= floor,

and flagged samples at most ``merge`` samples apart make one event (a break disturbs the next
``order`` predictions). The coefficients come from the autocorrelation method (Hann-windowed
``fit`` seconds before each point of a fixed grid every ``hop`` seconds of stream, Levinson-
Durbin), so they do not depend on how the stream is cut into blocks; neither do the counts.

Why not the plain second difference x[n] - 2 x[n-1] + x[n-2] (the fixed predictor of a
straight line): for a tone it is a tone of relative size 4 sin^2(pi f / fs), 0.59 at fs/8, so
with k = 8 no step at all in a fs/8 tone could be seen (measured: none of 16 removed or
repeated buffers in 3-6 kHz tones at 44.1/48/96 kHz); the fitted predictor finds all of them.

False alarms. For Gaussian noise (white, pink: any linear filter of Gaussian noise) the error
is Gaussian, and |e| > 8 sigma has probability 2 Q(8) = 1.2e-15 per sample: one false event in
about 550 years at 48 kHz (the RMS of 2400 samples is within +-1.5 % of sigma). A tone's error
is rounding noise; digital silence gives e = 0 (below the floor), and the quantisation noise of
a quiet 16-bit tone (|e| of a few LSB) stays below the floor of 2^-10 (32 LSB at 16 bits).

What it cannot see, and what fires it:

- A step in white (or any broadband) noise: noise is unpredictable at every sample, and a
  splice of two noise segments is statistically the same noise.
- A step that is small against the predictor's error: a removed buffer whose length is a
  whole number of periods of a tone leaves no break at all.
- Steps into or out of exact zeros: a prediction whose samples (x[n-order..n]) include an exact
  zero is never flagged; runs of zeros are the dropout detector's (``monitor.dsp.detectors``).
  A single zeroed sample is thus seen by neither.
- A second break within ``window`` (50 ms) of a first is seen only when it is larger: the
  first one's errors are in the RMS it is compared with. A waveform that jumps to a rail and
  back 30 samples later (a stuck converter) counts once here, and as clipping; a steadily
  clipped tone is predictable and is no discontinuity.
- The first ``fit + window`` seconds (plus up to one hop): nothing is decided before the
  predictor and the scale have been filled once.
- Music with sharp transients (a drum hit, a plucked string, a consonant after a pause) can
  fire it: an attack is unpredictable from the 40 ms before it. Measured on the clips of
  ``resources/`` and the shared samples: see the README's "Detectors" section.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DiscontinuityDetector", "autocorrelations", "levinson", "predictors"]


def levinson(r, order: int) -> np.ndarray:
    """Predictor coefficients ``a[1..order]`` (x[n] ~ sum a_k x[n-k]) from the autocorrelation
    ``r[0..order]`` by Levinson-Durbin; zeros when r[0] is 0. Plain floats: for order 12 this
    is 30 µs, a tenth of the same loop on numpy arrays."""
    r = [float(v) for v in r[:order + 1]]
    a = [1.0] + [0.0] * order
    err = r[0]
    if err <= 0.0:
        return np.zeros(order)
    for i in range(1, order + 1):
        acc = sum(a[j] * r[i - j] for j in range(i))
        kappa = -acc / err
        a[1:i + 1] = [a[j] + kappa * a[i - j] for j in range(1, i + 1)]
        err *= 1.0 - kappa * kappa
        if err <= 0.0:
            break
    return -np.array(a[1:])


def predictors(r: np.ndarray, order: int) -> np.ndarray:
    """:func:`levinson` of every row of ``r`` (shape (m, order + 1)) at once: (m, order).

    Levinson-Durbin solves the Toeplitz normal equations ``R a = r[1:]``; here one batched
    LAPACK solve does it for all rows (with the detector's white-noise correction ``R`` is
    positive definite). A row with ``r[0] <= 0`` gives zeros, as :func:`levinson` does; should
    a system still be singular, the rows are done by :func:`levinson`. Agrees with it to
    rounding (the tests compare them). For 5 rows of order 12 (one 50 ms poll) 20 µs instead
    of 180 µs; :func:`levinson`'s recursion vectorised over the rows took 370 µs (its 12 steps
    of ~10 numpy calls each cost more than the arithmetic).
    """
    r = np.asarray(r, dtype=np.float64)[:, :order + 1]
    silent = r[:, 0] <= 0.0
    lags = np.abs(np.subtract.outer(np.arange(order), np.arange(order)))
    toeplitz = r[:, lags]
    rhs = r[:, 1:].copy()
    if silent.any():
        toeplitz[silent] = np.eye(order)
        rhs[silent] = 0.0
    try:
        return np.linalg.solve(toeplitz, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.array([levinson(row, order) for row in r]).reshape(r.shape[0], order)


def autocorrelations(w: np.ndarray, order: int) -> np.ndarray:
    """``r[:, i] = sum_j w[:, j] w[:, j + i]`` for ``i = 0..order`` of each row of ``w`` (m, n).

    One stacked product (a BLAS dot per row) per lag: for the detector's 10 windows of 1920
    samples a 0.1 s poll, 0.43 M instructions instead of 0.97 M for one einsum over a strided
    view of the lags (80 instead of 160 us), agreeing to rounding.
    """
    w = np.ascontiguousarray(w, dtype=np.float64)
    m, n = w.shape
    r = np.zeros((m, order + 1))
    for i in range(min(order, n - 1) + 1):
        r[:, i] = np.matmul(w[:, None, :n - i], w[:, i:, None])[:, 0, 0]
    return r


class DiscontinuityDetector:
    """Counts discontinuities in a 1-D stream, block by block.

    Parameters
    ----------
    samplerate : float
        Hz.
    k : float
        |prediction error| must exceed ``k`` times its RMS over the preceding window.
    floor : float
        And be at least this (full scale = 1); default 2^-10 (-60 dBFS, 32 LSB at 16 bits).
    window : float
        Seconds of prediction error whose RMS is the scale (0.05 s).
    order : int
        Predictor length, samples.
    fit, hop : float
        Seconds of signal the predictor is fitted to, and seconds between fits (a fixed grid
        of stream samples).
    merge : int
        Flagged samples at most this many samples apart are one event.

    Attributes
    ----------
    events : int
        Discontinuities counted so far.
    samples : int
        Samples looked at so far.
    last_events : ndarray of int64
        Sample indices (from this detector's first sample) of the events counted by the last
        :meth:`process` call: the first flagged sample of each.
    """

    def __init__(self, samplerate: float, k: float = 12.0, floor: float = 2.0 ** -10,
                 window: float = 0.05, order: int = 12, fit: float = 0.04, hop: float = 0.01,
                 after: float = 0.01, settle: float = 3.0, merge: int | None = None) -> None:
        self.samplerate = float(samplerate)
        self.k, self.floor, self.order = float(k), float(floor), int(order)
        self.settle = float(settle)
        self.merge = 2 * self.order if merge is None else int(merge)
        self.window = max(8, int(round(window * self.samplerate)))
        self.after = max(8, int(round(after * self.samplerate)))
        self.gap = 2 * self.order  # errors right after a break are disturbed by it
        self.fit = max(4 * self.order, int(round(fit * self.samplerate)))
        self.hop = max(1, int(round(hop * self.samplerate)))
        self._taper = np.hanning(self.fit + 2)[1:-1]
        self._start = 0  # the sample the current continuous stretch began at
        self.events = 0
        self.samples = 0
        self.last_events = np.zeros(0, np.int64)
        self.restart()

    def restart(self) -> None:
        """The next sample does not follow the last one (samples were skipped): start afresh,
        keeping the counts; nothing is decided until the predictor and the scale are filled
        again. The undecided last :attr:`delay` samples are not decided."""
        self._start = self.samples
        # The first grid point with a full fit behind it, and the first decided sample.
        self._first_fit = -(-(self._start + self.fit) // self.hop) * self.hop
        self._first_decision = self._first_fit + self.window
        self._x = np.zeros(0, np.float64)  # the last fit + order samples
        self._a = np.zeros(self.order)  # coefficients of the current grid segment
        # Squared errors and candidacy of the samples not yet decided and the window before.
        self._e2 = np.zeros(0, np.float64)
        self._ok = np.zeros(0, bool)
        self._decided = 0  # samples decided so far (every sample before this index)
        self._last_flag = -(1 << 62)  # index of the last flagged sample

    @property
    def delay(self) -> int:
        """Samples after a sample before it is decided (the error after it is looked at)."""
        return self.gap + self.after

    def _fit(self, segments: np.ndarray) -> np.ndarray:
        """Predictors (m, order) fitted to the rows of ``segments`` (m, fit), all at once.

        One 50 ms block crosses 5 grid points (a 0.1 s poll 10). Fitted one at a time, with
        Levinson in Python floats, the detector took 81.7 M instructions per second of
        48 kHz audio; fitted all at once 53.7 M (``python -m bench.thread_cpu detector
        --instructions``).
        """
        r = autocorrelations(segments * self._taper, self.order)
        r[:, 0] *= 1.0 + 1e-9  # white-noise correction: a pure tone's system stays solvable
        return predictors(r, self.order)

    def _errors(self, ext: np.ndarray, base: int, start: int, n: int) -> np.ndarray:
        """Prediction errors of samples ``start .. start + n`` (ext[0] is sample ``base``).

        Each sample is predicted with the coefficients of its grid segment (refit at every
        grid point crossed, all fits at once); no error before the first fit.
        """
        err = np.zeros(n)
        points = np.arange(-(-start // self.hop) * self.hop, start + n, self.hop)
        fitted = points[points >= self._start + self.fit]
        if fitted.size:
            first = int(fitted[0]) - base - self.fit  # ext index of the first fit's first sample
            step = ext.strides[0]
            windows = np.lib.stride_tricks.as_strided(ext[first:], (fitted.size, self.fit),
                                                      (self.hop * step, step), writeable=False)
            # Row 0: the coefficients in use before the block's first fit (self._a).
            table = np.concatenate((self._a[None, :], self._fit(windows)))
            self._a = table[-1]
        else:
            table = self._a[None, :]
        lo = max(start, self._first_fit)  # the first sample predicted
        end = start + n
        if lo >= end:
            return err
        # Whole grid segments from the grid point g0 at or before lo (ext holds fit + order
        # samples before the block, so g0 - order is in it), padded past the end with zeros:
        # then every lag is one (segments, hop) view times a column of coefficients, 2 x
        # order ufunc calls for the block. An einsum of each sample's lag row with its
        # segment's row (np.repeat) took 0.7 M instructions a 0.1 s poll; a convolution per
        # segment more.
        hop, p = self.hop, self.order
        g0 = lo - lo % hop
        count = -(-(end - g0) // hop)
        x = np.zeros(count * hop + p)
        x[:end - g0 + p] = ext[g0 - base - p:end - base]
        first_row = int(np.searchsorted(fitted, g0, side="right"))  # 0: carried in
        rows = table[first_row:first_row + count]  # (count, order): a_1 .. a_p per segment
        pred = np.zeros((count, hop))
        term = np.empty((count, hop))
        for k in range(1, p + 1):  # pred[n] += a_k x[n - k]
            np.multiply(x[p - k:p - k + count * hop].reshape(count, hop), rows[:, k - 1:k], out=term)
            pred += term
        pred = pred.ravel()[lo - g0:end - g0]
        err[lo - start:] = ext[lo - base:end - base] - pred
        return err

    def _touches_zero(self, ext: np.ndarray, n: int) -> np.ndarray:
        """Whether the prediction of each of the last ``n`` samples of ``ext`` (the sample and
        the ``order`` before it) holds an exact zero."""
        p, size = self.order, ext.size
        s0 = size - n - p
        if s0 < 0:  # the stream's first samples: fewer than ``order`` before them
            zeros = np.concatenate(([0], np.cumsum(ext == 0.0)))
            j = np.arange(size - n, size)
            return zeros[j + 1] - zeros[np.maximum(j - p, 0)] > 0
        z = ext[s0:] == 0.0
        if not z.any():  # the usual case: one pass
            return np.zeros(n, bool)
        zeros = np.concatenate(([0], np.cumsum(z)))
        return zeros[p + 1:] - zeros[:n] > 0

    def process(self, x: np.ndarray) -> int:
        """Look at the next block ``x`` (1-D, full scale +-1); returns the new events (of
        samples up to :attr:`delay` before the end of the block)."""
        self.last_events = np.zeros(0, np.int64)
        n = x.shape[0]
        if not n:
            return 0
        start, p = self.samples, self.order
        self.samples += n
        ext = np.concatenate((self._x, np.asarray(x, np.float64)))
        base = start - self._x.size  # stream index of ext[0]
        self._x = ext[-(self.fit + p):].copy()
        err = self._errors(ext, base, start, n)
        # Slices, not index arrays: the decisions gathered cs, e2 and the zero counts through
        # 8 index arrays of the block's length (numpy's mapiter was ~15 % of the detector).
        ok = (np.abs(err) >= self.floor) & ~self._touches_zero(ext, n)
        ok[:max(0, min(n, self._first_decision - start))] = False
        e2 = np.concatenate((self._e2, err * err))
        okh = np.concatenate((self._ok, ok))
        first = self.samples - e2.size  # stream index of e2[0]
        # Decide every sample with its window before and its error after in the history.
        lo = max(self._decided, first + self.window)
        hi = self.samples - self.delay
        new = np.zeros(0, np.int64)
        if hi > lo:
            cs = np.concatenate(([0.0], np.cumsum(e2)))
            u, v = lo - first, hi - first  # e2 indices of the samples decided
            w, g, t = self.window, self.gap, self.after
            before = (cs[u:v] - cs[u - w:v - w]) / w
            after = (cs[u + g + t:v + g + t] - cs[u + g:v + g]) / t
            # A break: a lone error far above the error before it, with the error after it
            # back near that level (an attack stays unpredictable for milliseconds).
            flag = okh[u:v] & (e2[u:v] > self.k * self.k * before) \
                & (after <= self.settle * self.settle * before)
            idx = first + u + np.flatnonzero(flag)
            if idx.size:
                gaps = np.diff(np.concatenate(([self._last_flag], idx)))
                new = idx[gaps > self.merge]
                self._last_flag = int(idx[-1])
            self._decided = hi
        keep = self.samples - max(self._decided, first) + self.window
        self._e2, self._ok = e2[-keep:].copy(), okh[-keep:].copy()
        self.last_events = new.astype(np.int64)
        self.events += int(new.size)
        return int(new.size)
