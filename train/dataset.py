"""Cached features of a manifest's clips, and how a model scores them clip by clip.

Features are computed once per clip with :func:`detector.features.model_input`
(the serving code path) and cached on disk as one ``.npy`` per clip, in a folder
named by a hash of the :class:`FeatureConfig`, so changing any feature setting
can never reuse stale features. Evaluation windows come from
:func:`detector.windows.split_windows`, exactly what the server scores; training
batches are random crops of the same matrices (:mod:`train.batches`).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from detector.audio import load_audio
from detector.clips import aggregated, logits_per_clip
from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.features import feature_code, model_input
from detector.windows import split_windows

CACHE_DTYPE = np.float16  # halves disk and RAM; rounding (<0.1 dB) is far below any cue
EVAL_BATCH = 256          # windows per forward pass when scoring


# Feature cache --------------------------------------------------------------------
def config_hash(config: FeatureConfig) -> str:
    """Short stable hash of every setting the cached features depend on (the cache folder name)."""
    # FEATURES_VERSION changes with the feature arithmetic itself, not just its settings.
    # The cache holds features before window normalisation, so ``window_norm`` stays out.
    settings = {k: v for k, v in config.to_dict().items() if k != "window_norm"}
    # The excitation code has its own version, so a change there leaves other caches alone.
    code = feature_code(config)
    settings["features_version"] = code["features"]
    if "excitation" in code:
        settings["excitation_version"] = code["excitation"]
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def clip_key(path: str) -> str:
    """A clip's cache name: its path, size and mtime, so an edited file never reuses stale features."""
    stat = os.stat(path)
    return hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]


def cache_file(cache_root: Path, config: FeatureConfig, path: str) -> Path:
    """Where the features of ``path`` live (see :func:`clip_key`)."""
    key = clip_key(path)
    return cache_root / config_hash(config) / key[:2] / f"{key}.npy"


def compute_features(path: str, config: FeatureConfig) -> np.ndarray:
    """Features of one clip through the serving path, shape (frames, bins), float32."""
    samples = load_audio(path, config.sample_rate).samples
    return model_input(samples, config, check_length=False).features


def _cached_features(args: tuple[str, str, dict]) -> tuple[str, str | None]:
    """Worker: make sure the cache holds the features of one clip; return (path, error)."""
    path, cache_root, config_dict = args
    config = FeatureConfig.from_dict(config_dict)
    target = cache_file(Path(cache_root), config, path)
    if target.exists():
        return path, None
    try:
        features = compute_features(path, config).astype(CACHE_DTYPE)
    except AudioError as exc:  # silent or broken clip: skipped, and reported
        return path, exc.message
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(temp, features)
    os.replace(temp, target)  # atomic: parallel runs never read half a file
    return path, None


def load_features(
    paths: list[str],
    config: FeatureConfig,
    cache_root: str | Path,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[np.ndarray | None], dict[str, str]]:
    """Features of many clips, computing only those missing from the cache.

    Returns
    -------
    features : list
        Float16 arrays (frames, bins) in memory, ``None`` for clips that failed.
    errors : dict
        Path -> reason for each failed clip.
    """
    cache_root = Path(cache_root)
    todo = [p for p in paths if not cache_file(cache_root, config, p).exists()]
    errors: dict[str, str] = {}
    jobs = [(p, str(cache_root), config.to_dict()) for p in todo]
    if jobs:
        if workers > 1 and len(jobs) > 8:
            # spawn, not fork: the trainer may already hold TensorFlow's thread pools.
            with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                results = pool.map(_cached_features, jobs, chunksize=16)
                for done, (path, error) in enumerate(results, 1):
                    if error:
                        errors[path] = error
                    if progress and (done % 200 == 0 or done == len(jobs)):
                        progress(done, len(jobs))
        else:
            for done, job in enumerate(jobs, 1):
                path, error = _cached_features(job)
                if error:
                    errors[path] = error
                if progress and (done % 200 == 0 or done == len(jobs)):
                    progress(done, len(jobs))
    features: list[np.ndarray | None] = []
    for path in paths:
        target = cache_file(cache_root, config, path)
        # Read into memory, not memory-mapped: every mapping holds a file descriptor
        # (thousands of clips hit the open-file limit) and page faults on random crops
        # cost as much system time as the training itself.
        if target.exists():
            features.append(np.load(target))
        else:
            features.append(None)
            # Never drop a clip silently (e.g. a worker running newer code wrote another cache key).
            errors.setdefault(path, "features missing from the cache after computing them")
    return features, errors


@dataclass
class ClipSet:
    """The clips of one split with their cached features."""

    frame: pd.DataFrame          # manifest rows (only clips whose features exist)
    features: list[np.ndarray]   # (frames, bins) per clip, float16

    @property
    def labels(self) -> np.ndarray:
        return self.frame["y"].to_numpy(dtype=int)

    def __len__(self) -> int:
        return len(self.features)


def build_clipset(frame: pd.DataFrame, config: FeatureConfig, cache_root: str | Path, workers: int = 2,
                  progress: Callable[[int, int], None] | None = None) -> tuple[ClipSet, dict[str, str]]:
    """Load (computing if needed) features for every row of ``frame``; drop failed clips."""
    feats, errors = load_features(list(frame["path"]), config, cache_root, workers, progress)
    keep = [f is not None for f in feats]
    kept = frame[keep].reset_index(drop=True)
    return ClipSet(kept, [f for f in feats if f is not None]), errors


def clip_windows(features: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The serving windows of one clip, (n, frames, bins, 1) float32."""
    windows, _ = split_windows(np.asarray(features, dtype=np.float32), config)
    return windows


def score_clips(predict: Callable[[np.ndarray], np.ndarray], features: list[np.ndarray],
                config: FeatureConfig, batch: int = EVAL_BATCH) -> dict[str, np.ndarray]:
    """Clip logits under every serving aggregation, many clips per forward pass.

    The same window cutting (:func:`clip_windows`), batching and aggregation
    (:mod:`detector.clips`) as the served :class:`~detector.inference.Detector`.

    Returns
    -------
    dict
        ``{aggregation: clip logits}`` for each of ``detector.calibration.AGGREGATIONS``.
    """
    return aggregated(logits_per_clip(predict, [clip_windows(f, config) for f in features], batch))


def keras_predictor(model) -> Callable[[np.ndarray], np.ndarray]:
    """Inference-mode forward pass of a Keras model (no dropout, frozen BN statistics).

    Compiled once with a dynamic batch axis: calling the model eagerly was 3-4x
    slower and made the per-epoch validation a large share of training time.
    """
    import tensorflow as tf

    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]
    forward = tf.function(lambda x: model(x, training=False), input_signature=signature, reduce_retracing=True)

    def predict(windows: np.ndarray) -> np.ndarray:
        return forward(tf.convert_to_tensor(windows, dtype=tf.float32)).numpy()
    return predict


def warn_errors(errors: dict[str, str], log: Callable[[str], None] = print) -> None:
    """Report clips skipped because their audio could not be featurised."""
    if errors:
        first = next(iter(errors.items()))
        log(f"skipped {len(errors)} clip(s) that could not be featurised, e.g. {first[0]}: {first[1]}")
