"""Admin's tables and figures, worded from the model facts: per cent everywhere, every figure with where it was measured.

No Streamlit here (``app_pages/admin_registry.py`` and ``admin_results.py`` draw), so
the wording is unit-tested without AppTest.
"""

from __future__ import annotations

import base64
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from detector.heldout_report import FoldResult
from detector.model_facts import FOLDS_OWN_BANDS, ModelFacts, facts_of, test_corpus_version
from detector.model_report import ModelReport
from detector.registry import ModelVersion

# Rates labelled on a DET (normal-deviate) axis, most wanted first: 50 %, the decades, then what fits between.
DET_TICK_RATES = (0.5, 0.01, 0.99, 0.001, 0.999, 0.05, 0.95, 0.2, 0.8, 0.1, 0.9, 0.002, 0.998, 0.005, 0.995,
                  0.02, 0.98, 0.3, 0.7, 0.4, 0.6)
DET_LABEL_GAP = 1 / 11   # two labels at least this share of the axis apart, so no two overlap
DET_AXIS_PAD = 0.04      # share of the curve's extent left free at each end of an axis
_PROBIT = NormalDist()


def percent(value: float | None, decimals: int = 2) -> str:
    """A rate in per cent (``"23.11 %"``), or ``"–"`` when not measured."""
    return "–" if value is None else f"{value * 100:.{decimals}f} %"


def measured_on(facts: ModelFacts) -> str:
    """Which corpus version (and how many test clips) a version's test figures come from, in plain words:
    ``"corpus v2, 1091 clips"``, or ``"corpus data/corpus (version not recorded), 1462 clips"`` for a version
    trained before corpora had versions (or on a dataset of one's own)."""
    parts = []
    if facts.corpus_version is not None:
        parts.append(f"corpus v{facts.corpus_version}")
    elif facts.corpus:
        parts.append(f"corpus {facts.corpus} (version not recorded)")
    if facts.test_clips is not None:
        parts.append(f"{facts.test_clips} clips")
    return ", ".join(parts) or "not recorded"


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


def trace_values(values: Any) -> np.ndarray:
    """A trace's coordinates as floats, whether stored as a list or as plotly's typed array (``bdata``)."""
    if values is None:
        return np.empty(0)
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values.get("dtype", "f8")).astype(float).ravel()
    return np.asarray([np.nan if v is None else v for v in values], dtype=float).ravel()


def rate_label(rate: float) -> str:
    """A DET tick: ``"0.1 %"``, ``"5 %"``, ``"99.9 %"``."""
    return f"{rate * 100:g} %"


def det_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Tick positions (normal deviates) and labels for a DET axis drawn from ``low`` to ``high``.

    Labels are taken in :data:`DET_TICK_RATES` order while they keep :data:`DET_LABEL_GAP` of the axis
    from every label already placed, so they spread over the whole drawn range and never overlap.
    """
    gap = DET_LABEL_GAP * (high - low)
    chosen: list[float] = []
    for rate in DET_TICK_RATES:
        position = _PROBIT.inv_cdf(rate)
        if low <= position <= high and all(abs(position - other) >= gap for other in chosen):
            chosen.append(position)
    chosen.sort()
    return chosen, [rate_label(_PROBIT.cdf(position)) for position in chosen]


def det_axes(figure: go.Figure) -> go.Figure:
    """A stored DET figure (normal-deviate axes) labelled over its whole drawn range on both axes.

    The stored figure labels 0.1-40 % only, while its curve runs from 0.05 % to 99.95 %: the labels sat in
    the left 40 % of the axis and the curve ran on into unlabelled space. Both axes get the same range (the
    curve's extent) and labels from :func:`det_ticks`; the dotted diagonal is where the two error rates are
    equal (the EER point sits on it).
    """
    values = np.concatenate([np.r_[trace_values(trace.x), trace_values(trace.y)] for trace in figure.data]
                            or [np.empty(0)])
    values = values[np.isfinite(values)]
    if not len(values):
        return figure
    low, high = float(values.min()), float(values.max())
    pad = DET_AXIS_PAD * max(high - low, 1.0)
    low, high = low - pad, high + pad
    positions, labels = det_ticks(low, high)
    axis = dict(range=[low, high], tickvals=positions, ticktext=labels, showgrid=True, zeroline=False)
    figure.update_layout(xaxis=dict(axis, title="False positive rate (genuine clips called synthetic)"),
                         yaxis=dict(axis, title="False negative rate (synthetic clips called genuine)"),
                         height=460, margin=dict(b=70),
                         legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom"))
    figure.add_shape(type="line", x0=low, y0=low, x1=high, y1=high, line=dict(color="#8c959f", dash="dot",
                                                                            width=1), layer="below")
    return figure


def tidy_figure(name: str, figure: go.Figure, facts: ModelFacts | None = None) -> go.Figure:
    """Stored evaluation figures made readable: DET axes labelled over their whole range, log axes with decade
    labels only; with ``facts``, the score histogram draws no edge of a band the model cannot reach and marks
    its floor."""
    if name == "det":
        det_axes(figure)
    if name == "scores" and facts is not None and not facts.can_clear:
        figure.layout.shapes = [shape for shape in figure.layout.shapes
                                if shape.x0 is None or abs(shape.x0 - facts.genuine_below) > 1e-6]
        figure.add_vline(x=facts.lowest, line_dash="dot", line_color="#57606a",
                         annotation_text=f"lowest possible score {facts.lowest * 100:.0f} %")
    if figure.layout.yaxis.type == "log":
        figure.update_yaxes(dtick=1)   # 1, 10, 100: no "5, 2, 100, 5" between the decades
    return figure


def compare_table(candidate: dict[str, Any], active: dict[str, Any]) -> pd.DataFrame:
    """The candidate-vs-active table as text: a figure that was not measured reads "–", never "None"."""
    def cell(value: Any) -> str:
        return "–" if value is None else str(value)
    return pd.DataFrame({"candidate": {k: cell(v) for k, v in candidate.items()},
                         "active": {k: cell(v) for k, v in active.items()}})


def confusion_labels() -> tuple[list[str], str]:
    """Column labels and title of the confusion matrix at p = 0.5: a threshold, not the verdict bands."""
    return ["scored below 50 %", "scored 50 % or more"], "Confusion matrix at p = 0.5"


CONFUSION_NOTE = ("p = 0.5 is a threshold for comparing versions, not the verdict bands: a clip scoring below 50 % is "
                  "not called genuine (see the model card for what the bands say).")
