"""Turn a job's progress events and a version's evaluation outputs into plain data for the admin page.

Nothing here draws: the page builds the plotly figures. Keeping the arithmetic
(progress fraction, ETA, curves, tables) out of the page makes it testable and
keeps the page thin. No TensorFlow import.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from detector import model_report
from detector.calibration import Calibration
from detector.heldout_report import FoldResult
from detector.model_facts import ModelFacts, facts_from, test_corpus_version
from detector.model_report import GroupFigures, ModelReport, TestFigures
from train.events import PROGRESS_FILE, read_events
from webapp.job_records import Job, JobStatus

PHASES = {"start": "training", "features": "computing features", "step": "training", "epoch": "training",
          "early_stop": "stopping early", "export": "exporting the model", "evaluate": "evaluating on the test split",
          "prepare": "preparing the dataset", "corpus": "building the corpus", "warning": "training",
          "fold": "refitting without each held-out part"}


COUNTED_PHASES = ("features", "corpus", "prepare", "fold")   # events with ``done`` of ``total``
LAST_STRETCH = ("export", "evaluate")


@dataclass
class Progress:
    """Where a job is: a fraction for the progress bar, an ETA and a one-line description.

    ``eta_s`` is the time left in ``eta_of`` (``"this step"``, the training, the search budget); without
    one, ``no_eta`` says what the job is doing instead.
    """

    fraction: float
    text: str
    eta_s: float | None = None
    eta_of: str = ""
    no_eta: str = ""

    @property
    def eta_words(self) -> str:
        """``"about 3 min 10 s left in this step"``, or what the job is doing when there is no estimate."""
        if self.eta_s is None:
            return self.no_eta or "no time estimate yet"
        left = "a few seconds" if self.eta_s < 5 else f"about {format_seconds(self.eta_s)}"
        return f"{left} left" + (f" {self.eta_of}" if self.eta_of else "")


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else (f"{minutes} min {secs:02d} s" if minutes else f"{secs} s")


def progress_of(status: JobStatus, now: float | None = None) -> Progress:
    """Progress-bar fraction, ETA and phase text of a job from its latest events.

    A counted phase (features, folds, corpus, dataset) gets its ETA from its own pace: the ``done``
    counts and times of its events so far (:func:`phase_eta`); training takes the trainer's.
    """
    if status.state == "done":
        return Progress(1.0, "Finished" + (f": version {status.version}" if status.version else "."), 0.0)
    if status.finished:
        return Progress(0.0, f"{status.state.capitalize()}.")
    if status.job.kind == "tune" and status.job.params.get("budget_minutes"):
        return _tune_progress(status)
    events = status.events
    if not events:
        return Progress(0.0, "Starting (loading libraries)…",
                        no_eta="starting: the time left is estimated once the first step reports its progress")
    last = events[-1]
    kind = last.get("event", "")
    phase = PHASES.get(kind, kind or "working")
    training = next((e for e in reversed(events) if e.get("event") in ("step", "epoch")), None)
    if kind in COUNTED_PHASES and last.get("total"):
        done, total = float(last.get("done", 0)), max(1.0, float(last["total"]))
        fraction = min(1.0, done / total)
        message = f" — {last['message']}" if last.get("message") else ""
        text = f"{phase.capitalize()}: {last.get('done', 0)}/{last['total']}{message}"
        if done >= total:
            return Progress(fraction, text, no_eta=f"{phase} is done; the next step is starting")
        return Progress(fraction, text, phase_eta(events, now), "in this step",
                        no_eta=f"{phase}: the time left is estimated from the pace of the next progress report")
    last_stretch = f"{phase}, the last step (no time estimate for it)"
    if training is not None:
        planned = max(1, int(training.get("epochs") or 1) * int(training.get("steps_per_epoch") or 1))
        fraction = min(1.0, float(training.get("step", 0)) / planned)
        text = f"{phase.capitalize()}: epoch {training.get('epoch')}/{training.get('epochs')}"
        if training.get("val_eer") is not None:
            text += f", validation EER {float(training['val_eer']):.2%}"
        if kind in LAST_STRETCH:
            return Progress(0.99, text, no_eta=last_stretch)
        if kind not in ("step", "epoch"):
            return Progress(fraction, text, no_eta=f"{phase} (no time estimate for this step)")
        eta = training.get("eta_s")
        return Progress(fraction, text, None if eta is None else float(eta), "in training",
                        no_eta="training: the time left is estimated after the first steps")
    if kind in LAST_STRETCH:
        return Progress(0.99, f"{phase.capitalize()}…", no_eta=last_stretch)
    return Progress(0.0, f"{phase.capitalize()}…", no_eta=f"{phase}: the time left is estimated once it reports "
                    "its progress")


def event_time(event: dict[str, Any]) -> float | None:
    """An event's ``time`` (ISO 8601) as a POSIX timestamp (``None`` without a readable one)."""
    try:
        return datetime.fromisoformat(str(event["time"])).timestamp()
    except (KeyError, ValueError):
        return None


def phase_eta(events: list[dict[str, Any]], now: float | None = None) -> float | None:
    """Seconds left in the counted phase the last event belongs to, from that phase's pace so far.

    The phase is the run of latest events with the same ``event`` and ``total``; its pace is
    (``done`` gained) / (seconds between its first and last event). The time since the last event is
    taken off, so the estimate counts down between reports. ``None`` until the phase has gained at least
    one item over at least one second.
    """
    last = events[-1]
    run = []
    for event in reversed(events):
        if event.get("event") != last.get("event") or event.get("total") != last.get("total"):
            break
        run.append(event)
    first = run[-1]
    start, end = event_time(first), event_time(last)
    gained = float(last.get("done", 0)) - float(first.get("done", 0))
    if start is None or end is None or end - start < 1.0 or gained <= 0:
        return None
    left = (float(last["total"]) - float(last.get("done", 0))) * (end - start) / gained
    return max(0.0, left - max(0.0, (time.time() if now is None else now) - end))


def _elapsed_s(job: Job, now: float | None = None) -> float:
    try:
        started = datetime.fromisoformat(job.created).timestamp()
    except ValueError:
        return 0.0
    return max(0.0, (now or time.time()) - started)


def _tune_progress(status: JobStatus) -> Progress:
    """A search is bounded by its time budget, so its progress is time-based."""
    budget_s = 60.0 * float(status.job.params["budget_minutes"])
    elapsed = _elapsed_s(status.job)
    trials = tune_trials(status.job.folder)
    finished = [t["val_eer"] for t in trials if t["val_eer"] is not None and t["state"] == "done"]
    text = f"Searching: trial {len(trials)}" if trials else "Searching: computing features"
    if finished:
        text += f", best validation EER so far {min(finished):.2%}"
    return Progress(min(1.0, elapsed / budget_s), text, max(0.0, budget_s - elapsed), "in the search's time budget")


def tune_trials(folder: str | Path) -> list[dict[str, Any]]:
    """One row per trial of a search (``trial-*/progress.jsonl``): state, epochs and validation EER."""
    rows = []
    for trial in sorted(Path(folder).glob("trial-*"), key=lambda p: p.stat().st_mtime):
        events = read_events(trial / PROGRESS_FILE)
        done = next((e for e in events if e.get("event") == "done"), None)
        epochs = [e for e in events if e.get("event") == "epoch"]
        best = done.get("val_eer") if done else min((e["val_eer"] for e in epochs if e.get("val_eer") is not None),
                                                     default=None)
        rows.append({"trial": trial.name.removeprefix("trial-"), "state": "done" if done else "running",
                     "epochs": len(epochs), "val_eer": best, "params": done.get("params") if done else None})
    return rows


def latest_trial_events(folder: str | Path) -> list[dict[str, Any]]:
    """Events of the most recent trial of a search (for its live curves)."""
    trials = sorted(Path(folder).glob("trial-*"), key=lambda p: p.stat().st_mtime)
    return read_events(trials[-1] / PROGRESS_FILE) if trials else []


def curves(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Per-epoch loss, accuracy and validation EER, plus the finer per-step loss, from progress events."""
    per_epoch = [e for e in events if e.get("event") == "epoch"]
    steps = [e for e in events if e.get("event") in ("step", "epoch") and e.get("loss") is not None]
    return {
        "epoch": [e.get("epoch") for e in per_epoch],
        "loss": [e.get("loss") for e in per_epoch],
        "accuracy": [e.get("accuracy") for e in per_epoch],
        "val_eer": [e.get("val_eer") for e in per_epoch],
        "step": [e.get("step") for e in steps],
        "step_loss": [e.get("loss") for e in steps],
    }


@dataclass
class VersionResults:
    """What the evaluation wrote for one model version, ready to display."""

    name: str
    report: ModelReport
    figures: dict[str, str] = field(default_factory=dict)   # plot name -> plotly JSON text
    facts: ModelFacts | None = None   # what the version can say (None: no readable calibration.json)

    @property
    def test(self) -> TestFigures:
        return self.report.test or TestFigures()

    @property
    def confusion(self) -> list[list[int]] | None:
        deployed = self.test.at_deployed_threshold
        return deployed.confusion_matrix if deployed else None

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.report.training.history if self.report.training else []

    @property
    def audit_eer(self) -> float | None:
        return self.report.audit.eer if self.report.audit else None

    @property
    def heldout(self) -> dict[str, FoldResult]:
        return self.report.heldout.folds if self.report.heldout else {}

    def breakdown_rows(self) -> list[dict[str, Any]]:
        """One row per (breakdown, group): EER and counts, e.g. per family and per condition.

        A group without an EER reads "–", and its note says why in words (:func:`no_eer_note`).
        """
        return [{"by": column, "group": group, "EER": _percent(entry.eer) or "–", "genuine clips": entry.n_genuine,
                 "synthetic clips": entry.n_synthetic,
                 "note": no_eer_note(entry) if entry.eer is None else entry.note or ""}
                for column, groups in self.report.breakdown.items() for group, entry in groups.items()]

    def summary(self) -> dict[str, Any]:
        """Headline numbers for the side-by-side comparison."""
        deployed = self.test.at_deployed_threshold
        report = self.report
        version = test_corpus_version(report)
        corpus = (f"corpus v{version}" if version is not None else
                  f"corpus {report.corpus} (version not recorded)" if report.corpus else "corpus version not recorded")
        return {"version": self.name, "test EER": _percent(self.test.eer), "measured on": corpus,
                "test clips": None if self.test.n_genuine is None or self.test.n_synthetic is None
                else self.test.n_genuine + self.test.n_synthetic,
                "EER threshold (p)": self.test.eer_threshold_p, "AUC": self.test.auc,
                "accuracy @0.5": deployed.accuracy if deployed else None,
                "precision @0.5": deployed.precision if deployed else None,
                "recall @0.5": deployed.recall if deployed else None, "F1 @0.5": deployed.f1 if deployed else None,
                "validation EER": _percent(report.validation.eer if report.validation else None),
                "held-out mean EER": _percent(report.heldout.mean_eer if report.heldout else None),
                "shortcut-audit EER": _percent(self.audit_eer), "arch": report.arch, "feature": report.feature,
                "params": report.params}


def no_eer_note(entry: GroupFigures) -> str:
    """Why a group of test clips has no EER, in words: ``"too few clips for an EER: 2 synthetic (at least 5 of
    each class needed)"``, or ``"no EER: no genuine clips in this group"`` (an EER weighs one class against
    the other)."""
    missing = [name for name, count in (("genuine", entry.n_genuine), ("synthetic", entry.n_synthetic)) if not count]
    if missing:
        return f"no EER: no {' or '.join(missing)} clips in this group (an EER needs both)"
    least = re.search(r"fewer than (\d+)", entry.note or "")
    if least is None:
        return f"no EER: {entry.note}" if entry.note else "no EER measured"
    few = [f"{count} {name}" for name, count in (("genuine", entry.n_genuine), ("synthetic", entry.n_synthetic))
           if count < int(least.group(1))]
    return f"too few clips for an EER: {' and '.join(few) or 'too few'} (at least {least.group(1)} of each class needed)"


def _percent(value: float | None) -> str | None:
    """Rates in per cent, as everywhere else in the app."""
    return None if value is None else f"{value * 100:.2f} %"


def load_results(version_dir: str | Path) -> VersionResults | None:
    """Read the version's report and the plotly JSON figures it lists (``None`` without a readable report)."""
    folder = Path(version_dir)
    if not (folder / model_report.FILE_NAME).is_file():
        return None
    try:
        report = model_report.load(folder)
    except (OSError, ValueError):
        return None
    figures: dict[str, str] = {}
    for name, paths in report.plots.items():
        target = (folder / paths.plotly).resolve()
        # Only files inside the version folder: the report is data, not a licence to read anywhere.
        if folder.resolve() in target.parents and target.is_file():
            figures[name] = target.read_text()
    try:
        calibration = Calibration.from_dict(json.loads((folder / "calibration.json").read_text()))
        facts = facts_from(folder.name, report, calibration)
    except (OSError, ValueError, TypeError):
        facts = None
    return VersionResults(folder.name, report, figures, facts)


def finished_words(status: JobStatus) -> tuple[str, str]:
    """How a finished job is announced where its live panel was: a tone (``"success"``, ``"error"`` or
    ``"info"``) and Markdown that says how it ended and what to do next."""
    job, params = status.job, status.job.params
    if status.state == "failed":
        reason = (status.message.splitlines()[0] if status.message else "no reason recorded").rstrip(".")
        return "error", (f"Job failed: {reason}. Nothing was published; its full message is under *Jobs and "
                         "results* below.")
    if status.state == "cancelled":
        return "info", "Job cancelled: nothing was published. Start it again above when you are ready."
    if job.kind == "rescore":
        return "success", (f"Finished: **{params.get('model', 'the version')}** was re-scored on "
                           f"`{params.get('corpus', 'the chosen corpus')}`. Its row in the *Model registry* below "
                           "now shows the test figures on that corpus, so it can be compared with versions "
                           "measured there.")
    if job.kind == "corpus":
        return "success", (f"Finished: the corpus is built in `{params.get('out', 'the data folder')}`. Next: "
                           "choose it under *Data* above and start a training.")
    if job.kind == "tune":
        return "success", ("Finished: the search is over. Next: look at the best configuration under *Jobs and "
                           "results* below and press *Train with the best configuration* to train it.")
    if status.version:
        return "success", (f"Finished: version **{status.version}** is in the model store, not promoted. Next: "
                           "review its test and held-out figures under *Jobs and results* below, beside the "
                           "active model, and promote it there if it does better.")
    return "success", "Finished."
