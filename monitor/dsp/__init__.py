"""Digital signal processing kernels: no Qt, no audio I/O, runnable anywhere numpy runs."""

from monitor.dsp.features import AnalysisParams, FeatureBatch, FeatureExtractor
from monitor.dsp.mel import mel_filterbank, mel_frequencies
from monitor.dsp.stft import StreamingSTFT
from monitor.dsp.windows import get_window

__all__ = ["AnalysisParams", "FeatureBatch", "FeatureExtractor", "StreamingSTFT",
           "get_window", "mel_filterbank", "mel_frequencies"]
