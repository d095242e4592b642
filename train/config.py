"""Training configuration: one dataclass, saved with every run and model version.

Like the AASIST configs, every knob of a training run lives here so a run can be
reproduced from its ``train_config.json`` alone. The feature settings are the
core :class:`~detector.config.FeatureConfig`, saved separately as ``features.json``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detector import paths
from detector.config import FeatureConfig

DEFAULT_ARCH = "effnet"
# The store the app serves from ($DETECTOR_MODEL_STORE or model_store/), so a model trained from a
# terminal lands where the app looks; read at import, like detector.registry.DEFAULT_STORE.
DEFAULT_STORE = paths.model_store()
DEFAULT_RUNS = paths.RUNS_DIR
DEFAULT_CACHE = paths.FEATURE_CACHE_DIR
# Committed recipes: quick (the Admin page's retrain, <= 15 minutes on 2 cores) is the TrainConfig
# defaults below, defined nowhere else; full (the shipped model, `make train`, <= 90 minutes) and fold
# (the held-out protocols' retraining) are JSON files in train/recipes/.
QUICK_RECIPE = "quick"
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
# The shipped recipe's feature type. detector.config.FeatureConfig keeps "logspec" as its own
# default on purpose: features.json files saved before the feature field existed mean logspec.
DEFAULT_FEATURE = "melexc"

# Architecture name -> module under train.archs (whose build() imports Keras). Kept here, free of
# TensorFlow, so the admin page can offer the names without importing the architectures.
ARCHITECTURES: dict[str, str] = {
    "seed-cnn": "train.archs.seed_cnn",
    "effnet": "train.archs.effnet",
}


def available_recipes() -> list[str]:
    """Names of the committed recipes: ``quick`` and those in ``train/recipes/``."""
    return sorted({QUICK_RECIPE, *(p.stem for p in RECIPES_DIR.glob("*.json"))})


def load_recipe(name: str) -> "TrainConfig":
    """The committed recipe ``name``: ``quick`` (the :class:`TrainConfig` defaults) or ``train/recipes/<name>.json``."""
    if name == QUICK_RECIPE:
        return TrainConfig()
    path = RECIPES_DIR / f"{name}.json"
    if not path.exists():
        raise ValueError(f"unknown recipe {name!r}; choose one of {available_recipes()}")
    return TrainConfig.load(path)


def available_archs() -> list[str]:
    """Registered architecture names, sorted."""
    return sorted(ARCHITECTURES)


@dataclass
class AugmentConfig:
    """SpecAugment-style masking and a random spectral gain, applied to training windows only.

    A plain global gain would be a no-op here: every clip is loudness-normalised and
    every window standardised, so the "random gain" is a smooth random tilt across
    frequency (an EQ/microphone colouring) of up to ``eq_db`` decibels. With
    ``window_norm="per_band"`` the network never sees such a colouring (each band's
    mean is removed), so the gain changes nothing there and only the masks act.
    """

    prob: float = 0.8               # chance that one training window is augmented at all
    time_masks: int = 2
    time_mask_frames: int = 20      # widest time mask, in frames (10 ms each)
    freq_masks: int = 2
    freq_mask_fraction: float = 0.08  # widest frequency mask, as a share of the bins
    eq_db: float = 3.0              # peak-to-peak spectral tilt/ripple in dB (spectra only)
    # Chance that a training window (either label) looks band-limited: everything above a random
    # 3.4-7.5 kHz edge, and half the time below a random 100-300 Hz edge, drops to the window's floor.
    # Real fakes arrive through phones and messengers; a model must not read "full band" as a label.
    band_limit_prob: float = 0.0


@dataclass
class TrainConfig:
    """Everything that defines one training run.

    Attributes
    ----------
    arch : str
        Name in :data:`ARCHITECTURES`.
    arch_params : dict
        Keyword arguments of the architecture's ``build`` function.
    feature : str
        Feature type (one of ``detector.config.FEATURE_TYPES``); the other feature
        settings are the :class:`FeatureConfig` defaults.
    epochs, batch, lr : int, int, float
        Maximum epochs, windows per batch and peak learning rate.
    optimizer : str
        ``adam``, ``adamw`` or ``sgd``.
    loss : str
        ``bce`` (binary cross-entropy on a logit) or ``ocsoftmax`` (one-class softmax on
        a cosine score, :mod:`train.losses`).
    patience : int
        Epochs without a better validation EER before stopping.
    seed : int
        Seeds numpy, Python and TensorFlow.
    windows_per_clip : float
        Training windows drawn per training clip per epoch (defines an epoch).
    max_minutes : float or None
        Wall-clock budget for the fitting loop; the best epoch so far is kept.
    weight_average_decay : float
        Decay of the exponential moving average of the weights that is validated
        and shipped (:mod:`train.averaging`); 0 (the default) validates the raw weights.
    window_norm : str
        How each window is normalised (``detector.config.WINDOW_NORMS``); saved in
        the model's ``features.json`` so serving does the same.
    speaker_balance : float
        How evenly training batches draw from speakers within each class or family:
        0 every clip alike, 1 every speaker alike (:func:`train.batches.balanced_weights`).
    exclude_families : list of str
        Synthetic families removed from train and validation (leave-one-family-out).
    recipe : str
        Name of the committed recipe the run started from (:func:`load_recipe`).
    """

    arch: str = DEFAULT_ARCH
    arch_params: dict[str, Any] = field(default_factory=dict)
    # The defaults are the quick recipe (the Admin page's retrain). The shipped model used the full
    # recipe (train/recipes/full.json: one-class softmax, longer). Features: mel had the lowest
    # validation EER of logspec/mel/lfcc at equal training time on the default corpus, and mel plus
    # excitation statistics ("melexc") beat mel alone (validation EER 13.2 % against 15.8 %):
    # docs/experiments.md.
    # 28 epochs of ~29 s (train/loop.py) fill the cosine decay; the 13-minute budget is the
    # safety stop that keeps a full retrain, feature extraction included, within 15.
    feature: str = DEFAULT_FEATURE
    # "per_band" led after 10 epochs (validation EER 20.4 % against 21.6 %) but not after
    # the full 28 (17.1 % against 15.8 %): docs/experiments.md.
    window_norm: str = "global"
    epochs: int = 28
    batch: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05   # binary cross-entropy only
    loss: str = "bce"               # "bce" or "ocsoftmax" (train.losses)
    patience: int = 10
    seed: int = 1234
    windows_per_clip: float = 1.0
    max_minutes: float | None = 13.0
    weight_average_decay: float = 0.0
    speaker_balance: float = 0.0
    exclude_families: list[str] = field(default_factory=list)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # Which committed recipe (:func:`load_recipe`) this run came from; "+changes" when options
    # overrode it. The card names it.
    recipe: str = "quick"

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments of the architecture's ``build``: ``arch_params`` plus what the loss needs.

        One-class softmax scores with a cosine head (``train.losses``); training and the
        saved ``model.keras`` both build through here, so they cannot disagree.
        """
        return {**self.arch_params, **({"output": "cosine"} if self.loss == "ocsoftmax" else {})}

    def feature_config(self) -> FeatureConfig:
        """The serving feature configuration this run trains with."""
        return FeatureConfig(feature=self.feature, window_norm=self.window_norm)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = dict(data)
        augment = AugmentConfig(**data.pop("augment", {}))
        return cls(augment=augment, **data)

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        """Read a saved ``train_config.json`` or a recipe file."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"cannot read a training recipe from {path}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
