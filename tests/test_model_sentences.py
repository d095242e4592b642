"""webapp.model_sentences: plain words on what a model is good and bad at, from its held-out results."""

from __future__ import annotations

from pathlib import Path

from detector.heldout_report import ChannelBand, HeldOutBands, HeldOutReport
from detector.model_report import ModelReport
from detector.registry import ModelRegistry
from webapp.model_sentences import channel_sentence, error_rates, known_limits, limits_text, plain_summary

STORE = Path(__file__).resolve().parent.parent / "model_store"


CNN_MODEL = "20261130-0747-effnet-melexc"   # the CNN shipped before the encoder model, kept for rollback


def test_active_encoder_model_in_one_sentence():
    sentence = plain_summary(ModelRegistry(STORE).active())
    assert sentence.startswith("Usually right about formant synthesisers (espeak), diphone TTS (2–3 % errors, test "
                               "split, corpus v2, 1091 clips)")
    assert "classic vocoder copies of real voices (WORLD, LPC...) (18 % errors on test)" in sentence
    assert "(about 22 % errors, held-out folds, each scored by a model retrained without it)" in sentence
    assert "often fooled by parametric TTS (15 % errors on test), classic vocoder" in sentence   # a list, one "and"
    assert sentence.count(" and ") == 1 + sentence.count("synthesisers and recording")
    assert "cannot clear" not in sentence   # its floor lies below its likely-genuine edge
    assert "EER" not in sentence


def test_a_model_that_cannot_clear_in_one_sentence():
    version = ModelRegistry(STORE).load(CNN_MODEL)
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


def test_error_rates_of_the_cnn_and_the_active_model():
    active = error_rates(ModelRegistry(STORE).active())
    assert round(active["test_eer"], 4) == 0.1345 and round(active["heldout_mean_eer"], 4) == 0.2185
    assert 0.05 < active["likely_genuine_share"] < 0.2
    rates = error_rates(ModelRegistry(STORE).load(CNN_MODEL))
    assert round(rates["test_eer"], 4) == 0.2311 and round(rates["heldout_mean_eer"], 4) == 0.3368
    assert set(rates["by_family"]) == {"articulatory", "diphone", "formant", "neural", "neural_vocoder", "parametric",
                                       "vocoder"}
    assert rates["likely_genuine_share"] == 0.0


def test_model_without_results(tiny_store):
    version = ModelRegistry(tiny_store).load("v1")
    assert plain_summary(version) == ("On unseen test clips this model is wrong 50 % of the time (test split). "
                                      + channel_sentence(version))
    assert "not earned for each kind of audio" in channel_sentence(version)   # a version from before issue 32
    version.report = ModelReport()
    assert "no recorded test results" in plain_summary(version)


def test_limits_section_or_a_general_caveat(tiny_store):
    card = ("# Card\n\n## Data\nStuff.\n\n## Known limits\n- No singing.\n### Details\n- No children.\n"
            "\n## Training\nAdam.\n")
    assert known_limits(card) == "- No singing.\n### Details\n- No children."
    assert known_limits("# Card\n\n## Data\nStuff.\n") is None
    assert limits_text(ModelRegistry(tiny_store).load("v1")).startswith("A verdict is evidence")


def test_the_channel_sentence_reads_the_per_class_bands_of_the_typed_report(tiny_store):
    version = ModelRegistry(tiny_store).load("v1")
    bands = HeldOutBands(0.01, 0.9, 0.02, 13, by_channel={
        "wideband": ChannelBand(0.004, 0.95, 0.1, 0.6), "narrowband": ChannelBand(None, 0.97, None, 0.7),
        "noisy": ChannelBand(None, None, note="withdrawn")})
    version.report = ModelReport(heldout=HeldOutReport(bands=bands))
    sentence = channel_sentence(version)
    assert sentence.startswith("It says *likely genuine* only on full-bandwidth audio;")
    assert "*likely synthetic* only on full-bandwidth audio and telephone-quality audio" in sentence
    none = HeldOutBands(0.01, 0.9, 0.02, 13, by_channel={"wideband": ChannelBand(None, None)})
    version.report = ModelReport(heldout=HeldOutReport(bands=none))
    assert channel_sentence(version).startswith("No kind of audio earned a *likely genuine* verdict")

