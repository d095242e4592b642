"""A version's model card as the Model card page shows it: the sealed card.md, mended at render time.

A card is written once by ``train/card.py`` and sealed with its version, so a card already
shipped cannot be edited. What reads badly in it is mended here, on the way to the page:

- its headings go one level down, so the page's own title is its only H1;
- a confusion matrix written as a Python list (``[[473, 68], [77, 473]]``) is put in words;
- "the deployed threshold (calibrated probability 0.5)" is said to be a yardstick, with the
  verdict bands the app really uses;
- "each fold model at the bands its own validation set" gets its verb.

Each mending is a no-op on a card that already reads well.
"""

from __future__ import annotations

import re

from detector.bands import band_text
from detector.model_facts import facts_of
from detector.registry import ModelVersion

HEADING = re.compile(r"^(#{1,5})(\s)", re.MULTILINE)
MATRIX = re.compile(r"confusion matrix \((?P<what>[^()]*)\): \[\[(\d+), (\d+)\], \[(\d+), (\d+)\]\]")
SCORED_AT = re.compile(r"columns scored below / at or above (?P<at>[\d.]+)")
DEPLOYED = re.compile(r"At the deployed threshold \(calibrated probability (?P<at>[\d.]+)\)")
NO_VERB = "each fold model at the bands its own validation set"


def _matrix_words(match: re.Match) -> str:
    """``[[a, b], [c, d]]`` (rows: true genuine, synthetic) as one sentence."""
    a, b, c, d = (int(match.group(i)) for i in range(2, 6))
    scored = SCORED_AT.search(match.group("what"))
    if scored:
        at = scored.group("at")
        return (f"of {a + b} genuine test clips, {a} scored below {at} and {b} at or above it; of {c + d} synthetic "
                f"test clips, {c} scored below {at} and {d} at or above it")
    return (f"of {a + b} genuine test clips, {a} were called genuine and {b} synthetic; of {c + d} synthetic test "
            f"clips, {c} were called genuine and {d} synthetic")


def _bands_words(version: ModelVersion) -> str:
    """The verdict bands the app gives verdicts by, for the sentence on the comparison threshold."""
    heldout = version.report.heldout
    if heldout is not None and heldout.bands is not None and heldout.bands.by_channel:
        return "the verdict bands set for each kind of audio, under *Calibration* below"
    facts = facts_of(version)
    text = band_text([], facts.genuine_below, facts.synthetic_above)
    if not facts.can_clear:
        return (f"the verdict bands: likely synthetic from {text.synthetic_above}, uncertain below it; likely genuine "
                f"would need less than {text.genuine_below}, a score this model never gives")
    return (f"the verdict bands: likely genuine below {text.genuine_below}, likely synthetic from "
            f"{text.synthetic_above}, uncertain in between")


def card_markdown(version: ModelVersion) -> str:
    """The card of ``version`` as the Model card page renders it (see the module's docstring)."""
    card = version.card
    card = HEADING.sub(lambda m: "#" + m.group(1) + m.group(2), card)
    card = MATRIX.sub(lambda m: "confusion matrix: " + _matrix_words(m), card)
    card = DEPLOYED.sub(lambda m: f"At a comparison threshold of {m.group('at')} on the calibrated probability "
                                  f"(a yardstick only; verdicts use {_bands_words(version)})", card)
    return card.replace(NO_VERB, "each fold model at the bands set on its own validation clips")
