"""The Learn lesson matches what is shown: committed examples, the corpus's vocoders, comments from the scores."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from app_pages.learn_view import scores_table
from detector.inference import Detector
from detector.registry import ModelRegistry
from train.learn_assets import MAX_DIGITAL_SILENCE_S, digital_silence_s
from webapp.batch import score_one

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


def test_notes_comment_on_the_scores_the_shipped_model_gives():
    detector = Detector(ModelRegistry(REPO / "model_store").load(LATEST_CNN))
    notes = {}
    for example in examples():
        versions = example["versions"]
        rows = [(v["label"], score_one(detector, v["file"], (ASSETS / v["file"]).read_bytes())) for v in versions]
        table = scores_table(rows, detector, [v["kind"] for v in versions])
        notes.update({(example["id"], v["kind"]): note for v, note in zip(versions, table["Note"])})
    # Genuine examples sit at this model's floor: the note says so instead of leaving a bare "uncertain".
    assert all("lowest score this model gives" in notes[(e["id"], "genuine")] for e in examples())
    # Griffin-Lim copies score like their originals: the note names it and says why.
    assert all("does not catch this kind of copy" in notes[(e["id"], "griffin_lim")] for e in examples())
    assert not any(".;" in note for note in notes.values())
