"""End-to-end: a small corpus built from scratch (downloads cached in .cache/corpus).

Slow (about two minutes on 2 cores the first time, with downloads), but it runs
in CI: it is the only test that exercises the real Debian sources and every
synthesiser together.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from detector.config import FeatureConfig
from detector.preparation import frame_rms_db
from train.corpus import build, read_manifest
from train.corpus.manifest import COLUMNS
from train.corpus.reserved import check_no_reserved
from train.heldout import Fold
from train.schema import check_no_leakage

pytestmark = pytest.mark.slow
CONFIG = FeatureConfig()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> tuple[Path, pd.DataFrame, list]:
    out = tmp_path_factory.mktemp("corpus-small")
    calls: list[tuple[int, int, str]] = []
    build(out, "small", progress=lambda done, total, message: calls.append((done, total, message)))
    return out, read_manifest(out), calls


def test_manifest_has_both_labels_all_families_and_splits(small_corpus) -> None:
    out, manifest, calls = small_corpus
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) >= 250
    assert set(manifest["label"]) == {"genuine", "synthetic"}
    assert set(manifest["family"]) == {"genuine", "formant", "diphone", "parametric", "neural", "articulatory",
                                       "vocoder", "neural_vocoder"}
    assert {"queen", "sky", "warzone", "codec2"} <= set(manifest.loc[manifest["label"] == "genuine", "source"])
    assert {"hifigan", "lpcnet"} <= set(manifest.loc[manifest["family"] == "neural_vocoder", "generator"])
    assert manifest.loc[manifest["family"] == "articulatory", "generator"].str.startswith("gnuspeech:").all()
    for split in ("train", "val", "test"):
        assert set(manifest.loc[manifest["split"] == split, "label"]) == {"genuine", "synthetic"}
    assert manifest.loc[manifest["label"] == "genuine", "speaker"].nunique() >= 10
    assert manifest["condition"].nunique() >= 4
    assert calls and calls[-1][0] == calls[-1][1]  # progress reached the end


def test_clips_are_16khz_mono_pcm16_with_enough_sound(small_corpus) -> None:
    out, manifest, _ = small_corpus
    for row in manifest.itertuples():
        info = sf.info(str(out / row.file))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames / info.samplerate == pytest.approx(row.duration_s, abs=0.002)
        assert row.duration_s >= CONFIG.min_speech_s


def test_both_classes_share_duration_and_loudness_distributions(small_corpus) -> None:
    out, manifest, _ = small_corpus
    medians = manifest.groupby("label")["duration_s"].median()
    assert 0.75 < medians["genuine"] / medians["synthetic"] < 1.33
    loudness: dict[str, list[float]] = {"genuine": [], "synthetic": []}
    for row in manifest.itertuples():
        x, _ = sf.read(str(out / row.file), dtype="float32")
        levels = frame_rms_db(x, CONFIG.frame_length, CONFIG.frame_hop)
        active = levels > levels.max() - CONFIG.trim_top_db
        loudness[row.label].append(10 * np.log10(np.mean(10 ** (levels[active] / 10))))
    for values in loudness.values():
        assert np.median(values) == pytest.approx(CONFIG.target_rms_dbfs, abs=1.0)
    assert abs(np.median(loudness["genuine"]) - np.median(loudness["synthetic"])) < 1.0


def test_splits_are_speaker_disjoint_and_heldout_folds_work(small_corpus) -> None:
    _, manifest, _ = small_corpus
    check_no_leakage(manifest)
    genuine = manifest[manifest["label"] == "genuine"]
    assert genuine.groupby("speaker")["split"].nunique().max() == 1
    vocoder = manifest[manifest["family"] == "vocoder"]
    home = genuine.groupby("speaker")["split"].first()
    assert (vocoder["split"].to_numpy() == vocoder["speaker"].map(home).to_numpy()).all()
    families = set(manifest.loc[manifest["label"] == "synthetic", "family"])
    assert families == {"formant", "diphone", "parametric", "neural", "articulatory", "vocoder", "neural_vocoder"}
    test = manifest[manifest["split"] == "test"]
    for family in families:   # each held-out family fold (train/heldout.py) leaves only that family to test
        fold = Fold("family", family)
        assert family not in set(manifest.loc[~fold.held_rows(manifest), "family"])
        genuine, synthetic = fold.test_masks(test)
        assert set(test.loc[genuine | synthetic, "family"]) <= {"genuine", family}


def test_summary_and_audit_are_written(small_corpus) -> None:
    out, manifest, _ = small_corpus
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clips"] == len(manifest)
    assert summary["by_label"] == manifest["label"].value_counts().to_dict()
    assert summary["hours"] == pytest.approx(manifest["duration_s"].sum() / 3600, abs=0.01)
    audit = json.loads((out / "audit.json").read_text())
    assert 0.0 <= audit["eer"] <= 1.0 and audit["n_test"] == int((manifest["split"] == "test").sum())
    assert {"duration_s", "rms_db", "rolloff85_hz", "bandwidth_hz", "leading_quiet_s",
            "original_sample_rate"} <= set(audit["features"])
    assert summary["audit_eer"] == audit["eer"]
    assert summary["channel_audit_eer"] == audit["channel_audit"]["eer"]
    assert audit["channel_audit"]["n_test"] == audit["n_test"]


def test_v2_rules_hold_language_balance_channels_and_reserved_sources(small_corpus) -> None:
    out, manifest, _ = small_corpus
    summary = json.loads((out / "summary.json").read_text())
    assert summary["corpus_version"] == 2
    from train.publish import corpus_version

    assert corpus_version(out) == 2  # what a model trained on it records in metrics.json
    for lang, row in summary["language_balance"].items():
        assert row["ok"], (lang, row)
    # Every language in every split holds both labels.
    cells = manifest.groupby(["language", "split"])["label"].nunique()
    assert (cells == 2).all(), cells[cells < 2]
    assert summary["neural_vocoder_share"] >= 0.25
    assert sum(summary["failed"].values()) == len(list((out / "failed").glob("*.txt")))
    assert len(manifest) + sum(summary["failed"].values()) == summary["planned"]
    check_no_reserved(manifest)
    provenance = pd.read_csv(out / "provenance.csv")
    assert sorted(provenance["file"]) == sorted(manifest["file"])
    tts = manifest[manifest["file"].str.startswith(tuple(f"clips/{f}/" for f in ("formant", "diphone", "neural")))]
    channels = set(provenance.loc[provenance["file"].isin(tts["file"]), "channel"])
    assert len(channels) >= 2  # TTS clips wear the genuine sources' formats, not one synthesiser WAV


def test_second_build_resumes_without_rendering(small_corpus) -> None:
    out, manifest, _ = small_corpus
    stamps = {f: (out / f).stat().st_mtime_ns for f in manifest["file"]}
    build(out, "small", audit=False)
    again = read_manifest(out)
    pd.testing.assert_frame_equal(again, manifest)
    assert all((out / f).stat().st_mtime_ns == t for f, t in stamps.items())
