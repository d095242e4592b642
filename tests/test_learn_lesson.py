"""The Learn lesson matches what is shown: committed examples, the corpus's vocoders, comments from the scores."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from detector.inference import Detector
from detector.registry import ModelRegistry
from detector.speech import MAX_DIGITAL_SILENCE_S, digital_silence_s
from webapp.batch import score_one
from webapp.learn_scores import SAME_SCORE, scores_table

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets" / "learn"
LATEST_CNN = "20261130-0747-effnet-melexc"


def examples() -> list[dict]:
    return json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))["examples"]


def test_genuine_examples_hold_no_digital_silence():
    """The page teaches that real recordings keep a noise floor; its own genuine examples must show one."""
    for example in examples():
        samples, rate = sf.read(ASSETS / example["versions"][0]["file"], dtype="float32")
        assert digital_silence_s(samples, rate) <= MAX_DIGITAL_SILENCE_S, example["id"]
    assert digital_silence_s([0.1, 0, 0, 0, 0.2], 1) == 3.0


def test_vocoder_copies_come_from_the_corpus_vocoders():
    text = (ASSETS / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "made as the corpus makes its fakes" in text


def test_notes_say_what_the_model_gets_right_and_why_it_may_not():
    """With the last CNN (it cannot clear a clip): every Note is filled. A recording at its floor is named as such,
    instead of a bare "uncertain"; each copy is "Right: flagged." or "Missed", a miss with the model's error rate on
    that kind of copy, and "scores like the genuine recording" exactly where it does (within SAME_SCORE)."""
    detector = Detector(ModelRegistry(REPO / "model_store").load(LATEST_CNN))
    assert not detector.facts.can_clear
    for example in examples():
        versions = example["versions"]
        rows = [(v["label"], score_one(detector, v["file"], (ASSETS / v["file"]).read_bytes())) for v in versions]
        notes = dict(zip([v["kind"] for v in versions], scores_table(rows, detector, [v["kind"] for v in versions])["Note"]))
        genuine = rows[0][1].p_synthetic
        assert "lowest score this model gives" in notes["genuine"]
        for (_, row), version in zip(rows[1:], versions[1:]):
            note = notes[version["kind"]]
            assert note.startswith("Right: flagged." if row.verdict == "Likely synthetic" else "Missed: not flagged.")
            assert ("Scores like the genuine recording" in note) == (not note.startswith("Right")
                                                                     and abs(row.p_synthetic - genuine) <= SAME_SCORE)
            if note.startswith("Missed") and version["kind"] in ("world", "griffin_lim"):
                eer = detector.facts.family_eer["vocoder"]
                assert f"classic vocoder copies of real voices (WORLD, LPC...) among its test clips: {eer * 100:.0f} %" in note
        assert not any(".;" in note or note == "—" for note in notes.values())
