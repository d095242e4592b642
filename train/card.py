"""The model card (``card.md``): what the model was trained on and how well it did, in plain words.

Every number comes from ``metrics.json`` (written by ``train.fit`` and
``train.evaluate``) or from the corpus manifest; nothing is typed in by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.frontends import FRONT_ENDS
from detector.registry import atomic_write_text, heldout_folds

NOT_MEASURED = "not measured"

# How windows were normalised, when it is more than one level for the whole window.
NORM_WORDS = {
    "per_band": ", each band centred on its own average over the window (a fixed microphone, room or codec "
                "colouring is removed before the network sees it)",
}


def pct(value: float | None) -> str:
    """A rate as a percentage with two decimals, or "not measured"."""
    return NOT_MEASURED if value is None else f"{100 * value:.2f} %"


def data_section(frame: pd.DataFrame) -> list[str]:
    """Sources, speakers, languages, families and hours of the corpus."""
    hours = frame.groupby("label")["duration_s"].sum() / 3600.0
    genuine = frame[frame["label"] == "genuine"]
    synthetic = frame[frame["label"] == "synthetic"]
    splits = frame.groupby(["split", "label"]).size().unstack(fill_value=0)
    lines = [
        "## Data",
        f"- Genuine speech: {len(genuine)} clips, {hours.get('genuine', 0):.1f} h, "
        f"{genuine['speaker'].nunique()} speakers, sources: {', '.join(sorted(set(genuine['source'])))}.",
        f"- Synthetic speech: {len(synthetic)} clips, {hours.get('synthetic', 0):.1f} h, families: "
        f"{', '.join(sorted(set(synthetic['family'])))}; {synthetic['generator'].nunique()} generator voices from "
        f"{', '.join(sorted({g.split(':')[0] for g in synthetic['generator']}))}.",
        f"- Languages: {', '.join(sorted(set(frame['language'])))}.",
        f"- Channel conditions (applied to both classes): {', '.join(sorted(set(frame['condition'])))}.",
        "- Splits are speaker-disjoint (checked before training): "
        + "; ".join(f"{split} {row.get('genuine', 0)} genuine / {row.get('synthetic', 0)} synthetic"
                    for split, row in splits.iterrows()) + ".",
    ]
    return lines


def breakdown_lines(entries: dict[str, Any], what: str, measured_only: bool = False) -> list[str]:
    """A markdown table of EER per group; ``measured_only`` folds groups without an EER into one sentence."""
    rows = [f"| {what} | EER | genuine clips | synthetic clips |", "|---|---|---|---|"]
    skipped = []
    for name, entry in entries.items():
        if measured_only and entry.get("eer") is None:
            skipped.append(name)
            continue
        rows.append(f"| {name} | {pct(entry.get('eer'))} | {entry.get('n_genuine', '')} | {entry.get('n_synthetic', '')} |")
    if len(rows) == 2:
        rows = []
    if skipped:
        rows += ["", f"Too few test clips of one class for an EER: {', '.join(skipped)}."]
    return rows


def weakest_lines(breakdown: dict[str, Any], count: int = 4) -> list[str]:
    """One sentence naming the test groups (family, condition, source) with the highest EER."""
    groups = [(entry["eer"], f"{column} {name}") for column in ("family", "condition", "source")
              for name, entry in breakdown.get(column, {}).items() if entry.get("eer") is not None]
    if not groups:
        return []
    worst = sorted(groups, reverse=True)[:count]
    return ["- Weakest on test: " + "; ".join(f"{name} ({pct(eer)} EER)" for eer, name in worst) + "."]


def _largest_rate(folds: dict[str, Any], key: str, sources: bool, within: str | None = None) -> float | None:
    """The largest ``key`` rate over the synthetic-part folds (``sources`` False) or the source folds."""
    entries = [v for k, v in folds.items() if (k.split(":")[0] == "source") == sources]
    values = [(entry.get(within) or {}).get(key) if within else entry.get(key) for entry in entries]
    values = [x for x in values if x is not None]
    return max(values) if values else None


def heldout_band_lines(folds: dict[str, Any]) -> list[str]:
    """The confident errors of the held-out folds: at each fold's own validation bands, and at the shipped bands."""
    lines = []
    for within, where in ((None, "at each fold's own validation bands"),
                          ("at_heldout_bands", "at the shipped bands, which were narrowed on held-out folds")):
        missed = _largest_rate(folds, "synthetic_called_genuine", False, within)
        alarms = _largest_rate(folds, "genuine_called_synthetic", True, within)
        if missed is None and alarms is None:
            continue
        lines.append(f"- Wrong with confidence on held-out test parts, {where}: up to "
                     f"{pct(missed) if missed is not None else NOT_MEASURED} of an unseen generator's clips called "
                     f"*likely genuine*, up to {pct(alarms) if alarms is not None else NOT_MEASURED} of an unseen "
                     "source's genuine clips called *likely synthetic*.")
    return lines


def channel_audit_lines(audit: dict[str, Any]) -> list[str]:
    """The second shortcut audit: can language, the source's codec or its sample rate tell the classes apart?"""
    channel = ((audit.get("details") or {}).get("channel_audit")) or {}
    if channel.get("eer") is None:
        return []
    return [f"- Channel and language audit of the corpus (a classifier on {', '.join(channel.get('features', []))} "
            f"alone): EER {pct(channel['eer'])}. At 50 % none of these can stand in for the label."]


def recipe_lines(training: dict[str, Any]) -> list[str]:
    """Which committed recipe made the model (versions trained before recipes existed say nothing)."""
    recipe = training.get("recipe")
    if not recipe:
        return []
    name = str(recipe).split("+")[0]
    changed = " with options changed from the file" if str(recipe).endswith("+changes") else ""
    loss = {"ocsoftmax": "one-class softmax", "bce": "binary cross-entropy"}.get(str(training.get("loss")), "")
    return [f"- Recipe `{name}` (`train/recipes/{name}.json`){changed}"
            f"{f'; loss: {loss}' if loss else ''}."]


def band_source_lines(lofo: dict[str, Any], calibration: dict[str, Any]) -> list[str]:
    """Where the verdict bands come from: validation alone, or narrowed by the held-out folds."""
    bands = lofo.get("bands") or {}
    applied = bool(bands) and calibration.get("genuine_below", 1.0) <= bands["genuine_below"] + 1e-12 \
        and calibration.get("synthetic_above", 0.0) >= bands["synthetic_above"] - 1e-12
    if not applied:
        return ["- The verdict bands were set on validation (at most 1 % of a class in the other class's band)."]
    return [f"- The verdict bands were set on validation, then narrowed to what the {bands.get('folds')} held-out "
            f"folds allow: in every fold at most {pct(bands.get('max_error'))} of the never-heard training and "
            "validation clips of the held-out part fell in the wrong confident band (test clips chose nothing)."]


def score_floor_lines(training: dict[str, Any], calibration: dict[str, Any]) -> list[str]:
    """A cosine head bounds the probability: say so, and whether *likely genuine* can happen at all."""
    if training.get("loss") != "ocsoftmax" or "scale" not in calibration:
        return []
    floor = float(Calibration.from_dict(calibration).probability(-1.0))   # p at a cosine of -1
    never = calibration.get("genuine_below", 0.0) <= floor
    return [f"- The network's score is a cosine between -1 and 1, so p(synthetic) is never below {floor:.3f}"
            + (": this model never calls a clip *likely genuine*; it can flag a fake but cannot clear a clip."
               if never else ".")]


def feature_words(metrics: dict[str, Any], config: FeatureConfig | None = None) -> str:
    """The model's features in plain words, sizes from ``config`` (the defaults when it is unknown)."""
    name = str(metrics.get("feature"))
    if name not in FRONT_ENDS:
        return "see features.json"
    if config is None or config.feature != name:
        config = FeatureConfig(feature=name)
    return config.front_end.describe(config)


def card_text(metrics: dict[str, Any], frame: pd.DataFrame, config: FeatureConfig | None = None) -> str:
    """Markdown of the model card; ``config`` is the model's ``features.json`` when known."""
    test, calibration = metrics.get("test", {}), metrics.get("calibration", {})
    training = metrics.get("training", {})
    at = test.get("at_deployed_threshold", {})
    lofo = metrics.get("lofo") or {}
    folds = heldout_folds(metrics)
    audit = metrics.get("audit") or {}
    bands = test.get("bands", {})
    lines = [
        f"# Model card: {metrics.get('version', 'unnamed')}",
        "",
        f"Created {metrics.get('created', '?')}. Architecture `{metrics.get('arch')}` "
        f"({metrics.get('params', '?')} parameters) on `{metrics.get('feature')}` features "
        f"({feature_words(metrics, config)}) of 2-second windows"
        f"{NORM_WORDS.get(str(metrics.get('window_norm')), '')}; "
        f"a clip's score is the {calibration.get('aggregation', 'mean_logit').replace('_', ' ')} of its windows. "
        f"Model file {metrics.get('tflite_bytes', 0) / 1e6:.2f} MB; scoring a 10-second clip takes about "
        f"{metrics.get('latency_ms_10s_clip', float('nan')):.1f} ms of model time on 2 CPU threads.",
        "",
        *data_section(frame),
        "",
        "## How well it works",
        f"- Test equal error rate (EER): **{pct(test.get('eer'))}** on {test.get('n_genuine')} genuine and "
        f"{test.get('n_synthetic')} synthetic clips the model never saw (validation EER {pct(metrics.get('validation', {}).get('eer'))}).",
        f"- At the deployed threshold (calibrated probability 0.5): accuracy {pct(at.get('accuracy'))}, "
        f"precision {pct(at.get('precision'))}, recall {pct(at.get('recall'))}, F1 {pct(at.get('f1'))}; "
        f"confusion matrix (rows true genuine/synthetic, columns called genuine/synthetic): {at.get('confusion_matrix')}.",
        f"- Shortcut audit of the corpus (the corpus builder's check that trivial cues such as level, duration or "
        f"silence cannot tell the classes apart): EER {pct(audit.get('eer'))}. The nearer this is to 50 %, the less "
        "the model's result can come from such shortcuts.",
        *channel_audit_lines(audit),
        f"- Held out of training (each synthetic family, neural vocoder or genuine recording source removed from "
        f"training and validation, then tested): mean EER {pct(lofo.get('mean_eer')) if lofo else NOT_MEASURED} "
        "over the family and source folds. This is the honest figure for a kind of generator, or a recording "
        "source, the model has never heard.",
        *heldout_band_lines(folds),
    ]
    if folds:
        lines += ["", *breakdown_lines(folds, "held-out part (protocol:name)")]
    breakdown = metrics.get("breakdown", {})
    for column, title in (("family", "synthetic family (vs all genuine)"), ("condition", "channel condition"),
                          ("language", "language")):
        if breakdown.get(column):
            lines += ["", f"Test EER by {title}:", "",
                      *breakdown_lines(breakdown[column], column, measured_only=column == "language")]
    lines += [
        "",
        "## Calibration",
        f"- {str(calibration.get('method', '?')).title()} scaling fitted on the validation split: p(synthetic) = "
        f"sigmoid({calibration.get('scale', 0):.3f} x clip logit {'-' if calibration.get('bias', 0) < 0 else '+'} "
        f"{abs(calibration.get('bias', 0)):.3f}).",
        *band_source_lines(lofo, calibration),
        *score_floor_lines(training, calibration),
        f"- Verdict bands: likely genuine below {calibration.get('genuine_below', 0):.2f}, likely synthetic at or above "
        f"{calibration.get('synthetic_above', 0):.2f}, uncertain in between. On test, "
        f"{pct(bands.get('uncertain', {}).get('share'))} of clips were uncertain, "
        f"{pct(bands.get('synthetic_called_genuine'))} of synthetic clips were called likely genuine and "
        f"{pct(bands.get('genuine_called_synthetic'))} of genuine clips likely synthetic.",
        "",
        "## Training",
        *recipe_lines(training),
        f"- {training.get('epochs_run', '?')} epochs (best {training.get('best_epoch', '?')}, chosen on validation EER; "
        f"stopped because: {training.get('stop_reason', 'not recorded')}), "
        f"{training.get('fit_s', '?')} s of fitting plus {training.get('features_s', '?')} s of feature extraction; "
        "the test split was used for none of stopping, calibration or model choice.",
        "",
        "## Known limits",
        *weakest_lines(breakdown),
        "- The model only knows the synthetic families listed above. Voices from other systems (commercial voice "
        "cloning, newer neural TTS, voice conversion) may be missed; the leave-one-family-out figure shows how much "
        "worse it gets on an unseen family.",
        "- Genuine speech comes only from the sources listed above; unusual recording chains, music, singing, "
        "heavy noise or several speakers at once were not in training.",
        "- A verdict is evidence, not proof. Use it together with other checks and never as the sole basis for "
        "an accusation; treat \"uncertain\" as no verdict.",
    ]
    return "\n".join(lines) + "\n"


def write_card(folder: str | Path, metrics: dict[str, Any], frame: pd.DataFrame) -> Path:
    """Write ``folder/card.md`` atomically and return its path."""
    path = Path(folder) / "card.md"
    saved = Path(folder) / "features.json"
    config = FeatureConfig.load(saved) if saved.exists() else None
    atomic_write_text(path, card_text(metrics, frame, config))
    return path
