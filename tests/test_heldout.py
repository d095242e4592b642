"""Held-out protocols (train/heldout.py): which rows each fold removes and what it is scored on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from detector.heldout_report import FoldResult
from train.heldout import Fold, available_folds, parse_folds, part_eer, part_masks, summarise
from train.heldout_bands import MIN_PER_CLASS
from train.toy_corpus import toy_recipe


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
    assert names == {"family:formant", "family:neural_vocoder", "neural_vocoder:hifigan", "neural_vocoder:lpcnet",
                     "source:queen", "source:sky"}   # espeak-ng has no genuine clips: not a genuine source


def test_a_channel_fold_leaves_out_both_classes_of_one_measured_class_and_is_scored_on_them() -> None:
    frame = _manifest()
    frame["channel"] = np.where((np.arange(len(frame)) // 2) % 2 == 0, "narrowband", "wideband")   # both classes in each
    assert {"channel:narrowband", "channel:wideband"} <= {f.name for f in available_folds(frame)}
    fold = Fold.parse("channel:narrowband")
    held = fold.held_rows(frame)
    assert set(frame.loc[held, "channel"]) == {"narrowband"} and set(frame.loc[held, "label"]) == {"genuine", "synthetic"}
    test = frame[frame["split"] == "test"]
    negatives, positives = fold.test_masks(test)
    assert set(test.loc[negatives | positives, "channel"]) == {"narrowband"}
    assert set(test.loc[negatives, "label"]) == {"genuine"} and set(test.loc[positives, "label"]) == {"synthetic"}
    # Without measured classes there are no channel folds (a CNN's engine, older bake-offs); nor where one class is
    # all there is, since nothing would be left to train on.
    assert not any(f.protocol == "channel" for f in available_folds(_manifest()))
    assert not any(f.protocol == "channel" for f in available_folds(_manifest().assign(channel="wideband")))


def test_a_source_fold_removes_the_sources_genuine_clips_and_their_copies() -> None:
    frame = _manifest()
    held = Fold.parse("source:sky").held_rows(frame)
    assert set(frame.loc[held, "label"]) == {"genuine", "synthetic"} and set(frame.loc[held, "source"]) == {"sky"}
    negatives, positives = Fold("source", "sky").test_masks(frame[frame["split"] == "test"])
    test = frame[frame["split"] == "test"]
    assert set(test.loc[negatives, "source"]) == {"sky"} and set(test.loc[negatives, "label"]) == {"genuine"}
    assert "sky" not in set(test.loc[positives, "source"]) and set(test.loc[positives, "label"]) == {"synthetic"}


def test_family_and_vocoder_folds_remove_only_synthetic_clips() -> None:
    frame = _manifest()
    family = Fold("family", "neural_vocoder").held_rows(frame)
    vocoder = Fold("neural_vocoder", "hifigan").held_rows(frame)
    assert set(frame.loc[family, "label"]) == {"synthetic"} and set(frame.loc[vocoder, "generator"]) == {"hifigan"}
    negatives, positives = Fold("neural_vocoder", "lpcnet").test_masks(frame[frame["split"] == "test"])
    assert negatives.sum() == 12 and positives.sum() == 6   # every genuine test clip against the held-out vocoder


def test_headline_mean_takes_family_and_source_folds_only() -> None:
    folds = {"family:a": FoldResult(9, 9, eer=0.1), "source:s": FoldResult(9, 9, eer=0.3),
             "neural_vocoder:v": FoldResult(9, 9, eer=0.5), "family:b": FoldResult(9, 2, note="too few")}
    summary = summarise(folds, recipe="fold.json")
    assert summary.mean_eer == pytest.approx(0.2) and summary.worst_fold == "neural_vocoder:v"
    assert summary.mean_eer_by_protocol == {"family": pytest.approx(0.1), "neural_vocoder": 0.5, "source": 0.3}
    assert summary.recipe == "fold.json" and summary.bands is None


def test_a_fold_parses_its_name_and_refuses_nonsense() -> None:
    assert Fold.parse("family:formant") == Fold("family", "formant")
    assert Fold.parse("neural_vocoder:espeak-ng:en").held == "espeak-ng:en"   # a generator name may hold colons
    for bad in ("vocoder:hifigan", "neural_vocoder", "family:", "speaker:x"):
        with pytest.raises(ValueError, match="protocol:name"):
            Fold.parse(bad)


def test_one_mask_rule_scores_a_part_against_the_rest() -> None:
    frame = _manifest()
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    genuine, synthetic = part_masks((test["label"] == "synthetic").to_numpy(), (test["family"] == "formant").to_numpy(),
                                    genuine_part=False)
    assert genuine.sum() == 12 and set(test.loc[synthetic, "family"]) == {"formant"}
    # A screen scores against the rows no held part touched.
    others = (test["source"] == "queen").to_numpy()
    genuine, _ = Fold("family", "formant").test_masks(test, others=others)
    assert set(test.loc[genuine, "source"]) == {"queen"}


def test_one_minimum_clips_rule_for_every_part_eer() -> None:
    labels = np.array([0] * MIN_PER_CLASS + [1] * (MIN_PER_CLASS - 1))
    eer, note = part_eer(labels, labels.astype(float))
    assert eer is None and str(MIN_PER_CLASS) in note
    labels = np.append(labels, 1)
    assert part_eer(labels, labels.astype(float)) == (0.0, None)


def test_unknown_fold_names_are_refused_with_the_available_ones() -> None:
    with pytest.raises(ValueError, match="source:queen"):
        parse_folds(_manifest(), ["source:nowhere"], None)
    assert [f.name for f in parse_folds(_manifest(), None, ["neural_vocoder"])] == [
        "neural_vocoder:hifigan", "neural_vocoder:lpcnet"]


def test_a_screen_holds_parts_out_of_training_and_reports_each(tmp_path) -> None:
    from train.events import ProgressLog
    from train.schema import read_manifest
    from train.screen import screen
    from train.toy_corpus import make_toy_corpus

    frame = read_manifest(make_toy_corpus(tmp_path / "corpus"))
    log = ProgressLog(tmp_path / "run", quiet=True)
    result = screen(frame, toy_recipe(), [Fold.parse("family:vocoder")], tmp_path / "cache", log)
    start = next(e for e in map(json.loads, (tmp_path / "run" / "progress.jsonl").read_text().splitlines())
                 if e["event"] == "start")
    held_train = int(((frame["family"] == "vocoder") & (frame["split"] == "train")).sum())
    assert start["train_clips"] == int((frame["split"] == "train").sum()) - held_train   # the part never trained
    held = result["family:vocoder"]
    assert held["n"] == [int(((frame["split"] == "test") & (frame["label"] == "genuine")).sum()),
                         int(((frame["split"] == "test") & (frame["family"] == "vocoder")).sum())]
    assert 0 <= held["eer"] <= 1 and result["mean_heldout_eer"] == held["eer"]
    assert result["in_domain"]["n"][1] == int(((frame["split"] == "test") & (frame["family"] == "formant")).sum())
