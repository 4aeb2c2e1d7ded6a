"""Clipping counted at a device's real full scale.

PortAudio (and PulseAudio) map integer samples to float by dividing by 2**(bits-1), so an int16
device's largest positive sample arrives as 32767/32768 = 0.999969, never 1.0, while its most
negative one is exactly -1.0. A test ``abs(x) >= 1.0`` therefore never sees the positive rail.
Here a sample counts as clipped when it is part of a run of two or more consecutive samples at
or beyond the same rail (a signal that merely touches full scale once is not clipped), or when
it is beyond full scale at all (|x| > 1, which only a float device can deliver).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClipCounter", "POSITIVE_RAIL", "NEGATIVE_RAIL"]

# The largest positive int16 sample as a float; 24- and 32-bit devices reach higher still
# (1 - 2**-23, and 1.0 after rounding to float32), so this rail covers them too.
POSITIVE_RAIL = np.float32(32767 / 32768)
NEGATIVE_RAIL = np.float32(-1.0)


class ClipCounter:
    """Count clipped samples, block by block, per channel; runs may span blocks.

    Attributes
    ----------
    count : int
        Clipped samples so far (over all channels).
    """

    def __init__(self) -> None:
        self.count = 0
        self._last_rail = None  # per channel: +1, -1 or 0 for the previous block's last sample
        self._last_counted = None  # per channel: was that sample counted already

    def process(self, block: np.ndarray) -> int:
        """Count the clipped samples of ``block`` (frames × channels, float); returns them."""
        if block.ndim == 1:
            block = block[:, None]
        if block.shape[0] == 0:
            return 0
        channels = block.shape[1]
        if self._last_rail is None or self._last_rail.shape[0] != channels:
            self._last_rail = np.zeros(channels, np.int8)
            self._last_counted = np.zeros(channels, bool)
        if block.max() < POSITIVE_RAIL and block.min() > NEGATIVE_RAIL:
            # Nowhere near a rail (nearly every block): no run can start, end or go on here.
            self._last_rail[:] = 0
            self._last_counted[:] = False
            return 0
        rail = (block >= POSITIVE_RAIL).astype(np.int8) - (block <= NEGATIVE_RAIL).astype(np.int8)
        ext = np.concatenate((self._last_rail[None, :], rail))
        # joined[i]: sample i is at the same rail as the sample before it.
        joined = (ext[1:] == ext[:-1]) & (ext[1:] != 0)
        in_run = joined.copy()
        in_run[:-1] |= joined[1:]
        counted = in_run | (np.abs(block) > 1.0)
        # The previous block's last sample joins a run only now if the run goes on here.
        n = int(np.count_nonzero(counted)) + int(np.count_nonzero(joined[0] & ~self._last_counted))
        self._last_rail = rail[-1].copy()
        self._last_counted = counted[-1].copy()
        self.count += n
        return n
