"""Admin's tables and figures, worded from the model facts: per cent everywhere, every figure with where it was measured.

No Streamlit here (``app_pages/admin_registry.py`` and ``admin_results.py`` draw), so
the wording is unit-tested without AppTest.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from detector.heldout_report import FoldResult
from detector.model_facts import FOLDS_OWN_BANDS, ModelFacts, facts_of, test_corpus_version
from detector.model_report import ModelReport
from detector.registry import ModelVersion

DET_KEPT_TICKS = ("0.1%", "1.0%", "5.0%", "20.0%", "40.0%")   # neighbours on a probit axis overlap


def percent(value: float | None, decimals: int = 2) -> str:
    """A rate in per cent (``"23.11 %"``), or ``"–"`` when not measured."""
    return "–" if value is None else f"{value * 100:.{decimals}f} %"


def measured_on(facts: ModelFacts) -> str:
    """Which corpus version (and how many test clips) a version's test figures come from."""
    return facts.test_eer.measured_on.removeprefix("test split, ") or "not recorded"


def registry_row(version: ModelVersion, active: str | None) -> dict[str, Any]:
    """One row of the registry table: test EER next to the corpus version and size it was measured on."""
    facts = facts_of(version)
    return {"version": version.name, "active": "active" if version.name == active else "",
            "created": version.created[:19], "test EER": percent(facts.test_eer.value),
            "measured on": measured_on(facts)}


def same_corpus(a: ModelReport, b: ModelReport) -> bool:
    """Whether two versions' test figures come from the same corpus version (and so the same test split)."""
    return test_corpus_version(a) is not None and test_corpus_version(a) == test_corpus_version(b)


def incomparable_note(rows: list[dict[str, Any]]) -> str | None:
    """A warning when the registry lists figures measured on different corpora (``None`` when all match)."""
    places = sorted({row["measured on"].split(",")[0] for row in rows if row.get("measured on")})
    if len(places) < 2:
        return None
    return ("These test EERs were measured on different corpora (" + "; ".join(places) + "), so they are not "
            "comparable: a lower figure on an older, easier test split does not make that version better. "
            "Compare versions measured on the same corpus version only.")


def heldout_rows(folds: dict[str, FoldResult]) -> list[dict[str, Any]]:
    """The held-out folds in per cent; confident errors named with where they were measured."""
    def rate(fold: FoldResult, name: str) -> str:
        return percent(getattr(fold.own_bands, name)) if fold.own_bands else "–"
    return [{"held out": name, "EER": percent(fold.eer),
             f"unseen fakes called likely genuine ({FOLDS_OWN_BANDS})": rate(fold, "synthetic_called_genuine"),
             f"unseen genuine called likely synthetic ({FOLDS_OWN_BANDS})": rate(fold, "genuine_called_synthetic"),
             "note": fold.note or ""} for name, fold in folds.items()]


def tidy_figure(name: str, figure: go.Figure, facts: ModelFacts | None = None) -> go.Figure:
    """Stored evaluation figures made readable: DET ticks that do not overlap, log axes with decade labels only;
    with ``facts``, the score histogram draws no edge of a band the model cannot reach and marks its floor."""
    if name == "det":
        for axis in (figure.layout.xaxis, figure.layout.yaxis):
            if axis.tickvals and axis.ticktext:
                kept = [(v, t) for v, t in zip(axis.tickvals, axis.ticktext) if t in DET_KEPT_TICKS]
                axis.tickvals, axis.ticktext = [v for v, _ in kept], [t for _, t in kept]
        figure.update_layout(xaxis_tickangle=-45, margin=dict(b=90))
    if name == "scores" and facts is not None and not facts.can_clear:
        figure.layout.shapes = [shape for shape in figure.layout.shapes
                                if shape.x0 is None or abs(shape.x0 - facts.genuine_below) > 1e-6]
        figure.add_vline(x=facts.lowest, line_dash="dot", line_color="#57606a",
                         annotation_text=f"lowest possible score {facts.lowest * 100:.0f} %")
    if figure.layout.yaxis.type == "log":
        figure.update_yaxes(dtick=1)   # 1, 10, 100: no "5, 2, 100, 5" between the decades
    return figure


def confusion_labels() -> tuple[list[str], str]:
    """Column labels and title of the confusion matrix at p = 0.5: a threshold, not the verdict bands."""
    return ["scored below 50 %", "scored 50 % or more"], "Confusion matrix at p = 0.5"


CONFUSION_NOTE = ("p = 0.5 is a threshold for comparing versions, not the verdict bands: a clip scoring below 50 % is "
                  "not called genuine (see the model card for what the bands say).")
