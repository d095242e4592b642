"""From a calibrated probability to a verdict and the words around it.

One place for the rules every front end shares (app, CLI, batch, report): the
cap that damaged audio puts on a verdict, which seconds of a
clip score likely synthetic, and the sentences that say what a verdict means
and what to do when it is *uncertain*. The bands themselves belong to the model's
:class:`~detector.calibration.Calibration`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detector.bands import band_text
from detector.calibration import Calibration

VERDICTS = {
    "likely_genuine": "Likely genuine",
    "uncertain": "Uncertain",
    "likely_synthetic": "Likely synthetic",
}
NEXT_STEPS = ("To get a firmer answer: find the original file (not a re-recording, a screen capture or a "
              "messaging-app copy), a longer stretch of the same voice (10 seconds of speech or more), or the "
              "same words from another source.")


@dataclass
class WindowScore:
    """The calibrated score of one model window, in seconds of the uploaded file."""

    start_s: float
    end_s: float
    p_synthetic: float


def capped_verdict(verdict: str, damage: Sequence[str]) -> str:
    """``verdict``, or ``"uncertain"`` when the audio is damaged in a way the model misjudges.

    Damage is listed by :func:`detector.quality.damage_reasons`: clipping, for one,
    drags this model's scores towards *genuine* (see ``bench/clipping.py``), so a
    cheap manipulation must not buy a confident verdict.
    """
    return "uncertain" if damage else verdict


def explain_probability(p_synthetic: float, verdict: str, calibration: Calibration,
                        damage: Sequence[str] = ()) -> str:
    """A plain-language paragraph on what the number means (verdict card, CLI and report).

    ``damage`` holds short reasons ("the recording is clipped, and ...") for the quality
    problems that capped the verdict.
    Numbers are written with :func:`detector.bands.band_text`, so the probability
    never seems to contradict the band edges it is compared with.
    """
    text = band_text([p_synthetic], calibration.genuine_below, calibration.synthetic_above)
    percent, low, high = text.values[0], text.genuine_below, text.synthetic_above
    if damage:
        unbounded = calibration.verdict(p_synthetic)
        return (f"The model gives {percent}, which alone would read *{VERDICTS[unbounded].lower()}*, but "
                f"{' and '.join(damage)} (see *Recording quality*). The verdict is therefore capped at *uncertain*. "
                + NEXT_STEPS)
    if verdict == "likely_synthetic":
        return (f"The model gives {percent} that this clip is machine-generated. Among validation clips "
                f"scored at {high} or more, most were synthetic; it is evidence, not proof.")
    if verdict == "likely_genuine":
        return (f"The model gives {percent} that this clip is machine-generated. Clips scored below "
                f"{low} were mostly genuine recordings; new synthesis methods can still fool it.")
    return (f"The model gives {percent}: from {low} up to {high} it cannot tell reliably. "
            f"Treat the clip as unverified. " + NEXT_STEPS)


def synthetic_spans(windows: Sequence[WindowScore], synthetic_above: float) -> list[tuple[float, float]]:
    """The stretches of the clip whose windows score likely synthetic, merged, in seconds.

    Overlapping or touching windows at or above ``synthetic_above`` join into one
    span, so a spliced clip reads "seconds 7.0-11.2 score likely synthetic".
    """
    spans: list[tuple[float, float]] = []
    for window in sorted(windows, key=lambda w: w.start_s):
        if window.p_synthetic < synthetic_above:
            continue
        if spans and window.start_s <= spans[-1][1] + 1e-6:
            spans[-1] = (spans[-1][0], max(spans[-1][1], window.end_s))
        else:
            spans.append((window.start_s, window.end_s))
    return spans


def spans_sentence(spans: Sequence[tuple[float, float]]) -> str:
    """``"Seconds 7.0–11.2 and 20.0–24.0 score likely synthetic."`` (empty when there are none)."""
    if not spans:
        return ""
    parts = [f"{start:.1f}–{end:.1f}" for start, end in spans]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Seconds {joined} score likely synthetic."
