"""The manifest (one row per stored clip) and the corpus summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd
import soundfile as sf

from detector.vocabulary import FAMILIES
from train.schema import LABEL_NAMES, MANIFEST_COLUMNS, MANIFEST_FILE, SPLITS

COLUMNS = list(MANIFEST_COLUMNS)   # a list: pandas takes it as the column order
LABELS = LABEL_NAMES
PROVENANCE_COLUMNS = ["file", "channel", "original_sample_rate"]
SHARE_RANGE = (0.40, 0.60)   # synthetic share allowed per language
MIN_CLIPS_CHECKED = 20       # languages smaller than this are reported, not held to the range


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


def write_provenance(jobs: Iterable, manifest: pd.DataFrame, out_dir: Path) -> Path:
    """``provenance.csv``: each stored clip's source channel (codec and original sample rate).

    Kept beside the manifest (whose columns stay fixed) for the channel audit:
    genuine clips and vocoder copies carry their recording's channel, TTS clips
    the genuine channel they were passed through.
    """
    stored = set(manifest["file"])
    rows = [{"file": j.file, "channel": (j.channel or "pcm16:16000").split(":")[0],
             "original_sample_rate": int((j.channel or "pcm16:16000").split(":")[1])} for j in jobs if j.file in stored]
    path = Path(out_dir) / "provenance.csv"
    pd.DataFrame(rows, columns=PROVENANCE_COLUMNS).to_csv(path, index=False)
    return path


def validate(manifest: pd.DataFrame) -> None:
    """Raise ``ValueError`` if a manifest breaks the column contract."""
    if list(manifest.columns[: len(COLUMNS)]) != COLUMNS:
        raise ValueError(f"manifest columns must start with {COLUMNS}")
    bad_labels = set(manifest["label"]) - set(LABELS)
    bad_families = set(manifest["family"]) - set(FAMILIES) - {"unknown"}
    if bad_labels or bad_families:
        raise ValueError(f"unexpected labels {bad_labels} or families {bad_families}")
    if not manifest["split"].isin(SPLITS).all():
        raise ValueError("split must be train, val or test")


def write_manifest(manifest: pd.DataFrame, out_dir: Path) -> Path:
    path = Path(out_dir) / MANIFEST_FILE
    tmp = path.with_suffix(".tmp")
    manifest.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def counts_of(values: pd.Series) -> dict:
    return {str(k): int(v) for k, v in values.value_counts().sort_index().items()}


def summarise(manifest: pd.DataFrame, extra: dict | None = None) -> dict:
    """Counts by label, family, generator, language, speaker, split and condition; hours."""
    def counts(column: str) -> dict:
        return counts_of(manifest[column])

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
    synthetic = manifest[manifest["label"] == "synthetic"]
    summary["synthetic_families"] = sorted(set(synthetic["family"]))
    neural = synthetic[synthetic["family"] == "neural_vocoder"]
    summary["neural_vocoder_share"] = round(len(neural) / max(1, len(synthetic)), 3)
    summary["neural_vocoders"] = counts_of(neural["generator"])
    summary["genuine_english_clips"] = int(((manifest["label"] == "genuine") & (manifest["language"] == "en")).sum())
    summary["language_balance"] = language_balance(manifest)
    fs = manifest.groupby(["family", "split"]).size().unstack(fill_value=0)
    summary["by_family_split"] = {str(f): {str(s): int(v) for s, v in row.items()} for f, row in fs.iterrows()}
    generators = manifest[manifest["label"] == "synthetic"].groupby("split")["generator"].agg(lambda g: set(g))
    if "test" in generators and "train" in generators:
        # Voices the test split holds that training never saw (the held-out voices).
        summary["test_generators_unseen_in_train"] = sorted(generators["test"] - generators["train"])
    if extra:
        summary.update(extra)
    return summary


def language_balance(manifest: pd.DataFrame) -> dict[str, dict]:
    """Per language: clips by label, synthetic share, and whether it lies in :data:`SHARE_RANGE`."""
    table = manifest.groupby(["language", "label"]).size().unstack(fill_value=0)
    out = {}
    for lang, row in table.iterrows():
        genuine, synthetic = int(row.get("genuine", 0)), int(row.get("synthetic", 0))
        total = genuine + synthetic
        share = synthetic / total if total else 0.0
        checked = total >= MIN_CLIPS_CHECKED
        out[str(lang)] = {"genuine": genuine, "synthetic": synthetic, "synthetic_share": round(share, 3),
                          "checked": checked, "ok": (not checked) or SHARE_RANGE[0] <= share <= SHARE_RANGE[1]}
    return out


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
    if "language_balance" in summary:
        shares = ", ".join(f"{lang} {v['synthetic_share']:.0%} of {v['genuine'] + v['synthetic']}"
                           + ("" if v["ok"] else " (OUT OF RANGE)") for lang, v in summary["language_balance"].items())
        lines += [f"genuine English clips {summary['genuine_english_clips']}  neural-vocoder share "
                  f"{summary['neural_vocoder_share']:.1%} {summary['neural_vocoders']}  synthetic families "
                  f"{len(summary['synthetic_families'])}",
                  f"synthetic share by language: {shares}"]
    for key, name in (("audit_eer", "trivial-feature audit EER"), ("channel_audit_eer", "language/channel audit EER")):
        if key in summary:
            lines.append(f"{name} {summary[key]:.1%}")
    return "\n".join(lines)
