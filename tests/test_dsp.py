"""Streaming DSP: equal to an offline computation for any block partition, and to librosa."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

librosa = pytest.importorskip("librosa")

from monitor.dsp.db import power_to_db  # noqa: E402
from monitor.dsp.features import AnalysisParams, FeatureExtractor  # noqa: E402
from monitor.dsp.mel import hz_to_mel, mel_filterbank, mel_to_hz  # noqa: E402
from monitor.dsp.stft import StreamingSTFT  # noqa: E402
from monitor.dsp.windows import get_window  # noqa: E402
from monitor.settings import Settings  # noqa: E402

TOL_DB = 1e-3
FLOOR_DB = -100.0
# Two summation orders of K positive float32 terms differ by at most 2·K·2⁻²⁴ relative. The
# widest band of the streaming tests (n_fft 1024 at 16 kHz, 32 mels) has K = 87 weights:
# 10·log10(1 + 2·87·2⁻²⁴) = 4.5e-5 dB, plus the float32 rounding of the dB value itself
# (≤ 100 dB · 2⁻²⁴ = 6e-6 dB). Measured here (AVX2): under 1e-5 dB.
MEL_REORDER_DB = 1e-4


def signal(kind: str, sr: int, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Test signals at realistic levels, float32 as the ring buffer delivers them."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    if kind == "noise":
        y = 0.1 * rng.standard_normal(t.size)
    elif kind == "tones":
        y = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 3000.5 * t)
    elif kind == "chirp":
        y = 0.7 * np.sin(2 * np.pi * (100 * t + 0.5 * (sr / 5) * t ** 2 / seconds))
    elif kind == "speechlike":  # noise bursts with silence between: big dynamic range
        y = 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 3 * t) > 0.3)
    else:
        raise ValueError(kind)
    return y.astype(np.float32)


def stream(extractor: FeatureExtractor, y: np.ndarray, cuts) -> dict:
    parts = {k: [] for k in ("power_db", "mel_db", "peak_dbfs", "rms_dbfs", "peak_hz")}
    first = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        batch = extractor.process(y[a:b])
        if len(batch):
            first.append((batch.first_frame, len(batch)))
            for k in parts:
                parts[k].append(getattr(batch, k))
    out = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    out["first"] = first
    return out


def librosa_mel_db(y, sr, n_fft, hop, n_mels, fmin, fmax):
    mel = librosa.feature.melspectrogram(
        y=y.astype(np.float64), sr=sr, n_fft=n_fft, hop_length=hop, win_length=n_fft,
        window="hann", center=False, power=2.0, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False,
        norm="slaney")
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).T, mel.T


def librosa_power_db(y, n_fft, hop):
    power = np.abs(librosa.stft(y.astype(np.float64), n_fft=n_fft, hop_length=hop, window="hann",
                                center=False)) ** 2
    return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None).T, power.T


def assert_db_close(ours, ref_db, ref_power):
    assert ours.shape == ref_db.shape
    above = 10 * np.log10(np.maximum(ref_power, 1e-300)) > FLOOR_DB
    assert above.sum() >= 0.1 * above.size, "test signal too quiet to test anything"
    err = np.abs(ours.astype(np.float64) - ref_db)[above]
    assert err.max() < TOL_DB, f"max error {err.max():.2e} dB"


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("kind", ["noise", "tones", "chirp", "speechlike"])
def test_matches_librosa_default_params(sr, kind):
    y = signal(kind, sr)
    params = AnalysisParams.from_settings(Settings(n_mels=64), sr)
    out = stream(FeatureExtractor(params), y, [0, 1000, 1001, 7777, y.size])
    ref_db, ref_mel = librosa_mel_db(y, sr, 2048, 512, 64, 0.0, None)
    assert_db_close(out["mel_db"], ref_db, ref_mel)
    ref_pdb, ref_pow = librosa_power_db(y, 2048, 512)
    assert_db_close(out["power_db"], ref_pdb, ref_pow)


@pytest.mark.parametrize("n_fft,hop,n_mels,fmin,fmax", [
    (256, 64, 32, 0.0, None),
    (512, 512, 40, 50.0, 8000.0),
    (1024, 100, 80, 20.0, 20000.0),
    (4096, 1024, 256, 0.0, None),
    (16384, 4096, 128, 30.0, 16000.0),
])
def test_matches_librosa_parameter_sets(n_fft, hop, n_mels, fmin, fmax):
    sr = 44100
    y = signal("noise", sr, seconds=2.0, seed=3) + signal("tones", sr, seconds=2.0)
    s = Settings(n_fft=n_fft, hop=hop, n_mels=n_mels, fmin=fmin, fmax=fmax).validate()
    out = stream(FeatureExtractor(AnalysisParams.from_settings(s, sr)), y, [0, 3000, y.size])
    ref_db, ref_mel = librosa_mel_db(y, sr, n_fft, hop, n_mels, fmin, fmax)
    assert_db_close(out["mel_db"], ref_db, ref_mel)
    ref_pdb, ref_pow = librosa_power_db(y, n_fft, hop)
    assert_db_close(out["power_db"], ref_pdb, ref_pow)


@hsettings(max_examples=60, deadline=None)
@given(data=st.data(), n_fft=st.sampled_from([256, 512, 1024]), hop_div=st.sampled_from([1, 2, 3, 4, 7]),
       window=st.sampled_from(["hann", "hamming", "blackmanharris", "rectangular"]))
def test_streaming_equals_offline_for_any_partition(data, n_fft, hop_div, window):
    sr = 16000
    y = signal("noise", sr, seconds=0.4) + signal("tones", sr, seconds=0.4)
    hop = max(1, n_fft // hop_div)
    params = AnalysisParams.from_settings(Settings(n_fft=n_fft, hop=hop, window=window, n_mels=32), sr)
    offline = stream(FeatureExtractor(params), y, [0, y.size])
    # Cuts from single samples up to the whole signal.
    cuts = sorted(set(data.draw(st.lists(st.integers(0, y.size), max_size=40))) | {0, y.size})
    streamed = stream(FeatureExtractor(params), y, cuts)
    for key in ("power_db", "peak_dbfs", "rms_dbfs", "peak_hz"):
        np.testing.assert_array_equal(streamed[key], offline[key], err_msg=key)
    # The mel product goes through BLAS, whose blocking depends on the number of rows and on
    # the CPU's kernels (AVX2, AVX-512): the same frame may be summed in another order.
    np.testing.assert_allclose(streamed["mel_db"], offline["mel_db"], rtol=0, atol=MEL_REORDER_DB)
    # Frame numbering is contiguous and complete.
    expected = (y.size - n_fft) // hop + 1
    assert sum(n for _, n in streamed["first"]) == expected
    starts = [f for f, _ in streamed["first"]]
    counts = [n for _, n in streamed["first"]]
    assert starts == list(np.cumsum([0] + counts[:-1]))


def test_single_sample_blocks():
    sr = 16000
    y = signal("tones", sr, seconds=0.1)
    params = AnalysisParams.from_settings(Settings(n_fft=256, hop=64, n_mels=16), sr)
    one = stream(FeatureExtractor(params), y, list(range(y.size + 1)))
    whole = stream(FeatureExtractor(params), y, [0, y.size])
    np.testing.assert_array_equal(one["power_db"], whole["power_db"])
    np.testing.assert_allclose(one["mel_db"], whole["mel_db"], rtol=0, atol=MEL_REORDER_DB)


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("htk,norm", [(False, "slaney"), (True, None), (True, "slaney"), (False, None)])
@pytest.mark.parametrize("n_fft,n_mels,fmin,fmax", [(2048, 128, 0.0, None), (512, 40, 125.0, 7500.0),
                                                    (4096, 256, 20.0, None)])
def test_mel_filterbank_matches_librosa(sr, htk, norm, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk=htk, norm=norm)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                              norm=norm, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_mel_scale_round_trip_and_librosa():
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 8000.0, 22050.0])
    for htk in (False, True):
        np.testing.assert_allclose(hz_to_mel(hz, htk), librosa.hz_to_mel(hz, htk=htk), rtol=1e-12)
        np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, htk), htk), hz, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name,scipy_name", [("hann", "hann"), ("hamming", "hamming"),
                                             ("blackmanharris", "blackmanharris"),
                                             ("rectangular", "boxcar")])
def test_windows_are_periodic_like_scipy(name, scipy_name):
    scipy_signal = pytest.importorskip("scipy.signal")
    np.testing.assert_allclose(get_window(name, 1024),
                               scipy_signal.get_window(scipy_name, 1024, fftbins=True), atol=1e-12)


def test_power_to_db_floor():
    np.testing.assert_array_equal(power_to_db(np.array([0.0, 1e-12, 1e-10, 1.0])),
                                  [-100.0, -100.0, -100.0, 0.0])


def test_levels_of_full_scale_sine():
    sr = 48000
    t = np.arange(sr) / sr
    y = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = stream(FeatureExtractor(AnalysisParams.from_settings(Settings(), sr)), y, [0, y.size])
    assert np.all(np.abs(out["peak_dbfs"]) < 0.01)
    assert np.all(np.abs(out["rms_dbfs"] + 3.0103) < 0.03)  # 42.7 cycles per frame, not whole
    assert np.all(np.abs(out["peak_hz"] - 1000.0) < 1.0)  # parabolic refinement: << 23 Hz bin


def test_seek_keeps_frames_on_the_stream_grid():
    sr = 16000
    y = signal("noise", sr, seconds=0.5)
    stft = StreamingSTFT(512, 128)
    stft.seek(1000)  # the next sample to arrive is stream sample 1000
    frames = stft.frames(y[1000:])
    assert stft.frame_index - len(frames) == 8  # ceil(1000 / 128): first frame at sample 1024
    np.testing.assert_array_equal(frames[0], y[1024:1024 + 512])


def test_the_dense_mel_matrix_is_shared_while_held_and_not_kept():
    """The worker's projection and the display rows share one filterbank while they are built,
    and nothing keeps the dense float64 matrix afterwards (2.1 MiB at n_fft 4096, 128 mels)."""
    import gc

    from monitor.dsp.features import _MEL_WEIGHTS, AnalysisParams, FeatureExtractor
    from monitor.dsp.frequency_rows import FrequencyRows

    params = AnalysisParams(48000.0, 4096, 1024, "hann", 128, 0.0, 24000.0, False, "slaney")
    held = params.mel_weights()
    assert params.mel_weights() is held and not held.flags.writeable
    del held
    extractor, rows = FeatureExtractor(params), FrequencyRows(params, "mel")
    gc.collect()
    assert params not in _MEL_WEIGHTS
    assert extractor.process(np.zeros(8192, np.float32)).mel_db.shape == (5, 128)
    assert rows.n_rows == 128
