"""webapp.modelfacts: plain words on what a model is good and bad at, from its held-out results."""

from __future__ import annotations

from pathlib import Path

from detector.model_report import ModelReport
from detector.registry import ModelRegistry
from webapp.modelfacts import error_rates, known_limits, limits_text, plain_summary

STORE = Path(__file__).resolve().parent.parent / "model_store"


def test_shipped_model_in_one_sentence():
    version = ModelRegistry(STORE).active()
    sentence = plain_summary(version)
    # Its floor (18.9 %) lies above the likely-genuine edge (14.9 %): said first, and never "almost never".
    assert sentence.startswith("It can flag a fake but cannot clear a clip: its lowest score is 19 %, above the 15 %")
    assert "Usually right about " in sentence and sentence.endswith(".")
    assert "classic vocoder copies of real voices (WORLD, LPC...) (39 % errors on test)" in sentence
    assert "neural-vocoder copies of real voices (HiFi-GAN, LPCNet) (27 % errors on test)" in sentence
    assert "(2–6 % errors, test split, corpus v2, 1091 clips)" in sentence   # every rate says where it was measured
    assert ("recording sources it never heard (about 34 % errors, held-out folds, each scored by a model retrained "
            "without it)") in sentence
    assert "almost never" not in sentence
    assert "EER" not in sentence  # plain words, not jargon


def test_error_rates_of_the_shipped_model():
    rates = error_rates(ModelRegistry(STORE).active())
    assert round(rates["test_eer"], 4) == 0.2311 and round(rates["heldout_mean_eer"], 4) == 0.3368
    assert set(rates["by_family"]) == {"articulatory", "diphone", "formant", "neural", "neural_vocoder", "parametric",
                                       "vocoder"}
    assert rates["likely_genuine_share"] == 0.0


def test_model_without_results(tiny_store):
    version = ModelRegistry(tiny_store).load("v1")
    assert plain_summary(version) == "On unseen test clips this model is wrong 50 % of the time (test split)."
    version.report = ModelReport()
    assert "no recorded test results" in plain_summary(version)


def test_limits_section_or_a_general_caveat(tiny_store):
    card = ("# Card\n\n## Data\nStuff.\n\n## Known limits\n- No singing.\n### Details\n- No children.\n"
            "\n## Training\nAdam.\n")
    assert known_limits(card) == "- No singing.\n### Details\n- No children."
    assert known_limits("# Card\n\n## Data\nStuff.\n") is None
    assert limits_text(ModelRegistry(tiny_store).load("v1")).startswith("A verdict is evidence")
