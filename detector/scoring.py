"""What every kind of model version does for a clip: one interface, chosen once when a version loads.

A CNN version (:class:`detector.cnn_scorer.CnnScorer`) scores standardised feature
windows; an encoder version (:class:`detector.encoder.scorer.EncoderScorer`) runs the
shared speech encoder over the whole clip and its head on what it returns. The
:class:`~detector.inference.Detector`, the probe, Explain, evaluation and the pages
only talk to a :class:`Scorer`, so no code outside the scorers asks which kind it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

import numpy as np

from detector.errors import ModelError
from detector.features import ModelInput

if TYPE_CHECKING:
    from detector.analysis import Analysis


@dataclass
class ClipLogits:
    """One clip's raw scores, all on one clock.

    Attributes
    ----------
    clip_logit : float
        The logit the verdict rests on.
    window_logits : np.ndarray
        (n_windows,) the timeline's window logits.
    starts_s : np.ndarray
        (n_windows,) each window's start in seconds of the prepared (trimmed) clip.
    """

    clip_logit: float
    window_logits: np.ndarray
    starts_s: np.ndarray


class Scorer(Protocol):
    """A loaded model version's scoring, whatever its kind.

    Attributes
    ----------
    kind : str
        ``"cnn"`` or ``"encoder"``: for words and records, never for branching.
    feature_hop_s : float
        Seconds between the frames of ``ModelInput.features`` (what the spectrogram draws).
    explain_windows : int
        Timeline windows one explanation may cover (Explain's cost grows with it).
    timeline_scope : str
        One sentence: what the verdict rests on and what the timeline's windows are.
    explain_method : str
        One sentence: how Explain hides patches and what its heatmap scores.
    """

    kind: str
    feature_hop_s: float
    explain_windows: int
    timeline_scope: str
    explain_method: str

    def prepare(self, samples: np.ndarray) -> ModelInput:
        """A decoded clip trimmed, normalised and featurised exactly as in training."""

    def score(self, clip: ModelInput) -> ClipLogits:
        """The clip logit and the timeline's window logits of one prepared clip."""

    def score_features(self, features: Sequence[np.ndarray]) -> list[ClipLogits]:
        """Scores of many clips from their features (evaluation, batch); ``starts_s`` may be empty."""

    def occlusion_map(self, analysis: "Analysis", patch_s: float, patch_bins: int) -> np.ndarray:
        """Logit drop when each patch of ``analysis.features`` is hidden, shaped like the features."""

    def region_logit(self, analysis: "Analysis") -> float:
        """The raw logit of the stretch ``analysis`` holds, scored as Explain's heatmap scores it."""

    def probe(self, seed: int) -> float:
        """Score a fixed input made from ``seed``; raise ModelError unless one finite logit comes out."""

    def timing_call(self) -> Callable[[], object]:
        """The call that serving a 10-s clip costs (``python -m train.evaluate`` times it)."""


def probe_logits(name: str, call: Callable[[], object]) -> np.ndarray:
    """Run a scorer's probe call and return its logits, once every one is finite (float64, flat).

    Raises
    ------
    ModelError
        Naming version ``name``, when the call fails or gives no logit or a non-finite one.
    """
    try:
        logits = np.asarray(call(), dtype=np.float64).reshape(-1)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"Model version {name!r} is broken: scoring a test input failed ({type(exc).__name__}).") \
            from exc
    if logits.size == 0 or not np.all(np.isfinite(logits)):
        raise ModelError(f"Model version {name!r} is broken: a test input did not give finite scores.")
    return logits
