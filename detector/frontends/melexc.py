"""``melexc``: log mel followed by per-frame statistics of the voice's excitation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from detector.excitation import EXCITATION_ROWS, EXCITATION_VERSION, excitation_features
from detector.frontends.base import FEATURES_VERSION, FrontEnd
from detector.frontends.mel import log_mel, mel_axis, mel_bins, mel_words

if TYPE_CHECKING:
    from detector.config import FeatureConfig


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    # The excitation needs the waveform: the phase a spectrogram drops.
    return np.concatenate([log_mel(power, config), excitation_features(samples, config)], axis=1)


def _bins(config: FeatureConfig) -> int:
    return config.n_mels + EXCITATION_ROWS


def _describe(config: FeatureConfig) -> str:
    return (f"{mel_words(config)} plus {EXCITATION_ROWS} per-frame statistics of the voice's excitation (the "
            "linear-prediction residual: how peaky and how periodic it is, overall and in four bands), "
            "phase information a spectrogram drops")


MELEXC = FrontEnd(
    name="melexc", label="Log mel + voice source",
    code={"features": FEATURES_VERSION, "excitation": EXCITATION_VERSION},
    compute=_compute, bins=_bins, spectrum=mel_bins, axis=mel_axis, describe=_describe,
    extra_label="Voice source",
    extra_help="The *Voice source* strip is what the model reads besides the spectrogram: how peaky and how "
               "regular the voice's excitation (the buzz of the vocal folds, once the vocal tract is filtered "
               "out) is. Vocoders that rebuild a real voice from its spectrum get it wrong.",
)
