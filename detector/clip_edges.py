"""The verdict bands one clip was judged by, with its probability and edges written once for every front end.

Detect, Batch, the HTML report, the JSON export and the CLI all take a clip's numbers from
:func:`clip_edges`, so one clip reads "0.4 %" against a *likely genuine* edge of "1.1 %"
everywhere (:func:`detector.bands.clip_text`), and a band the clip could not get is drawn
and named nowhere: its edge is ``None`` and a sentence says so.

Which edges apply: the clip's own (``Analysis.bands``, set by :func:`detector.verdict.judge`:
its measured channel class's where the version has bands per class, else the version's pair
without the green edge on audio where *likely genuine* is withheld), else the version's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from detector.bands import ClipText, clip_text
from detector.calibration import Calibration
from detector.channel import CHANNEL_WORDS

BAND_WORDS = {"likely_genuine": "likely genuine", "uncertain": "uncertain", "likely_synthetic": "likely synthetic"}


@dataclass(frozen=True)
class ClipEdges:
    """The edges one clip was judged by (``None``: no such band on its kind of audio) and their text.

    Attributes
    ----------
    genuine_below, synthetic_above : float or None
        ``p < genuine_below`` is *likely genuine*, ``p >= synthetic_above`` *likely synthetic*.
    audio : str
        The clip's kind of audio in words ("telephone-quality audio"), for the sentence on a missing band.
    text : ClipText
        The probability and both edges as every front end writes them.
    """

    genuine_below: float | None
    synthetic_above: float | None
    audio: str
    text: ClipText

    def band_names(self) -> dict[str, str]:
        """Each band the clip could get, named with its edge: ``"likely genuine: below 1.1 %"``."""
        names = {"uncertain": BAND_WORDS["uncertain"]}
        if self.text.genuine_below is not None:
            names["likely_genuine"] = f"likely genuine: below {self.text.genuine_below}"
        if self.text.synthetic_above is not None:
            names["likely_synthetic"] = f"likely synthetic: {self.text.synthetic_above} or more"
        return {band: names[band] for band in BAND_WORDS if band in names}

    def missing(self) -> list[str]:
        """One sentence per band the clip could not get: ``"No *likely genuine* band on telephone-quality audio."``."""
        return [f"No *{BAND_WORDS[band]}* band on {self.audio}." for band, edge in
                (("likely_genuine", self.genuine_below), ("likely_synthetic", self.synthetic_above)) if edge is None]

    def summary(self, reachable: Sequence[str] | None = None) -> str:
        """The edges in one line: ``"likely genuine: below 1.1 %; likely synthetic: 93.4 % or more"``.

        With ``reachable`` (:attr:`detector.model_facts.ModelFacts.reachable`) a band the model never
        reaches is not named.
        """
        names = [name for band, name in self.band_names().items()
                 if band != "uncertain" and (reachable is None or band in reachable)]
        missing = [m[0].lower() + m[1:].rstrip(".").replace("*", "") for m in self.missing()]
        return "; ".join([*names, *missing])


def clip_edges(analysis, calibration: Calibration) -> ClipEdges:
    """The edges ``analysis`` (a :class:`detector.analysis.Analysis`) was judged by, and their text.

    ``calibration`` is the version's: its edges stand in for an analysis that carries none.
    """
    bands = getattr(analysis, "bands", None)
    channel = getattr(analysis, "channel", "wideband")
    audio = CHANNEL_WORDS.get(channel, "this kind of audio")
    if bands is not None:
        genuine, synthetic = bands.genuine_below, bands.synthetic_above
    else:
        genuine, synthetic = calibration.genuine_below, calibration.synthetic_above
    # Written against the edges the verdict's own sentence compares it with: a version without bands per class
    # words it against its green edge even where that band is withheld (then not drawn, not named).
    withheld = genuine is None and bands is not None and not bands.per_channel
    text = clip_text(analysis.p_synthetic, calibration.genuine_below if withheld else genuine, synthetic)
    return ClipEdges(genuine, synthetic, audio, replace(text, genuine_below=None) if withheld else text)
