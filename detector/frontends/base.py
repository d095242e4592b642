"""What a front end is: one object per feature type, owning everything that differs between types.

A front end turns a prepared clip into a (frames, bins) feature matrix. The rest
of the project asks it, never the type's name, how many bins it makes, which of
them are spectrum, what its axis is, which code version computed it and how to
describe it, so adding a type means adding one module to ``detector.frontends``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # detector.config imports the registry, so only for annotations
    from detector.config import FeatureConfig

# Bump whenever the arithmetic shared by every front end changes (preparation, the
# spectrogram, the noise floor, the mel and linear filters), so on-disk feature
# caches are rebuilt and models saved with the old number are refused.
FEATURES_VERSION = 2

# (window-fitted samples, power spectrogram with noise floor, config) -> (frames, bins)
Compute = Callable[[np.ndarray, np.ndarray, "FeatureConfig"], np.ndarray]


@dataclass(frozen=True)
class FrontEnd:
    """One feature type.

    Attributes
    ----------
    name : str
        The ``FeatureConfig.feature`` value that selects it.
    label : str
        Short name the app shows (selectors, captions).
    code : Mapping[str, int]
        Versions of the code that computes it, saved with every model as
        ``feature_code`` and part of the trainer's cache key. Bump a number
        whenever the features it covers change (``tests/test_frontends.py`` fails
        until you do).
    compute : Compute
        Features of a prepared clip repeated to fill a window, given its power
        spectrogram with the noise floor added; (frames, bins), float32.
    bins : Callable[[FeatureConfig], int]
        Feature bins per frame.
    spectrum : Callable[[FeatureConfig], int]
        How many leading bins are spectrum (a frequency axis): EQ-able and drawable.
    axis : Callable[[FeatureConfig], tuple[np.ndarray, str]]
        Values and unit of the drawable leading bins (or of every bin when none is spectrum).
    describe : Callable[[FeatureConfig], str]
        The features in plain words, sizes included (the model card's phrase).
    extra_label, extra_help : str
        For types whose spectrum bins are followed by other rows: the label of
        those rows in the app's explanation and one sentence on what they mean.
    fits_window : bool
        Whether a clip shorter than one model window is repeated to fill it first
        (CNN inputs); ``False`` for an encoder's input, which reads clips as they are
        (:func:`detector.features.features_from_clip` applies it).
    level_label : str
        What the drawn values are, for the spectrogram's colour bar.
    """

    name: str
    label: str
    code: Mapping[str, int]
    compute: Compute
    bins: Callable[["FeatureConfig"], int]
    spectrum: Callable[["FeatureConfig"], int]
    axis: Callable[["FeatureConfig"], tuple[np.ndarray, str]]
    describe: Callable[["FeatureConfig"], str]
    extra_label: str = ""
    extra_help: str = ""
    fits_window: bool = True
    level_label: str = "level (dB)"

    def n_bins(self, config: FeatureConfig) -> int:
        """Feature bins per frame for ``config`` (the model's second input axis)."""
        return self.bins(config)

    def spectrum_bins(self, config: FeatureConfig) -> int:
        """Leading spectrum bins for ``config``; 0 when no bin is a frequency."""
        return self.spectrum(config)



def article(count: int) -> str:
    """"a" or "an" before ``count`` read aloud ("an 80-band", "an 11-band", "a 257-bin")."""
    spoken_vowel = str(count).startswith("8") or (str(count).startswith(("11", "18")) and len(str(count)) % 3 == 2)
    return "an" if spoken_vowel else "a"
