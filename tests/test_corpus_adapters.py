"""Adapters: users' datasets in three layouts become corpus manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from train.corpus.adapters import manifest_from_dataset
from train.corpus.manifest import COLUMNS, validate

RATE = 16000


def _tone(path: Path, seconds: float, fmt: str = "WAV") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(str(path), 0.2 * np.sin(2 * np.pi * 220 * t), RATE, format=fmt)


def test_real_fake_folders_with_split_folders(tmp_path: Path) -> None:
    for split in ("training", "testing"):
        _tone(tmp_path / split / "real" / "a.wav", 1.5)
        _tone(tmp_path / split / "fake" / "b.wav", 2.0)
    _tone(tmp_path / "training" / "real" / "notes.txt.wav", 1.0)
    (tmp_path / "training" / "readme.txt").write_text("not a protocol")
    manifest = manifest_from_dataset(tmp_path)
    validate(manifest)
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 5
    row = manifest.set_index("file").loc["training/fake/b.wav"]
    assert (row["label"], row["split"], row["family"]) == ("synthetic", "train", "unknown")
    assert manifest.set_index("file").loc["testing/real/a.wav", "split"] == "test"
    assert manifest.set_index("file").loc["testing/real/a.wav", "duration_s"] == pytest.approx(1.5, abs=1e-3)


def test_real_fake_without_splits_gets_all_three(tmp_path: Path) -> None:
    for i in range(12):
        _tone(tmp_path / "real" / f"r{i}.wav", 1.0)
        _tone(tmp_path / "fake" / f"f{i}.flac", 1.0, fmt="FLAC")
    manifest = manifest_from_dataset(tmp_path)
    assert set(manifest["split"]) == {"train", "val", "test"}
    assert manifest["label"].value_counts().to_dict() == {"genuine": 12, "synthetic": 12}


def test_in_the_wild_meta_is_speaker_disjoint(tmp_path: Path) -> None:
    lines = ["file,speaker,label"]
    for i in range(30):
        speaker = f"Speaker {i % 6}"
        label = "bona-fide" if i % 2 else "spoof"
        _tone(tmp_path / f"{i}.wav", 1.0 + 0.1 * (i % 3))
        lines.append(f"{i}.wav,{speaker},{label}")
    (tmp_path / "meta.csv").write_text("\n".join(lines) + "\n")
    manifest = manifest_from_dataset(tmp_path)
    validate(manifest)
    assert len(manifest) == 30
    assert manifest.groupby("speaker")["split"].nunique().max() == 1
    assert set(manifest["split"]) == {"train", "val", "test"}
    assert manifest.loc[manifest["file"] == "1.wav", "label"].item() == "genuine"
    assert manifest.loc[manifest["file"] == "0.wav", "label"].item() == "synthetic"


def test_in_the_wild_rejects_unknown_label(tmp_path: Path) -> None:
    _tone(tmp_path / "0.wav", 1.0)
    (tmp_path / "meta.csv").write_text("file,speaker,label\n0.wav,A,maybe\n")
    with pytest.raises(ValueError, match="unknown label"):
        manifest_from_dataset(tmp_path)


def test_asvspoof_2019_and_2021_protocols(tmp_path: Path) -> None:
    names_2019 = [("LA_0079", "LA_T_1000001", "-", "bonafide"), ("LA_0079", "LA_T_1000002", "A01", "spoof"),
                  ("LA_0080", "LA_T_1000003", "A04", "spoof")]
    for _, name, _, _ in names_2019:
        _tone(tmp_path / "ASVspoof2019_LA_train" / "flac" / f"{name}.flac", 1.2, fmt="FLAC")
    protocols = tmp_path / "ASVspoof2019_LA_cm_protocols"
    protocols.mkdir()
    (protocols / "ASVspoof2019.LA.cm.train.trn.txt").write_text(
        "\n".join(f"{s} {n} - {a} {k}" for s, n, a, k in names_2019) + "\n")
    _tone(tmp_path / "ASVspoof2019_LA_dev" / "flac" / "LA_D_2000001.flac", 1.0, fmt="FLAC")
    (protocols / "ASVspoof2019.LA.cm.dev.trl.txt").write_text("LA_0070 LA_D_2000001 - - bonafide\n")
    # 2021 LA key format: speaker file codec transmission attack key trim phase
    _tone(tmp_path / "ASVspoof2021_LA_eval" / "flac" / "LA_E_3000001.flac", 1.0, fmt="FLAC")
    (tmp_path / "trial_metadata.txt").write_text("LA_0009 LA_E_3000001 alaw ita_tx A07 spoof notrim eval\n"
                                                 "LA_0009 LA_E_missing alaw ita_tx A07 spoof notrim eval\n")
    manifest = manifest_from_dataset(tmp_path).set_index("file")
    assert len(manifest) == 5  # the line whose audio is missing is skipped
    a01 = manifest.loc["ASVspoof2019_LA_train/flac/LA_T_1000002.flac"]
    assert (a01["label"], a01["family"], a01["generator"], a01["split"]) == ("synthetic", "neural", "A01", "train")
    assert manifest.loc["ASVspoof2019_LA_train/flac/LA_T_1000003.flac", "family"] == "diphone"
    assert manifest.loc["ASVspoof2019_LA_dev/flac/LA_D_2000001.flac", "split"] == "val"
    e = manifest.loc["ASVspoof2021_LA_eval/flac/LA_E_3000001.flac"]
    assert (e["split"], e["condition"], e["speaker"]) == ("test", "alaw", "LA_0009")
    assert manifest.loc["ASVspoof2019_LA_train/flac/LA_T_1000001.flac", "label"] == "genuine"


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    _tone(tmp_path / "x" / "a.wav", 1.0)
    with pytest.raises(ValueError, match="expected real/ and fake/"):
        manifest_from_dataset(tmp_path)
