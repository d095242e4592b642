"""The corpus manifest contract: file name, columns, labels, splits, reading it and the leakage rule.

A corpus is a folder with ``manifest.csv``: one row per clip, written by the
corpus builder or the dataset adapters (:mod:`train.corpus`) and read by the
trainer (:mod:`train.fit`, :mod:`train.tune`) and the admin page. Every one of
those takes the names below from here. pandas but no TensorFlow: the app
process imports this module.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MANIFEST_FILE = "manifest.csv"
# Every column is required, in this order (the builder writes them so; extra columns may follow).
MANIFEST_COLUMNS = ("file", "label", "source", "speaker", "language", "family", "generator",
                    "derived_from", "split", "condition", "duration_s")
# Added by read_manifest for the trainer, never stored.
DERIVED_COLUMNS = ("path", "y")
LABELS = {"genuine": 0, "synthetic": 1}      # label -> training target
LABEL_NAMES = tuple(LABELS)
SPLITS = ("train", "val", "test")


class LeakageError(ValueError):
    """The same speaker or source recording appears in more than one split."""


def manifest_path(path: str | Path) -> Path:
    """``path`` itself, or ``path/manifest.csv`` when ``path`` is a folder."""
    path = Path(path)
    return path / MANIFEST_FILE if path.is_dir() else path


def read_manifest_table(path: str | Path) -> pd.DataFrame:
    """The manifest as stored (file or its folder), empty strings kept as ``""``; no checks."""
    return pd.read_csv(manifest_path(path), keep_default_na=False, dtype={"speaker": str, "derived_from": str})


def missing_columns(frame: pd.DataFrame) -> list[str]:
    """The required columns ``frame`` lacks."""
    return [c for c in MANIFEST_COLUMNS if c not in frame.columns]


def value_problems(frame: pd.DataFrame) -> list[str]:
    """Unknown labels or splits in ``frame``, as sentences; empty when every value is known."""
    problems = []
    bad = sorted(set(frame["label"]) - set(LABELS))
    if bad:
        problems.append(f"unknown labels {bad}; expected {sorted(LABELS)}")
    bad = sorted(set(frame["split"]) - set(SPLITS))
    if bad:
        problems.append(f"unknown splits {bad}; expected {SPLITS}")
    return problems


def read_manifest(corpus: str | Path) -> pd.DataFrame:
    """Read ``corpus/manifest.csv`` for training and add ``path`` (absolute) and ``y`` (0/1).

    Raises
    ------
    ValueError
        Missing columns, unknown labels or splits.
    """
    corpus = Path(corpus)
    frame = pd.read_csv(corpus / MANIFEST_FILE, dtype=str, keep_default_na=False)
    missing = missing_columns(frame)
    if missing:
        raise ValueError(f"{corpus / MANIFEST_FILE} lacks columns {missing}")
    problems = value_problems(frame)
    if problems:
        raise ValueError(problems[0])
    frame["path"] = [str((corpus / f).resolve()) for f in frame["file"]]
    frame["y"] = frame["label"].map(LABELS).astype(int)
    frame["duration_s"] = pd.to_numeric(frame["duration_s"], errors="coerce")
    return frame


def _targets(frame: pd.DataFrame) -> pd.Series:
    """0/1 per clip: ``y`` when read for training, else mapped from ``label`` (a builder's manifest)."""
    return frame["y"] if "y" in frame.columns else frame["label"].map(LABELS)


def find_leakage(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Genuine speakers and source recordings shared between splits.

    The corpus rules: a genuine speaker lies in one split; a synthetic clip made
    from a speaker's audio (``speaker`` = that speaker) or text (``derived_from`` =
    ``text:<speaker>`` or the source file) lies in that speaker's split, otherwise
    the model could recognise the person or recording rather than the synthesis.
    TTS voice names of synthetic clips may recur across splits by design.

    Returns
    -------
    dict
        ``{"speaker": [...], "derived_from": [...]}``; empty lists when clean.
    """
    target = _targets(frame)
    genuine = frame[target == 0]
    splits_of = genuine.groupby("speaker")["split"].agg(set)
    speakers = {s for s, v in splits_of.items() if len(v) > 1 and s != ""}
    home = {s: next(iter(v)) for s, v in splits_of.items() if len(v) == 1}
    synthetic = frame[target == 1]
    for speaker, split in zip(synthetic["speaker"], synthetic["split"]):
        if speaker in home and home[speaker] != split:
            speakers.add(speaker)
    by_file = dict(zip(frame["file"], frame["split"]))
    origins = frame["derived_from"].fillna("").astype(str)   # a builder's frame may hold None
    crossed = set()
    for origin, split in zip(origins, frame["split"]):
        owner = origin[5:] if origin.startswith("text:") else None
        if (origin in by_file and by_file[origin] != split) or (owner in home and home[owner] != split):
            crossed.add(origin)
    values = frame["split"][origins != ""].groupby(origins[origins != ""]).nunique()
    crossed |= set(values[values > 1].index.astype(str))
    return {"speaker": sorted(speakers), "derived_from": sorted(crossed)}


def check_no_leakage(frame: pd.DataFrame) -> None:
    """Raise :class:`LeakageError` if any speaker or source crosses splits (trainer and corpus builder)."""
    leaks = find_leakage(frame)
    if any(leaks.values()):
        summary = "; ".join(f"{k}: {v[:5]}{'...' if len(v) > 5 else ''}" for k, v in leaks.items() if v)
        raise LeakageError(f"splits share {summary}")
