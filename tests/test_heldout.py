"""Held-out protocols (train/lofo.py): which rows each fold removes and what it is scored on."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from train.lofo import Fold, available_folds, parse_folds, summarise


def _manifest() -> pd.DataFrame:
    rows = []
    for split in ("train", "val", "test"):
        for source in ("queen", "sky"):
            for i in range(6):
                rows.append(dict(label="genuine", source=source, family="genuine", generator="human", split=split,
                                 speaker=f"{source}{i}"))
                rows.append(dict(label="synthetic", source=source, family="neural_vocoder",
                                 generator="hifigan" if i % 2 else "lpcnet", split=split, speaker=f"{source}{i}"))
        for i in range(6):
            rows.append(dict(label="synthetic", source="espeak-ng", family="formant", generator="espeak-ng:en",
                             split=split, speaker="espeak"))
    return pd.DataFrame(rows)


def test_folds_cover_families_vocoders_and_sources_with_enough_test_clips() -> None:
    names = {f.name for f in available_folds(_manifest())}
    assert names == {"family:formant", "family:neural_vocoder", "vocoder:hifigan", "vocoder:lpcnet",
                     "source:queen", "source:sky"}   # espeak-ng has no genuine clips: not a genuine source


def test_a_source_fold_removes_the_sources_genuine_clips_and_their_copies() -> None:
    frame = _manifest()
    held = Fold("source", "sky").held_rows(frame)
    assert set(frame.loc[held, "label"]) == {"genuine", "synthetic"} and set(frame.loc[held, "source"]) == {"sky"}
    negatives, positives = Fold("source", "sky").test_masks(frame[frame["split"] == "test"])
    test = frame[frame["split"] == "test"]
    assert set(test.loc[negatives, "source"]) == {"sky"} and set(test.loc[negatives, "label"]) == {"genuine"}
    assert "sky" not in set(test.loc[positives, "source"]) and set(test.loc[positives, "label"]) == {"synthetic"}


def test_family_and_vocoder_folds_remove_only_synthetic_clips() -> None:
    frame = _manifest()
    family = Fold("family", "neural_vocoder").held_rows(frame)
    vocoder = Fold("vocoder", "hifigan").held_rows(frame)
    assert set(frame.loc[family, "label"]) == {"synthetic"} and set(frame.loc[vocoder, "generator"]) == {"hifigan"}
    negatives, positives = Fold("vocoder", "lpcnet").test_masks(frame[frame["split"] == "test"])
    assert negatives.sum() == 12 and positives.sum() == 6   # every genuine test clip against the held-out vocoder


def test_headline_mean_takes_family_and_source_folds_only() -> None:
    folds = {"family:a": {"eer": 0.1, "synthetic_called_genuine": 0.02, "genuine_called_synthetic": 0.0},
             "source:s": {"eer": 0.3, "synthetic_called_genuine": 0.0, "genuine_called_synthetic": 0.05},
             "vocoder:v": {"eer": 0.5}}
    summary = summarise(folds)
    assert summary["mean_eer"] == pytest.approx(0.2)
    assert summary["worst_fold"] == {"fold": "vocoder:v", "eer": 0.5}
    assert summary["max_genuine_called_synthetic"] == 0.05


def test_unknown_fold_names_are_refused_with_the_available_ones() -> None:
    with pytest.raises(ValueError, match="source:queen"):
        parse_folds(_manifest(), ["source:nowhere"], None)
    assert [f.name for f in parse_folds(_manifest(), None, ["vocoder"])] == ["vocoder:hifigan", "vocoder:lpcnet"]


def test_a_screen_holds_parts_out_of_training_and_reports_each(tmp_path) -> None:
    from train.config import TrainConfig
    from train.events import ProgressLog
    from train.schema import read_manifest
    from train.screen import parse_fold, screen
    from train.toy_corpus import make_toy_corpus

    frame = read_manifest(make_toy_corpus(tmp_path / "corpus"))
    config = TrainConfig(epochs=2, batch=16, windows_per_clip=4, max_minutes=None)
    log = ProgressLog(tmp_path / "run", quiet=True)
    result = screen(frame, config, [parse_fold("family:vocoder")], tmp_path / "cache", log)
    start = next(e for e in map(json.loads, (tmp_path / "run" / "progress.jsonl").read_text().splitlines())
                 if e["event"] == "start")
    held_train = int(((frame["family"] == "vocoder") & (frame["split"] == "train")).sum())
    assert start["train_clips"] == int((frame["split"] == "train").sum()) - held_train   # the part never trained
    held = result["family:vocoder"]
    assert held["n"] == [int(((frame["split"] == "test") & (frame["label"] == "genuine")).sum()),
                         int(((frame["split"] == "test") & (frame["family"] == "vocoder")).sum())]
    assert 0 <= held["eer"] <= 1 and result["mean_heldout_eer"] == held["eer"]
    assert result["in_domain"]["n"][1] == int(((frame["split"] == "test") & (frame["family"] == "formant")).sum())
    with pytest.raises(ValueError, match="protocol:name"):
        parse_fold("vocoder")
