"""Speaker-disjoint splits, voice splits, LOFO folds and the disjointness check."""

from __future__ import annotations

import pandas as pd
import pytest

from train.corpus.splits import assign_speaker_splits, assign_voice_splits
from train.heldout import Fold
from train.schema import LeakageError, check_no_leakage


def test_speaker_splits_cover_every_split_with_roughly_right_sizes() -> None:
    sizes = {f"spk{i}": float(10 + i) for i in range(40)}
    splits = assign_speaker_splits(sizes, seed=3)
    assert set(splits) == set(sizes)
    totals = {s: sum(sizes[k] for k, v in splits.items() if v == s) for s in ("train", "val", "test")}
    grand = sum(sizes.values())
    assert totals["train"] / grand == pytest.approx(0.7, abs=0.08)
    assert totals["test"] / grand == pytest.approx(0.15, abs=0.06)
    assert assign_speaker_splits(sizes, seed=3) == splits  # deterministic


def test_voice_splits_hold_out_voices_but_keep_small_families_shared() -> None:
    voices = [(f"espeak:{i}", "formant") for i in range(20)] + [("piper:joe", "neural"), ("hibari:heart", "neural")]
    splits = assign_voice_splits(voices, seed=1)
    formant = [splits[f"espeak:{i}"] for i in range(20)]
    assert formant.count("test") == 3 and formant.count("val") == 3 and formant.count("train") == 14
    assert splits["piper:joe"] == splits["hibari:heart"] == "all"


def _manifest() -> pd.DataFrame:
    rows = []
    for split, speaker in (("train", "A"), ("val", "B"), ("test", "C")):
        rows.append(dict(file=f"g{speaker}.wav", label="genuine", speaker=speaker, family="genuine", split=split, derived_from=""))
        rows.append(dict(file=f"v{speaker}.wav", label="synthetic", speaker=speaker, family="vocoder", split=split,
                         derived_from=f"g{speaker}.wav"))
        for family in ("formant", "neural"):
            rows.append(dict(file=f"{family}{speaker}.wav", label="synthetic", speaker=f"{family}:voice", family=family,
                             split=split, derived_from=f"text:{speaker}"))
    return pd.DataFrame(rows)


def test_the_leakage_check_accepts_a_built_manifest_and_catches_leaks() -> None:
    """The builder's manifests (labels, no ``y`` column) go through the trainer's own check."""
    manifest = _manifest()
    check_no_leakage(manifest)
    leaked_genuine = pd.concat([manifest, manifest.iloc[[0]].assign(file="x.wav", split="test")])
    with pytest.raises(LeakageError, match=r"speaker: \['A'\]"):   # a genuine speaker in two splits
        check_no_leakage(leaked_genuine)
    leaked_copy = manifest.copy()
    leaked_copy.loc[leaked_copy["file"] == "vA.wav", "split"] = "test"
    with pytest.raises(LeakageError, match=r"speaker: \['A'\]"):   # a copy outside its speaker's split
        check_no_leakage(leaked_copy)
    leaked_text = manifest.copy()
    leaked_text.loc[leaked_text["file"] == "formantB.wav", "split"] = "train"
    with pytest.raises(LeakageError, match=r"derived_from: \['text:B'\]"):   # a text outside its speaker's split
        check_no_leakage(leaked_text)


def test_family_folds_hold_out_one_family_each() -> None:
    manifest = _manifest()
    test = manifest[manifest["split"] == "test"]
    for family in ("formant", "neural", "vocoder"):
        fold = Fold("family", family)
        kept = manifest[~fold.held_rows(manifest)]
        assert family not in set(kept["family"]) and set(kept["family"]) >= {"genuine"}
        genuine, synthetic = fold.test_masks(test)
        assert set(test.loc[genuine | synthetic, "family"]) == {"genuine", family}
