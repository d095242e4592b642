"""Turn a user's own dataset into a manifest with the corpus columns.

Three layouts are recognised:

* Fake-or-Real style: ``real/`` and ``fake/`` folders (optionally under
  ``training``/``validation``/``testing`` folders, which become the splits);
* In-the-Wild style: ``meta.csv`` with ``file,speaker,label`` (``bona-fide``/``spoof``);
* ASVspoof 2019/2021: protocol/key files whose lines name a speaker, a file and
  ``bonafide``/``spoof`` (2019: ``SPK FILE - ATTACK KEY``; 2021 LA/DF keys:
  ``SPK FILE CODEC TX ATTACK KEY ...``).

Files stay where they are: ``file`` is relative to the dataset folder, which
the trainer then uses as the corpus folder. Where the dataset has no splits,
speakers are assigned speaker-disjointly (files without a speaker each count
as their own speaker). Unknown facts are written as ``unknown``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import soundfile as sf

from detector.vocabulary import AUDIO_EXTENSIONS
from train.corpus.manifest import COLUMNS
from train.corpus.splits import assign_speaker_splits

_SPLIT_WORDS = {"train": "train", "training": "train", "trn": "train", "val": "val", "valid": "val",
                "validation": "val", "dev": "val", "development": "val", "test": "test", "testing": "test",
                "eval": "test", "evaluation": "test"}
_REAL = {"real", "genuine", "bonafide", "bona-fide", "bona_fide", "human"}
_FAKE = {"fake", "spoof", "spoofed", "synthetic", "deepfake"}
# ASVspoof 2019 LA/PA attacks -> closest family of this corpus (approximate, from the challenge's system descriptions).
ASVSPOOF_FAMILIES = {
    "A01": "neural", "A02": "parametric", "A03": "parametric", "A04": "diphone", "A05": "parametric",
    "A06": "vocoder", "A07": "neural", "A08": "neural", "A09": "parametric", "A10": "neural", "A11": "neural",
    "A12": "neural", "A13": "diphone", "A14": "parametric", "A15": "neural", "A16": "diphone", "A17": "vocoder",
    "A18": "vocoder", "A19": "vocoder",
}


def _duration(path: Path) -> float:
    try:
        info = sf.info(str(path))
        return round(info.frames / float(info.samplerate), 3)
    except Exception:  # a container libsndfile cannot read: decode it like serving would
        try:
            from detector.audio import load_audio

            return round(load_audio(path, 16000).duration_s, 3)
        except Exception:
            return float("nan")


def _split_from_parts(parts: tuple[str, ...]) -> str | None:
    for part in parts:
        key = part.lower()
        if key in _SPLIT_WORDS:
            return _SPLIT_WORDS[key]
        for word in re.split(r"[_\-.\s]+", key):
            if word in ("training", "validation", "testing", "train", "dev", "eval", "test"):
                return _SPLIT_WORDS[word]
    return None


def _finish(rows: list[dict], root: Path, name: str) -> pd.DataFrame:
    """Fill durations and any missing split speaker-disjointly; order the columns."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError(f"no labelled audio files found in {root}")
    frame["duration_s"] = [_duration(root / f) for f in frame["file"]]
    missing = frame["split"].isna() | (frame["split"] == "")
    if missing.any():
        sizes = frame.loc[missing].groupby("speaker").size().astype(float).to_dict()
        mapping = assign_speaker_splits(sizes, seed=0)
        frame.loc[missing, "split"] = frame.loc[missing, "speaker"].map(mapping)
    frame["source"] = frame.get("source", name)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = "unknown"
    return frame[COLUMNS].reset_index(drop=True)


def from_real_fake(root: str | Path) -> pd.DataFrame:
    """Manifest of a folder tree containing ``real/`` and ``fake/`` folders."""
    root = Path(root)
    rows = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file():
            continue
        parts = path.relative_to(root).parts
        lowered = [p.lower() for p in parts[:-1]]
        label = "genuine" if any(p in _REAL for p in lowered) else "synthetic" if any(p in _FAKE for p in lowered) else None
        if label is None:
            continue
        rows.append({"file": path.relative_to(root).as_posix(), "label": label, "speaker": f"file:{path.stem}",
                     "language": "unknown", "family": "genuine" if label == "genuine" else "unknown",
                     "generator": "human" if label == "genuine" else "unknown", "derived_from": "",
                     "split": _split_from_parts(parts[:-1]), "condition": "original"})
    return _finish(rows, root, root.name)


def from_in_the_wild(root: str | Path, meta: str = "meta.csv") -> pd.DataFrame:
    """Manifest of an In-the-Wild style folder (``meta.csv``: ``file,speaker,label``)."""
    root = Path(root)
    rows = []
    with open(root / meta, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            label_text = (record.get("label") or "").strip().lower()
            if label_text not in _REAL and label_text not in _FAKE:
                raise ValueError(f"{meta}: unknown label {record.get('label')!r} (expected bona-fide or spoof)")
            label = "genuine" if label_text in _REAL else "synthetic"
            rows.append({"file": record["file"].strip(), "label": label, "speaker": (record.get("speaker") or "unknown").strip(),
                         "language": "en", "family": "genuine" if label == "genuine" else "unknown",
                         "generator": "human" if label == "genuine" else "unknown", "derived_from": "",
                         "split": None, "condition": "original"})
    return _finish(rows, root, root.name)


def _protocol_split(name: str) -> str:
    lowered = name.lower()
    if ".trn" in lowered or "train" in lowered:
        return "train"
    if ".dev" in lowered or "_dev" in lowered or "dev." in lowered:
        return "val"
    return "test"


def _parse_protocol_line(tokens: list[str]) -> dict | None:
    keys = [t for t in tokens if t.lower() in ("bonafide", "spoof")]
    if len(tokens) < 3 or not keys:
        return None
    attack = next((t for t in tokens[2:] if re.fullmatch(r"A\d\d", t)), "-")
    codec = tokens[2] if len(tokens) >= 6 and tokens[2] != "-" else "original"
    return {"speaker": tokens[0], "name": tokens[1], "key": keys[0].lower(), "attack": attack, "codec": codec}


def from_asvspoof(root: str | Path, protocols: list[Path] | None = None) -> pd.DataFrame:
    """Manifest of an ASVspoof 2019/2021 folder (protocol files found recursively)."""
    root = Path(root)
    protocols = protocols or [p for p in sorted(root.rglob("*.txt")) if _looks_like_protocol(p)]
    audio = {p.stem: p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS}
    rows = []
    for protocol in protocols:
        split = _protocol_split(protocol.name)
        for line in protocol.read_text(errors="replace").splitlines():
            entry = _parse_protocol_line(line.split())
            if entry is None or entry["name"] not in audio:
                continue
            spoof = entry["key"] == "spoof"
            rows.append({"file": audio[entry["name"]].relative_to(root).as_posix(),
                         "label": "synthetic" if spoof else "genuine", "speaker": entry["speaker"], "language": "en",
                         "family": ASVSPOOF_FAMILIES.get(entry["attack"], "unknown") if spoof else "genuine",
                         "generator": entry["attack"] if spoof else "human", "derived_from": "", "split": split,
                         "condition": entry["codec"], "source": "asvspoof"})
    return _finish(rows, root, "asvspoof")


def _looks_like_protocol(path: Path) -> bool:
    with open(path, errors="replace") as handle:
        head = [handle.readline() for _ in range(5)]
    return any(re.search(r"\b(bonafide|spoof)\b", line) for line in head)


def manifest_from_dataset(path: str | Path) -> pd.DataFrame:
    """Detect the layout of ``path`` and return its manifest (corpus columns).

    Raises
    ------
    ValueError
        When no known layout is found.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    if (root / "meta.csv").exists():
        return from_in_the_wild(root)
    if any(_looks_like_protocol(p) for p in root.rglob("*.txt")):
        return from_asvspoof(root)
    folders = {p.name.lower() for p in root.rglob("*") if p.is_dir()}
    if folders & _REAL and folders & _FAKE:
        return from_real_fake(root)
    raise ValueError(f"{root}: expected real/ and fake/ folders, a meta.csv, or ASVspoof protocol files")
