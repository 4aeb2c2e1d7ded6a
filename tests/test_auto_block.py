"""The microphone's automatic block: about 10 ms, raised toward a longer analysis hop (up to
25 ms), and what a real PortAudio stream through the PulseAudio virtual microphone delivers."""

from __future__ import annotations

import pytest
from conftest import RATE, wait_until

from monitor.ringbuffer import RingBuffer
from monitor.settings import Settings
from monitor.sources.microphone import auto_blocksize


def test_the_automatic_block_follows_a_longer_hop_up_to_25_ms():
    assert [auto_blocksize(r) for r in (16000, 44100, 48000, 96000)] == [128, 512, 512, 1024]
    # Never below the 10 ms block, never above the hop nor 25 ms, a power of two.
    assert [auto_blocksize(48000, h) for h in (128, 512, 1000, 1024, 2048, 8192)] == \
        [512, 512, 512, 1024, 1024, 1024]
    assert [auto_blocksize(96000, h) for h in (1024, 2048, 4096)] == [1024, 2048, 2048]
    assert auto_blocksize(44100, 1024) == 1024 and auto_blocksize(16000, 1024) == 256


class CountingRing(RingBuffer):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.sizes: list = []

    def write(self, data) -> None:
        self.sizes.append(data.shape[0])
        super().write(data)

    def write_bytes(self, data) -> None:  # the microphone's path (PortAudio's raw buffer)
        self.sizes.append(len(data) // (4 * self.channels))
        super().write_bytes(data)


@pytest.mark.pulse
@pytest.mark.parametrize("hop,block", [(512, 512), (1024, 1024)])
def test_a_real_stream_delivers_the_automatic_block(pulse_mic, hop, block):
    from monitor.sources import open_source

    source = open_source(Settings(device="pulse", samplerate=RATE, channels=1, n_fft=4 * hop, hop=hop))
    assert source.blocksize == block
    ring = CountingRing(RATE, 1)
    source.start(ring)
    try:
        wait_until(lambda: len(ring.sizes) >= 10, 10, "ten callbacks")
    finally:
        source.stop()
    assert set(ring.sizes[:10]) == {block}
