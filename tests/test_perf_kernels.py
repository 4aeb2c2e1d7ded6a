"""Fast paths kept bit-identical to the general code they shortcut (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.dsp.clipping import ClipCounter
from monitor.dsp.levels import peak_frequency_db


def _db(power):
    return (10.0 * np.log10(np.maximum(power, 1e-30))).astype(np.float32)


@pytest.mark.parametrize("n_bins", [3, 4, 129, 1025])
def test_one_row_peak_frequency_equals_the_vectorised_one(n_bins):
    rng = np.random.default_rng(n_bins)
    for trial in range(200):
        power = (rng.random((5, n_bins)) ** rng.uniform(1, 30)).astype(np.float32)
        if trial % 5 == 0:
            power[:, trial % n_bins] = power.max() * 3  # peaks at the edges and inside
        if trial % 17 == 0:
            power[1] = 0.0
        together = peak_frequency_db(_db(power), 44100.0, 2 * (n_bins - 1))
        one_by_one = np.concatenate([peak_frequency_db(_db(power[i:i + 1]), 44100.0, 2 * (n_bins - 1))
                                     for i in range(len(power))])
        np.testing.assert_array_equal(one_by_one, together)


def test_sine_peak_is_refined_between_bins():
    sr, n_fft, f0 = 48000.0, 2048, 1000.0 + 0.37 * 48000 / 2048
    t = np.arange(n_fft) / sr
    frame = np.hanning(n_fft + 1)[:-1] * np.sin(2 * np.pi * f0 * t)
    power = (np.abs(np.fft.rfft(frame)) ** 2)[None, :].astype(np.float32)
    assert peak_frequency_db(_db(power), sr, n_fft)[0] == pytest.approx(f0, abs=0.1 * sr / n_fft)


def test_clip_counter_quiet_blocks_end_a_run_as_before():
    rail = np.float32(32767 / 32768)
    x = np.zeros((12, 2), np.float32)
    x[3:6, 0] = rail  # a run of 3 on channel 1
    x[11, 1] = -1.0  # the last sample touches the rail: counts only if the run goes on
    whole = ClipCounter()
    whole.process(np.vstack([x, np.zeros((4, 2), np.float32) + 0.1, x]))
    split = ClipCounter()
    for part in (x, np.zeros((4, 2), np.float32) + 0.1, x):  # the middle block is quiet
        split.process(part)
    assert split.count == whole.count == 6


def test_npz_from_blocks_loads_like_savez(tmp_path):
    from monitor.npz_writer import save_npz

    rng = np.random.default_rng(3)
    parts = [rng.standard_normal((n, 5)).astype(np.float32) for n in (3, 0, 7, 1)]
    written = str(tmp_path / "features.npz")  # exactly the name given: no suffix added
    save_npz(written, {"x": (parts, 5, np.float32), "none": ([], 4, np.float32)},
             {"t": np.arange(3.0), "name": "hann", "rate": 48000.0, "flag": False})
    np.savez(tmp_path / "reference.npz", x=np.concatenate(parts), none=np.zeros((0, 4), np.float32),
             t=np.arange(3.0), name="hann", rate=48000.0, flag=False)
    ours, ref = np.load(written), np.load(tmp_path / "reference.npz")
    assert sorted(ours.files) == sorted(ref.files)
    for key in ref.files:
        assert ours[key].dtype == ref[key].dtype and ours[key].shape == ref[key].shape
        np.testing.assert_array_equal(ours[key], ref[key])


def test_samples_until_frame_counts_what_the_next_frame_still_needs():
    from monitor.dsp.stft import StreamingSTFT

    stft = StreamingSTFT(2048, 512)
    assert stft.samples_until_frame() == 2048
    stft.frames(np.zeros(2000, np.float32))
    assert stft.samples_until_frame() == 48
    assert stft.frames(np.zeros(48, np.float32)).shape[0] == 1
    assert stft.samples_until_frame() == 512  # one hop after a frame
    stft.seek(10_000)  # the next frame starts at 10,240: 240 samples skipped, then 2048
    assert stft.samples_until_frame() == 240 + 2048


def test_worker_sleeps_until_the_next_frame_within_bounds():
    from monitor.ringbuffer import RingBuffer
    from monitor.settings import Settings
    from monitor.worker import AnalysisWorker

    ring = RingBuffer(48000, 1)
    worker = AnalysisWorker(Settings(n_fft=2048, hop=512), ring, 48000)
    ring.write(np.zeros((100, 1), np.float32))
    worker.poll()  # 1948 samples (40.6 ms) missing for the first frame: capped
    assert worker._wait_seconds() == pytest.approx(worker.MAX_WAIT_SECONDS)
    ring.write(np.zeros((1500, 1), np.float32))  # in the ring, not yet analysed
    assert worker._wait_seconds() == pytest.approx(448 / 48000)
    ring.write(np.zeros((440, 1), np.float32))  # 8 samples short: the shortest sleep
    assert worker._wait_seconds() == pytest.approx(worker.POLL_SECONDS)


def test_automatic_block_is_about_ten_milliseconds():
    from monitor.sources.microphone import auto_blocksize

    assert [auto_blocksize(r) for r in (16000, 44100, 48000, 96000)] == [128, 512, 512, 1024]
