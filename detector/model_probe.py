"""Check that a model version can really serve: build its interpreter and score a fixed input.

Files that are present and parse as JSON say nothing about ``model.tflite`` itself: a
truncated or overwritten flatbuffer was promoted as healthy and, after a restart,
nothing served. Promotion and ``detector models`` run this probe first.
"""

from __future__ import annotations

from detector.inference import load_scorer
from detector.registry import ModelVersion

PROBE_SEED = 20261130  # a fixed input, so a probe's outcome never depends on chance


def probe_version(version: ModelVersion) -> float:
    """Build ``version``'s scorer, score its fixed probe input and return the logit.

    A CNN version scores one standardised-looking window; an encoder version the shared
    encoder and its head together, on a fixed noise clip (:meth:`~detector.scoring.Scorer.probe`).

    Raises
    ------
    ModelError
        When the model cannot be built, expects another input shape than its
        ``features.json`` gives, or returns anything but one finite logit.
    """
    return load_scorer(version, num_threads=1).probe(PROBE_SEED)
