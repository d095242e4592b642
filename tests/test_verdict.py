"""detector.verdict: bands, the damage cap, synthetic stretches and the words around a verdict."""

from __future__ import annotations

import pytest

from detector.calibration import Calibration
from detector.verdict import (
    NEXT_STEPS,
    WindowScore,
    capped_verdict,
    explain_probability,
    spans_sentence,
    synthetic_spans,
)

FIRST_CNN_CALIBRATION = Calibration(genuine_below=0.03940867602806927, synthetic_above=0.9193973588832344)


def test_explanation_never_contradicts_the_band_edges():
    sentence = explain_probability(0.0397, "uncertain", FIRST_CNN_CALIBRATION)
    assert sentence.startswith("The model gives 4.0 %: from 3.9 % up to 91.9 %")


def test_uncertain_says_what_to_do_next():
    assert NEXT_STEPS in explain_probability(0.5, "uncertain", FIRST_CNN_CALIBRATION)
    assert "original file" in NEXT_STEPS and "longer" in NEXT_STEPS and "another source" in NEXT_STEPS
    assert NEXT_STEPS not in explain_probability(0.01, "likely_genuine", FIRST_CNN_CALIBRATION)


def test_damage_caps_both_confident_verdicts_and_says_why():
    reason = "the recording is clipped, and clipping pushes this model's scores towards genuine"
    assert capped_verdict("likely_genuine", [reason]) == "uncertain"
    assert capped_verdict("likely_synthetic", [reason]) == "uncertain"
    assert capped_verdict("likely_genuine", []) == "likely_genuine"
    sentence = explain_probability(0.01, "uncertain", FIRST_CNN_CALIBRATION, [reason])
    assert "would read *likely genuine*" in sentence and reason in sentence and "capped at *uncertain*" in sentence
    assert NEXT_STEPS in sentence


def test_synthetic_windows_merge_into_stretches():
    windows = [WindowScore(3.0 + i, 5.0 + i, p) for i, p in enumerate([0.1, 0.95, 0.97, 0.5, 0.1, 0.93])]
    assert synthetic_spans(windows, 0.92) == [(4.0, 7.0), (8.0, 10.0)]
    assert spans_sentence(synthetic_spans(windows, 0.92)) == "Seconds 4.0–7.0 and 8.0–10.0 score likely synthetic."
    assert synthetic_spans(windows, 0.99) == [] and spans_sentence([]) == ""


def test_three_stretches_read_as_a_list():
    assert spans_sentence([(1, 2), (3, 4), (5, 6)]) == "Seconds 1.0–2.0, 3.0–4.0 and 5.0–6.0 score likely synthetic."


@pytest.mark.parametrize("p, verdict", [(0.03941, "uncertain"), (0.0394, "likely_genuine"),
                                        (0.9194, "likely_synthetic"), (0.5, "uncertain")])
def test_band_rules(p, verdict):
    assert FIRST_CNN_CALIBRATION.verdict(p) == verdict
