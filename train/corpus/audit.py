"""Shortcut audits: can trivial features, or language and recording format, tell the labels apart?

A gradient-boosting and a logistic-regression classifier are fitted on the
train split using only duration, RMS level, spectral roll-off (85 % and 99 %),
spectral bandwidth, leading/trailing quiet time and the decoded file's
original sample rate, plus the effective bandwidth (highest frequency within
45 dB of the long-term spectral peak), then scored on the test split. A healthy corpus keeps
the equal error rate near chance (>= 35 %); a low EER names a shortcut that a
detector would learn instead of synthesis artefacts. A second audit fits the
same classifiers on language and source-channel cues only (:func:`channel_audit`).
"""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pandas as pd

from detector.audio import load_audio
from detector.metrics import compute_eer

FEATURES = ["duration_s", "rms_db", "rolloff85_hz", "rolloff99_hz", "bandwidth_hz", "effective_bandwidth_hz",
            "leading_quiet_s", "trailing_quiet_s", "original_sample_rate"]
TARGET_EER = 0.35
RATE = 16000


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and its threshold (``labels`` 1 = synthetic, higher score = more synthetic)."""
    return compute_eer(labels, scores)


def clip_features(path: str | Path) -> dict[str, float]:
    """The trivial features of one stored clip."""
    decoded = load_audio(path, RATE)
    x = decoded.samples.astype(np.float64)
    n_fft, hop = 512, 160
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    count = 1 + (len(x) - n_fft) // hop
    frames = x[np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / RATE)
    energy = power.sum(axis=1) + 1e-12
    level = 10 * np.log10(energy / n_fft)
    loud = level > level.max() - 30.0
    cum = np.cumsum(power, axis=1) / energy[:, None]
    roll85 = freqs[np.argmax(cum >= 0.85, axis=1)]
    roll99 = freqs[np.argmax(cum >= 0.99, axis=1)]
    centroid = (power * freqs).sum(axis=1) / energy
    bandwidth = np.sqrt((power * (freqs[None, :] - centroid[:, None]) ** 2).sum(axis=1) / energy)
    # Highest frequency whose long-term level is within 45 dB of the peak: the
    # native-bandwidth fingerprint (8 kHz sources stop near 4 kHz).
    ltas = 10 * np.log10(power[loud].mean(axis=0) + 1e-20)
    above = np.nonzero(ltas > ltas.max() - 45.0)[0]
    first = int(np.argmax(loud))
    last = len(loud) - int(np.argmax(loud[::-1]))
    return {
        "duration_s": len(decoded.samples) / RATE,
        "rms_db": float(10 * np.log10(np.mean(decoded.samples.astype(np.float64) ** 2) + 1e-12)),
        "rolloff85_hz": float(np.mean(roll85[loud])),
        "rolloff99_hz": float(np.mean(roll99[loud])),
        "bandwidth_hz": float(np.mean(bandwidth[loud])),
        "effective_bandwidth_hz": float(freqs[above[-1]]) if len(above) else 0.0,
        "leading_quiet_s": first * hop / RATE,
        "trailing_quiet_s": (count - last) * hop / RATE,
        "original_sample_rate": float(decoded.original_sample_rate),
    }


def feature_table(corpus_dir: Path, manifest: pd.DataFrame, workers: int = 2) -> pd.DataFrame:
    """Trivial features for every manifest row (``label`` and ``split`` kept)."""
    paths = [str(Path(corpus_dir) / f) for f in manifest["file"]]
    if workers > 1 and len(paths) > 200:
        with mp.get_context("fork").Pool(workers) as pool:
            rows = pool.map(clip_features, paths, chunksize=64)
    else:
        rows = [clip_features(p) for p in paths]
    table = pd.DataFrame(rows, columns=FEATURES)
    for column in ("label", "split", "family"):
        table[column] = manifest[column].to_numpy()
    return table


def audit_table(table: pd.DataFrame) -> dict:
    """Fit on train, score test; EER per classifier and per single feature."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = table[table["split"] == "train"], table[table["split"] == "test"]
    y_train = (train["label"] == "synthetic").to_numpy().astype(int)
    y_test = (test["label"] == "synthetic").to_numpy().astype(int)
    models = {
        "gradient_boosting": HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0),
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }
    result: dict = {"features": FEATURES, "n_train": int(len(train)), "n_test": int(len(test)), "classifiers": {}}
    for name, model in models.items():
        model.fit(train[FEATURES].to_numpy(), y_train)
        scores = model.predict_proba(test[FEATURES].to_numpy())[:, 1]
        result["classifiers"][name] = round(eer(y_test, scores)[0], 4)
    single = {}
    for feature in FEATURES:
        value = eer(y_test, test[feature].to_numpy())[0]
        single[feature] = round(min(value, 1.0 - value), 4) if value == value else None
    result["single_feature_eer"] = single
    result["per_family_eer"] = {}
    model = models["gradient_boosting"]
    for family in sorted(set(test["family"]) - {"genuine"}):
        part = test[(test["family"] == family) | (test["label"] == "genuine")]
        scores = model.predict_proba(part[FEATURES].to_numpy())[:, 1]
        result["per_family_eer"][family] = round(eer((part["label"] == "synthetic").astype(int).to_numpy(), scores)[0], 4)
    result["eer"] = min(result["classifiers"].values())
    result["target_eer"] = TARGET_EER
    result["passed"] = bool(result["eer"] >= TARGET_EER)
    result["means_by_label"] = {c: {k: round(float(v), 4) for k, v in table.groupby("label")[c].mean().items()} for c in FEATURES}
    return result


def channel_audit(manifest: pd.DataFrame, provenance: pd.DataFrame) -> dict:
    """The same two classifiers on language and source-channel cues only.

    Features: one-hot language, one-hot source codec, log original sample rate
    (from ``provenance.csv``). Near chance means language and recording format
    cannot stand in for the label.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    table = manifest[["file", "label", "split", "language"]].merge(provenance, on="file", how="left")
    table["channel"] = table["channel"].fillna("unknown")
    table["original_sample_rate"] = table["original_sample_rate"].fillna(16000)
    features = pd.get_dummies(table[["language", "channel"]].astype(str), dtype=float)
    features["log_rate"] = np.log2(table["original_sample_rate"].astype(float))
    train, test = (table["split"] == "train").to_numpy(), (table["split"] == "test").to_numpy()
    y = (table["label"] == "synthetic").to_numpy().astype(int)
    result: dict = {"features": ["language (one-hot)", "source codec (one-hot)", "log2 original sample rate"],
                    "n_train": int(train.sum()), "n_test": int(test.sum()), "classifiers": {}}
    models = {"gradient_boosting": HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0),
              "logistic_regression": LogisticRegression(max_iter=2000)}
    for name, model in models.items():
        model.fit(features.to_numpy()[train], y[train])
        result["classifiers"][name] = round(eer(y[test], model.predict_proba(features.to_numpy()[test])[:, 1])[0], 4)
    result["eer"] = min(result["classifiers"].values())
    result["passed"] = bool(result["eer"] >= TARGET_EER)
    return result


def run_audit(corpus_dir: str | Path, manifest: pd.DataFrame | None = None, workers: int = 2) -> dict:
    """Audit a built corpus; prints both EERs and writes ``audit.json``.

    ``passed`` is true only when both audits (trivial features; language and
    source channel) stay at or above :data:`TARGET_EER`.
    """
    from train.schema import read_manifest_table as read_manifest

    corpus_dir = Path(corpus_dir)
    manifest = read_manifest(corpus_dir) if manifest is None else manifest
    result = audit_table(feature_table(corpus_dir, manifest, workers))
    provenance_file = corpus_dir / "provenance.csv"
    if provenance_file.exists():
        result["channel_audit"] = channel_audit(manifest, pd.read_csv(provenance_file))
        result["passed"] = result["passed"] and result["channel_audit"]["passed"]
        print(f"language/channel audit EER {result['channel_audit']['eer']:.1%}; "
              f"classifiers {result['channel_audit']['classifiers']}")
    (corpus_dir / "audit.json").write_text(json.dumps(result, indent=2) + "\n")
    verdict = "ok" if result["passed"] else f"BELOW the {TARGET_EER:.0%} target: a shortcut remains"
    print(f"shortcut audit EER {result['eer']:.1%} ({verdict}); classifiers {result['classifiers']}")
    return result
