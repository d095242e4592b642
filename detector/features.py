"""Model input: the one code path from samples to model windows, for training and serving.

A clip is prepared (``detector.preparation``), turned into a (frames, bins)
matrix by its front end (``detector.frontends``) and cut into standardised
windows (``detector.windows``). The corpus builder, the trainer and the
``Detector`` all go through :func:`model_input` with the model's saved
``FeatureConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.config import FeatureConfig
from detector.preparation import PreparedClip, fit_to_window, prepare_waveform
from detector.spectrum import clip_power, floored
from detector.windows import split_windows


def feature_code(config: FeatureConfig) -> dict[str, int]:
    """Versions of the arithmetic behind ``config``'s features, saved with every model.

    ``features.json`` holds the settings; these numbers (the front end's
    ``code``) say which code computed them, so a model is never served by feature
    code that has changed under it.
    """
    return dict(config.front_end.code)


def features_from_clip(samples: np.ndarray, power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Model features of a prepared clip whose power spectrogram (without noise floor) is already known."""
    unit = config.front_end
    fitted = fit_to_window(samples, config) if unit.fits_window else samples
    features = unit.compute(fitted, floored(power, config), config)
    return features.astype(np.float32, copy=False)


def clip_features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Model features of a prepared clip, shape (frames, config.n_bins), float32."""
    return features_from_clip(samples, clip_power(samples, config), config)


def feature_axis(config: FeatureConfig) -> tuple[np.ndarray, str]:
    """Values and unit of the feature axis (Hz for spectra, coefficient index for LFCC).

    For ``melfine`` and ``melexc`` the axis covers the mel bins only: the bands
    that follow them are summaries, not more spectrum, and are not drawn.
    """
    return config.front_end.axis(config)


@dataclass
class ModelInput:
    """One clip on its way to the model: every intermediate the server or trainer may need."""

    prepared: PreparedClip
    power: np.ndarray     # (frames, bins) power spectrogram, before the noise floor (quality checks use it)
    features: np.ndarray  # (frames, config.n_bins)
    windows: np.ndarray   # (n_windows, window_frames, n_bins, 1), standardised
    starts_s: np.ndarray  # start of each window in seconds


def model_input(samples: np.ndarray, config: FeatureConfig, check_length: bool = True) -> ModelInput:
    """Prepare, featurise and window a mono clip at ``config.sample_rate``.

    The one path from samples to model windows: the ``Detector`` and the trainer's
    feature cache both call it.
    """
    prepared = prepare_waveform(samples, config, check_length=check_length)
    power = clip_power(prepared.samples, config)
    features = features_from_clip(prepared.samples, power, config)
    windows, starts = split_windows(features, config)
    return ModelInput(prepared, power, features, windows, starts)
