"""Check that a model version can really serve: build its interpreter and score a fixed input.

Files that are present and parse as JSON say nothing about ``model.tflite`` itself: a
truncated or overwritten flatbuffer was promoted as healthy and, after a restart,
nothing served. Promotion and ``detector models`` run this probe first.
"""

from __future__ import annotations

import numpy as np

from detector.encoder.scorer import probe_scorer
from detector.errors import ModelError
from detector.litert import LiteRTModel
from detector.registry import ModelVersion

PROBE_SEED = 20261130  # a fixed input, so a probe's outcome never depends on chance


def probe_input(shape: tuple[int, ...]) -> np.ndarray:
    """The fixed probe: one standardised-looking window (zero mean, unit deviation) of ``shape``."""
    return np.random.default_rng(PROBE_SEED).standard_normal((1, *shape)).astype(np.float32)


def probe_version(version: ModelVersion) -> float:
    """Build ``version``'s interpreter, score the probe input and return the logit.

    An encoder version is probed through its scorer (:func:`detector.encoder.scorer.probe_scorer`):
    the shared encoder and the head together, on a fixed noise clip.

    Raises
    ------
    ModelError
        When the model cannot be built, expects another input shape than its
        ``features.json`` gives, or returns anything but one finite logit.
    """
    name = version.name
    if version.encoder is not None:
        return probe_scorer(version, PROBE_SEED)
    try:
        model = LiteRTModel(version.tflite_path, num_threads=1, name=name)
    except ModelError as exc:
        raise ModelError(f"Model version {name!r} is broken: its model.tflite cannot be loaded (truncated or "
                         "corrupt).") from exc
    if model.input_shape != tuple(version.features.input_shape):
        raise ModelError(f"Model version {name!r} is broken: the model expects input {model.input_shape}, but its "
                         f"features.json gives {tuple(version.features.input_shape)}.")
    try:
        output = model(probe_input(model.input_shape))
    except Exception as exc:
        raise ModelError(f"Model version {name!r} is broken: scoring a test input failed ({type(exc).__name__}).") \
            from exc
    if output.size != 1 or not np.all(np.isfinite(output)):
        raise ModelError(f"Model version {name!r} is broken: a test input did not give one finite score.")
    return float(output.reshape(-1)[0])
