"""The manifest (one row per stored clip) and the corpus summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd
import soundfile as sf

COLUMNS = ["file", "label", "source", "speaker", "language", "family", "generator", "derived_from", "split",
           "condition", "duration_s"]
LABELS = ("genuine", "synthetic")
FAMILIES = ("genuine", "formant", "diphone", "parametric", "neural", "vocoder")


def rows_from_jobs(jobs: Iterable, out_dir: Path) -> pd.DataFrame:
    """Manifest rows for every planned job whose clip exists on disk.

    Durations are read back from the WAV headers so the manifest always tells
    the truth about the files, including clips written by an earlier run.
    """
    rows = []
    for job in jobs:
        path = out_dir / job.file
        if not path.exists():
            continue
        info = sf.info(str(path))
        rows.append({
            "file": job.file, "label": job.label, "source": job.source, "speaker": job.speaker,
            "language": job.language, "family": job.family, "generator": job.generator,
            "derived_from": job.derived_from, "split": job.split, "condition": job.condition,
            "duration_s": round(info.frames / float(info.samplerate), 3),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def validate(manifest: pd.DataFrame) -> None:
    """Raise ``ValueError`` if a manifest breaks the column contract."""
    if list(manifest.columns[: len(COLUMNS)]) != COLUMNS:
        raise ValueError(f"manifest columns must start with {COLUMNS}")
    bad_labels = set(manifest["label"]) - set(LABELS)
    bad_families = set(manifest["family"]) - set(FAMILIES) - {"unknown"}
    if bad_labels or bad_families:
        raise ValueError(f"unexpected labels {bad_labels} or families {bad_families}")
    if not manifest["split"].isin(["train", "val", "test"]).all():
        raise ValueError("split must be train, val or test")


def write_manifest(manifest: pd.DataFrame, out_dir: Path) -> Path:
    path = Path(out_dir) / "manifest.csv"
    tmp = path.with_suffix(".tmp")
    manifest.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Read ``manifest.csv`` (or the folder holding it) with empty strings kept as ``""``."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    return pd.read_csv(path, keep_default_na=False, dtype={"speaker": str, "derived_from": str})


def summarise(manifest: pd.DataFrame, extra: dict | None = None) -> dict:
    """Counts by label, family, generator, language, speaker, split and condition; hours."""
    def counts(column: str) -> dict:
        return {str(k): int(v) for k, v in manifest[column].value_counts().sort_index().items()}

    def by_label(column: str) -> dict:
        table = manifest.groupby([column, "label"]).size().unstack(fill_value=0)
        return {str(k): {str(c): int(v) for c, v in row.items()} for k, row in table.iterrows()}

    summary = {
        "clips": int(len(manifest)),
        "hours": round(float(manifest["duration_s"].sum()) / 3600.0, 3),
        "hours_by_label": {str(k): round(float(v) / 3600.0, 3) for k, v in manifest.groupby("label")["duration_s"].sum().items()},
        "by_label": counts("label"),
        "by_family": counts("family"),
        "by_generator": counts("generator"),
        "by_language": by_label("language"),
        "by_speaker": counts("speaker"),
        "by_split": by_label("split"),
        "by_condition": by_label("condition"),
        "genuine_speakers": int(manifest.loc[manifest["label"] == "genuine", "speaker"].nunique()),
        "genuine_languages": int(manifest.loc[manifest["label"] == "genuine", "language"].nunique()),
        "synthetic_generators": int(manifest.loc[manifest["label"] == "synthetic", "generator"].nunique()),
        "duration_s_by_label": {str(k): {"mean": round(float(g.mean()), 3), "median": round(float(g.median()), 3)}
                                for k, g in manifest.groupby("label")["duration_s"]},
    }
    fs = manifest.groupby(["family", "split"]).size().unstack(fill_value=0)
    summary["by_family_split"] = {str(f): {str(s): int(v) for s, v in row.items()} for f, row in fs.iterrows()}
    generators = manifest[manifest["label"] == "synthetic"].groupby("split")["generator"].agg(lambda g: set(g))
    if "test" in generators and "train" in generators:
        # Voices the test split holds that training never saw (the held-out voices).
        summary["test_generators_unseen_in_train"] = sorted(generators["test"] - generators["train"])
    if extra:
        summary.update(extra)
    return summary


def write_summary(summary: dict, out_dir: Path) -> Path:
    path = Path(out_dir) / "summary.json"
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return path


def format_summary(summary: dict) -> str:
    """A short human-readable digest of :func:`summarise`."""
    lines = [f"clips {summary['clips']}  hours {summary['hours']:.2f}  by label {summary['by_label']}",
             f"families {summary['by_family']}",
             f"genuine speakers {summary['genuine_speakers']}  genuine languages {summary['genuine_languages']}  "
             f"synthetic generators {summary['synthetic_generators']}",
             f"splits {summary['by_split']}",
             f"durations {summary['duration_s_by_label']}"]
    return "\n".join(lines)
