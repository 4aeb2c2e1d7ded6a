"""Incremental (streaming) short-time Fourier transform."""

from __future__ import annotations

import numpy as np

from monitor.dsp.windows import get_window

__all__ = ["StreamingSTFT"]


class StreamingSTFT:
    """Power spectrogram of a stream that arrives in blocks of any size.

    Frame ``k`` covers samples ``[k * hop, k * hop + n_fft)`` of the whole stream (no centre
    padding), so the frames are identical to an offline STFT with ``center=False`` however the
    stream is cut. Samples not yet covered by a complete frame are kept for the next call.

    Parameters
    ----------
    n_fft : int
        Frame and window length, samples.
    hop : int
        Samples between frame starts (1 ≤ hop ≤ n_fft).
    window : str
        Window name, see :func:`monitor.dsp.windows.get_window`.
    dtype : numpy dtype
        Of the frames handed out: float32, or float64 (the samples are rounded to float32
        first either way, so the values are the same). float64 frames save the feature path
        the float32 → float64 casts of the window product and of the frame's squares (~10k
        of its ~480k instructions a frame, valgrind).
    """

    def __init__(self, n_fft: int, hop: int, window: str = "hann", dtype=np.float32) -> None:
        self.n_fft = n_fft
        self.hop = hop
        self.window = get_window(window, n_fft)
        self.n_bins = n_fft // 2 + 1
        self.frame_index = 0  # index of the next frame to emit
        self._skip = 0  # samples still to discard after a seek
        # Samples not yet consumed live in _buf[_start:_end]. Appending copies into this
        # buffer instead of concatenating (an allocation per block); the consumed head is
        # dropped when the buffer is full, at a later call, so the frames handed out stay
        # valid until the next call.
        self._buf = np.zeros(4 * n_fft, dtype=dtype)
        self._start = self._end = 0
        self._no_frames = np.zeros((0, n_fft), dtype=dtype)
        self._no_frames.flags.writeable = False
        # Frames per power() call computed in kept buffers (16 at n_fft 2048, 2 at 16384):
        # 2 × 256 KiB, which stay in the L2 cache.
        self.scratch_rows = max(1, SCRATCH_BYTES // (8 * n_fft))
        self._windowed = np.zeros((0, n_fft))  # scratch of power(), scratch_rows when used
        self._spectrum = np.zeros((0, self.n_bins), np.complex128)

    def seek(self, position: int) -> None:
        """Restart at stream sample ``position`` (the index of the next sample to arrive).

        Frames then resume with the first frame that starts at or after it, keeping frame
        ``k`` at sample ``k * hop`` of the whole stream after a change of parameters.
        """
        self.frame_index = -(-position // self.hop)
        self._skip = self.frame_index * self.hop - position
        self._start = self._end = 0

    def samples_until_frame(self) -> int:
        """Samples still to arrive before the next frame is complete (≥ 1)."""
        return self._skip + max(1, self.n_fft - (self._end - self._start))

    def frames(self, block: np.ndarray) -> np.ndarray:
        """Append ``block`` (1-D samples) and return every newly complete frame.

        Returns
        -------
        frames : ndarray, shape (n_new, n_fft)
            Raw (unwindowed) samples of each new frame (of the ``dtype`` given); a read-only
            view, valid until the next call.
        """
        block = np.asarray(block, dtype=np.float32)
        if self._skip:
            skipped = min(self._skip, block.size)
            block, self._skip = block[skipped:], self._skip - skipped
        end = self._end + block.size
        if end > self._buf.size:
            # Move the held samples to the front only when the buffer is full (every ~6 hops
            # at hop n_fft/4, not at every frame: one slice copy less per frame).
            held = self._end - self._start
            end = held + block.size
            buf = self._buf if end <= self._buf.size else np.empty(max(end, 2 * self._buf.size),
                                                                   self._buf.dtype)
            buf[:held] = self._buf[self._start:self._end]  # overlap-safe (numpy copies)
            self._buf, self._start, self._end = buf, 0, held
        self._buf[self._end:end] = block
        self._end = end
        size = end - self._start
        if size < self.n_fft:
            return self._no_frames
        n_new = (size - self.n_fft) // self.hop + 1
        # A strided view over the buffer (what sliding_window_view(buf, n_fft)[::hop] gives,
        # without its ~20 µs of Python per call).
        step = self._buf.itemsize
        frames = np.ndarray((n_new, self.n_fft), self._buf.dtype, self._buf, self._start * step,
                            (self.hop * step, step))
        frames.flags.writeable = False
        self._start += n_new * self.hop
        self.frame_index += n_new
        return frames

    def power(self, frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """|rfft(window · frame)|² of each frame, shape (n, n_fft // 2 + 1): float64, or the
        dtype of ``out``.

        Computed in float64 so that bins 100 dB below the strongest one keep their precision.
        A float32 ``out`` receives the float64 result rounded (as ``.astype(np.float32)`` would)
        without a float64 temporary.
        """
        n = frames.shape[0]
        if n > self.scratch_rows:  # callers wanting speed pass at most scratch_rows frames
            spectrum = np.fft.rfft(frames * self.window, axis=1)
        else:
            # Reusing the window product and the spectrum saves two allocations per call (for
            # a live frame ~2 µs, and rfft(out=), numpy >= 2, a copy); for batches, the page
            # faults of fresh multi-MB temporaries (the offline run's 2 s of system time).
            if self._windowed.shape[0] < n:
                self._windowed = np.empty((self.scratch_rows, self.n_fft))
                self._spectrum = np.empty((self.scratch_rows, self.n_bins), np.complex128)
            windowed = np.multiply(frames, self.window, out=self._windowed[:n])
            spectrum = _rfft(windowed, self._spectrum[:n])
        # Square re and im in place in the interleaved float64 view, then add the pairs.
        flat = spectrum.view(np.float64)
        np.multiply(flat, flat, out=flat)
        return np.add(flat[:, 0::2], flat[:, 1::2], out=out)


SCRATCH_BYTES = 256 * 1024  # size of power()'s kept window product (and of its spectrum)


def _rfft_numpy(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.fft.rfft(x, axis=1, out=out)`` (numpy >= 2.0: its pocketfft gufunc called directly).

    The same gufunc with the same arguments that ``np.fft.rfft`` ends in, so the same numbers;
    its Python wrapper (norm, dtype and axis handling) is ~16k of the ~180k instructions of a
    one-frame call at n_fft 2048 (valgrind; the plan is rebuilt inside the gufunc each call).
    """
    ufunc = _RFFT_EVEN if x.shape[1] % 2 == 0 else _RFFT_ODD
    # The core dimensions are the last axis by default: an ``axes=`` argument costs ~15k more.
    return ufunc(x, 1.0, out=out)


def _rfft_new(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.fft.rfft(x, axis=1)


def _rfft_scipy(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """scipy.fft's pocketfft (plan cache): ~157k instructions a 2048 frame against ~164k here,
    and +~0.1 s of import; scipy is not a dependency (see bench/findings.md, "streaming DSP,
    issue 12"). Not used; the one-line switch is ``_rfft`` below."""
    import scipy.fft

    return scipy.fft.rfft(x, axis=1, workers=1)


try:  # numpy >= 2.0: rfft as gufuncs that take out=
    from numpy.fft import _pocketfft_umath as _pfu

    _RFFT_EVEN, _RFFT_ODD = _pfu.rfft_n_even, _pfu.rfft_n_odd
    _rfft = _rfft_numpy
except (ImportError, AttributeError):  # numpy 1.x: no out=, a new array per call
    _rfft = _rfft_new
