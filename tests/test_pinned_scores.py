"""The shipped model's scores on real recordings, pinned.

Refactoring the scoring path (features, LiteRT wrapper, aggregation, calibration)
must not move a single verdict. These numbers were computed with the scoring code
as it was before the one-scoring-path rework (commit ba4e1f4) and the active model
``20261122-1412-effnet-melexc``; a change of the shipped model updates them on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.inference import Detector
from detector.registry import ModelRegistry

CLIPS = Path(__file__).parent / "clips"
MODEL = "20261122-1412-effnet-melexc"
PINNED = {  # clip: (clip logit, p(synthetic), verdict, window p(synthetic))
    "en-allison/genuine.flac": (0.7734807431697845, 0.5983912789722047, "uncertain",
                                [0.634161404394573, 0.5615418350717787]),
    "ru-nsh/genuine.flac": (-1.3092754483222961, 0.14653989928514427, "uncertain",
                            [0.10081238365850666, 0.09220269690996545, 0.30773263436018694]),
    "ru-nsh/espeak.flac": (4.695205847422282, 0.9886529242745333, "likely_synthetic",
                           [0.9892883825715387, 0.9910957338658102, 0.9846959014131568]),
    "ru-nsh/world.flac": (3.3231282234191895, 0.9545190174379361, "likely_synthetic",
                          [0.9240048981561766, 0.9665977835326222, 0.963333325407983]),
    "ru-nsh/griffin_lim.flac": (2.2223466833432517, 0.87010653369481, "uncertain",
                                [0.8684711794990266, 0.5928439141280314, 0.9690054890945885]),
}


@pytest.fixture(scope="module")
def shipped() -> Detector:
    return Detector(ModelRegistry().load(MODEL))


@pytest.mark.parametrize("clip", sorted(PINNED))
def test_shipped_model_scores_are_unchanged(shipped: Detector, clip: str) -> None:
    logit, p, verdict, windows = PINNED[clip]
    analysis = shipped.analyse(CLIPS / clip)
    assert analysis.clip_logit == pytest.approx(logit, abs=1e-5)
    assert analysis.p_synthetic == pytest.approx(p, abs=1e-6)
    assert analysis.verdict == verdict
    assert [w.p_synthetic for w in analysis.windows] == pytest.approx(windows, abs=1e-6)


def test_batch_scoring_gives_the_single_clip_scores(shipped: Detector) -> None:
    """``score_features`` (evaluation's path) and ``analyse`` (the app's) agree clip by clip."""
    analyses = [shipped.analyse(CLIPS / clip) for clip in sorted(PINNED)]
    scores = shipped.score_features([a.features for a in analyses])
    assert list(scores.clip_logits) == pytest.approx([a.clip_logit for a in analyses], abs=1e-5)
    assert list(scores.p_synthetic) == pytest.approx([a.p_synthetic for a in analyses], abs=1e-6)
