"""``whisper``: the log-mel spectrogram a pretrained Whisper encoder reads, for encoder model versions.

Not a CNN input: an encoder version's features are the Whisper encoder's outputs,
pooled (:mod:`detector.encoder.scorer`). This front end is what ``features.json``
names for such a version, and it computes the encoder's own input
(:func:`detector.encoder.runtime.encoder_input`: Whisper's recipe with the noise floor
every front end adds) so the app draws the spectrogram the encoder saw. The clip is
never repeated to fill a window: the encoder reads clips of any length, and training
read them as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from detector.frontends.base import FEATURES_VERSION, FrontEnd
from detector.frontends.mel import mel_frequencies

if TYPE_CHECKING:
    from detector.config import FeatureConfig

WHISPER_MELS = 80             # fixed by the pretrained encoder, whatever FeatureConfig.n_mels says
WHISPER_TOP_HZ = 8000.0       # Whisper's mel bands span 0 Hz to half of 16 kHz
WHISPER_LOGMEL_VERSION = 1    # bump when detector.encoder.logmel's numbers change


def _compute(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    from detector.encoder.runtime import encoder_input  # imported here: the feature registry stays light to import

    return encoder_input(samples)


def _bins(config: FeatureConfig) -> int:
    return WHISPER_MELS


def _axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    # Centre frequencies of Whisper's Slaney mel filters: edges from 0 Hz to 8 kHz, both ends dropped.
    return mel_frequencies(WHISPER_MELS + 2, 0.0, WHISPER_TOP_HZ)[1:-1], "Hz"


def _describe(config: FeatureConfig) -> str:
    return (f"an {WHISPER_MELS}-band Whisper log-mel spectrogram read by a pretrained Whisper encoder, whose "
            "outputs are averaged over the clip (mean and standard deviation)")


WHISPER = FrontEnd(
    name="whisper", label="Whisper encoder", code={"features": FEATURES_VERSION, "whisper_logmel": WHISPER_LOGMEL_VERSION},
    compute=_compute, bins=_bins, spectrum=_bins, axis=_axis, describe=_describe, fits_window=False,
    # (log10 power + 4) / 4: one unit is four decades of power
    level_label="loudness (1 unit = 40 dB)",
)
