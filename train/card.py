"""The model card (``card.md``): what the model was trained on and how well it did, in plain words.

Every number comes from the version's report (:mod:`detector.model_report`, which
:mod:`train.publish` writes), its ``calibration.json`` (the bands it serves with) or
the corpus manifest; nothing is typed in by hand. :func:`train.publish.write_evaluation`
calls :func:`write_card` after writing the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from detector.calibration import Calibration
from detector.config import FeatureConfig
from detector.encoder.head_spec import HeadSpec
from detector.encoder.record import read_encoder_record, tuned_block_numbers
from detector.files import atomic_write_text
from detector.frontends import FRONT_ENDS
from detector.heldout_report import FoldResult, HeldOutReport
from detector.model_report import (
    AuditFigures,
    BandFigures,
    GroupFigures,
    ModelReport,
    ServingFigures,
    TestFigures,
    TrainingFigures,
)
from train.card_bands import band_source_lines, heldout_band_lines, pct, score_floor, score_floor_lines
from train.channel_table import bands_table, fold_channel_table
from train.config import QUICK_RECIPE

# How windows were normalised, when it is more than one level for the whole window.
NORM_WORDS = {
    "per_band": ", each band centred on its own average over the window (a fixed microphone, room or codec "
                "colouring is removed before the network sees it)",
}


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


def breakdown_lines(entries: Mapping[str, GroupFigures | FoldResult], what: str,
                    measured_only: bool = False) -> list[str]:
    """A markdown table of EER per group; ``measured_only`` folds groups without an EER into one sentence."""
    rows = [f"| {what} | EER | genuine clips | synthetic clips |", "|---|---|---|---|"]
    skipped = []
    for name, entry in entries.items():
        if measured_only and entry.eer is None:
            skipped.append(name)
            continue
        rows.append(f"| {name} | {pct(entry.eer)} | {entry.n_genuine} | {entry.n_synthetic} |")
    if len(rows) == 2:
        rows = []
    if skipped:
        rows += ["", f"Too few test clips of one class for an EER: {', '.join(skipped)}."]
    return rows


def weakest_lines(breakdown: dict[str, dict[str, GroupFigures]], count: int = 4) -> list[str]:
    """One sentence naming the test groups (family, condition, source) with the highest EER."""
    groups = [(entry.eer, f"{column} {name}") for column in ("family", "condition", "source")
              for name, entry in breakdown.get(column, {}).items() if entry.eer is not None]
    if not groups:
        return []
    worst = sorted(groups, reverse=True)[:count]
    return ["- Weakest on test: " + "; ".join(f"{name} ({pct(eer)} EER)" for eer, name in worst) + "."]


def channel_audit_lines(audit: AuditFigures) -> list[str]:
    """The second shortcut audit: can language, the source's codec or its sample rate tell the classes apart?"""
    if audit.channel_eer is None:
        return []
    return [f"- Channel and language audit of the corpus (a classifier on {', '.join(audit.channel_features)} "
            f"alone): EER {pct(audit.channel_eer)}. At 50 % none of these can stand in for the label."]


def channel_lines(heldout: HeldOutReport) -> list[str]:
    """The verdict bands per measured channel class and the fold × class table, or why there are none."""
    bands, table = bands_table(heldout), fold_channel_table(heldout)
    if not bands:   # a version from before issue 32: its card stays as sealed; the sidebar and verdicts say it
        return []
    return ["", "Verdict bands per kind of audio (measured channel class, train/channel_bands.py): an edge stands "
                "only where the folds' never-heard speakers and test clips keep at most 2 % on its wrong side.",
            "", bands, "", "Held-out folds by channel class (never-heard test clips):", "", table]


def recipe_lines(training: TrainingFigures | None) -> list[str]:
    """Which committed recipe made the model (versions trained before recipes existed say nothing)."""
    if training is None or not training.recipe:
        return []
    name = training.recipe.split("+")[0]
    changed = " with options changed from the file" if training.recipe.endswith("+changes") else ""
    loss = {"ocsoftmax": "one-class softmax", "bce": "binary cross-entropy"}.get(str(training.loss), "")
    where = "the `TrainConfig` defaults, `train/config.py`" if name == QUICK_RECIPE else f"`train/recipes/{name}.json`"
    return [f"- Recipe `{name}` ({where}){changed}{f'; loss: {loss}' if loss else ''}."]


def feature_words(feature: str | None, config: FeatureConfig | None = None) -> str:
    """The model's features in plain words, sizes from ``config`` (the defaults when it is unknown)."""
    if feature not in FRONT_ENDS:
        return "see features.json"
    if config is None or config.feature != feature:
        config = FeatureConfig(feature=feature)
    return config.front_end.describe(config)


def _number(value: float | int | None, form: str, missing: str = "?") -> str:
    return missing if value is None else format(value, form)


def verdict_bands_line(calibration: Calibration, bands: BandFigures | None, floor: float | None) -> str:
    """The bands and their test rates; no rate is given for a band the score floor makes unreachable."""
    clears = floor is None or floor < calibration.genuine_below
    genuine = (f"likely genuine below {calibration.genuine_below:.2f}" if clears else
               f"likely genuine below {calibration.genuine_below:.2f} (never reached: the score floor is higher)")
    line = (f"- Verdict bands: {genuine}, likely synthetic at or above {calibration.synthetic_above:.2f}, "
            "uncertain in between.")
    if bands is None:
        return line
    missed = f"{pct(bands.synthetic_called_genuine)} of synthetic clips were called likely genuine and " if clears else ""
    return (line + f" On test, {pct(bands.uncertain.share)} of clips were uncertain, {missed}"
                   f"{pct(bands.genuine_called_synthetic)} of genuine clips were called likely synthetic.")


def card_text(report: ModelReport, calibration: Calibration, data: list[str],
              config: FeatureConfig | None = None, head: HeadSpec | None = None, tuned: tuple[int, ...] = ()) -> str:
    """Markdown of the model card.

    Parameters
    ----------
    report : ModelReport
        The version's report.
    calibration : Calibration
        The version's ``calibration.json``: the bands it really serves with.
    data : list of str
        The data section (:func:`data_section` of the corpus manifest).
    config : FeatureConfig, optional
        The version's ``features.json`` when known.
    head : HeadSpec, optional
        An encoder version's head (its ``encoder.json``); ``None`` for a CNN.
    tuned : tuple of int
        The encoder blocks the version fine-tuned (its ``tuned_blocks.npz``, :func:`tuned_block_numbers`).
    """
    test = report.test or TestFigures()
    training, heldout = report.training, report.heldout
    at = test.at_deployed_threshold
    audit = report.audit or AuditFigures()
    serving = report.serving or ServingFigures()
    bands = test.bands
    floor = score_floor(training, calibration)
    validation_eer = report.validation.eer if report.validation else None
    megabytes = None if serving.tflite_bytes is None else serving.tflite_bytes / 1e6
    lines = [
        f"# Model card: {report.version or 'unnamed'}",
        "",
        f"Created {report.created or '?'}. Architecture `{report.arch}` ({_number(report.params, 'd')} parameters"
        f"{' in the head' if head else ''}) {scoring_words(report, config, calibration, head)} "
        f"Model file {_number(megabytes, '.2f')} MB; scoring a 10-second clip takes about "
        f"{_number(serving.latency_ms_10s_clip, '.1f')} ms of model time on 2 CPU threads.",
        "",
        *data,
        "",
        "## How well it works",
        f"- Test equal error rate (EER): **{pct(test.eer)}** on {test.n_genuine} genuine and "
        f"{test.n_synthetic} synthetic clips the model never saw (validation EER {pct(validation_eer)}).",
    ]
    if at is not None:
        lines.append(f"- At the deployed threshold (calibrated probability 0.5): accuracy {pct(at.accuracy)}, "
                     f"precision {pct(at.precision)}, recall {pct(at.recall)}, F1 {pct(at.f1)}; confusion matrix "
                     f"(rows true genuine/synthetic, columns scored below / at or above 0.5, a threshold for "
                     f"comparison, not the verdict bands): {at.confusion_matrix}.")
    lines += [
        f"- Shortcut audit of the corpus (the corpus builder's check that trivial cues such as level, duration or "
        f"silence cannot tell the classes apart): EER {pct(audit.eer)}. The nearer this is to 50 %, the less "
        "the model's result can come from such shortcuts.",
        *channel_audit_lines(audit),
        f"- Held out of training (each synthetic family, neural-vocoder generator or genuine recording source removed "
        f"from training and validation, then tested): mean EER {pct(heldout.mean_eer if heldout else None)} "
        "over the family and source folds. This is the honest figure for a kind of generator, or a recording "
        "source, the model has never heard.",
    ]
    if heldout is not None:
        lines += heldout_band_lines(heldout, calibration, floor)
        if heldout.folds:
            lines += ["", *breakdown_lines(heldout.folds, "held-out part (protocol:name)")]
        lines += channel_lines(heldout)
    for column, title in (("family", "synthetic family (vs all genuine)"), ("condition", "channel condition"),
                          ("language", "language")):
        if report.breakdown.get(column):
            lines += ["", f"Test EER by {title}:", "",
                      *breakdown_lines(report.breakdown[column], column, measured_only=column == "language")]
    lines += [
        "",
        "## Calibration",
        f"- {calibration.method.title()} scaling fitted on the validation split: p(synthetic) = "
        f"sigmoid({calibration.scale:.3f} x clip logit {'-' if calibration.bias < 0 else '+'} "
        f"{abs(calibration.bias):.3f}).",
        *band_source_lines(heldout.bands if heldout else None, calibration),
        *score_floor_lines(floor, calibration),
        verdict_bands_line(calibration, bands, floor),
        "",
        "## Training",
        *recipe_lines(training),
    ]
    if head is not None and tuned:
        lines.append(f"- Block{'s' if len(tuned) > 1 else ''} {' and '.join(str(b) for b in tuned)} of the encoder "
                     "were fine-tuned together with the head on the training split (warm-started from the frozen "
                     "head, weight decay towards the pretrained weights, the epoch chosen on validation EER); the "
                     "blocks below are Whisper's, untouched. The tuned blocks ship in `tuned_blocks.npz` (float16), "
                     "from which `make encoder` builds this version's own encoder file; the test split was used for "
                     "none of training, stopping, calibration or model choice.")
    elif head is not None:
        lines.append("- The encoder's weights are Whisper's, untouched. The head was fitted on the training split's "
                     "cached encoder features, its regularisation and calibration chosen on validation "
                     "(`python -m train.encoder.publish`, candidate chosen by the held-out bake-off in "
                     "docs/frontends.md); the test split was used for none of them.")
    if training is not None:
        lines.append(
            f"- {_number(training.epochs_run, 'd')} epochs (best {_number(training.best_epoch, 'd')}, chosen on "
            f"validation EER; stopped because: {training.stop_reason or 'not recorded'}), "
            f"{_number(training.fit_s, '')} s of fitting plus {_number(training.features_s, '')} s of feature "
            "extraction; the test split was used for none of stopping, calibration or model choice.")
    lines += [
        "",
        "## Known limits",
        *weakest_lines(report.breakdown),
        "- The model only knows the synthetic families listed above. Voices from other systems (commercial voice "
        "cloning, newer neural TTS, voice conversion) may be missed; the held-out figure above shows how much "
        "worse it gets on an unseen family.",
        "- Genuine speech comes only from the sources listed above; unusual recording chains, music, singing, "
        "heavy noise or several speakers at once were not in training.",
        "- A verdict is evidence, not proof. Use it together with other checks and never as the sole basis for "
        "an accusation; treat \"uncertain\" as no verdict.",
    ]
    return "\n".join(lines) + "\n"


def scoring_words(report: ModelReport, config, calibration: Calibration, head: HeadSpec | None = None) -> str:
    """How a clip becomes a score: windows of features for a CNN, one encoder pass and its head (``head``)."""
    if head is not None:
        return ("on the pretrained Whisper base encoder (OpenAI, MIT licence; one shared file, not part of this "
                f"version), run once over the whole clip; {head.words()} gives the clip's score (head "
                f"`{head.name}`). Scores of 2-second windows are a guide to where, not verdicts.")
    return (f"on `{report.feature}` features ({feature_words(report.feature, config)}) of 2-second windows"
            f"{NORM_WORDS.get(str(report.window_norm), '')}; "
            f"a clip's score is the {calibration.aggregation.replace('_', ' ')} of its windows.")


def kept_data_section(card: str) -> list[str]:
    """The ``## Data`` section of an earlier card (to rewrite a card when the corpus is not at hand)."""
    lines = card.splitlines()
    if "## Data" not in lines:
        return ["## Data", "- Not recorded: the corpus was not at hand when this card was written."]
    start = lines.index("## Data")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def write_card(folder: str | Path, report: ModelReport, frame: pd.DataFrame | None) -> Path:
    """Write ``folder/card.md`` atomically and return its path.

    ``frame`` is the corpus manifest; without it (the corpus is not at hand) the data
    section of the card already in the folder is kept.
    """
    folder = Path(folder)
    path = folder / "card.md"
    saved = folder / "features.json"
    config = FeatureConfig.load(saved) if saved.exists() else None
    calibration = Calibration.from_dict(json.loads((folder / "calibration.json").read_text()))
    if frame is not None:
        data = data_section(frame)
    else:
        data = kept_data_section(path.read_text(encoding="utf-8") if path.exists() else "")
    record = read_encoder_record(folder)   # an encoder version: its head spec says what the head reads
    atomic_write_text(path, card_text(report, calibration, data, config, record.spec if record else None,
                                      tuned_block_numbers(folder)))
    return path
