"""Evaluation plots as PNG (matplotlib) and plotly JSON (``fig.to_json()``) for the admin page.

Each figure is written twice under the same stem: ``<stem>.png`` for the model card
and reports, ``<stem>.json`` so the admin page can rebuild the interactive figure
with ``plotly.io.from_json`` without recomputing anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from detector.calibration import Calibration
from detector.metrics import det_points, roc_points
from detector.model_report import ModelReport, PlotFiles

MAX_POINTS = 400                 # curves are thinned to keep the JSON small in the store
DET_TICKS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
DET_CLIP = 5e-4                  # probit axis needs rates strictly inside (0, 1)
COLOURS = {"genuine": "#1f77b4", "synthetic": "#d62728"}


def thin(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` points, always keeping the first and last."""
    if len(x) <= limit:
        return x, y
    keep = np.unique(np.r_[np.linspace(0, len(x) - 1, limit).astype(int), len(x) - 1])
    return x[keep], y[keep]


def _save(fig_mpl, fig_plotly, folder: Path, stem: str) -> PlotFiles:
    import matplotlib.pyplot as plt

    fig_mpl.tight_layout()
    fig_mpl.savefig(folder / f"{stem}.png", dpi=90)
    plt.close(fig_mpl)
    (folder / f"{stem}.json").write_text(fig_plotly.to_json())
    return PlotFiles(png=f"plots/{stem}.png", plotly=f"plots/{stem}.json")


def roc_figures(labels: np.ndarray, logits: np.ndarray, eer: float):
    """ROC curve with the EER point marked."""
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fpr, tpr, _ = roc_points(labels, logits)
    fpr, tpr = thin(fpr, tpr)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, color="#333")
    ax.plot([0, 1], [0, 1], ":", color="#aaa")
    ax.scatter([eer], [1 - eer], color=COLOURS["synthetic"], zorder=3, label=f"EER {eer:.2%}")
    ax.set(xlabel="False positive rate (genuine called synthetic)", ylabel="True positive rate", title="ROC (test)")
    ax.legend(loc="lower right")
    figure = go.Figure([go.Scatter(x=fpr, y=tpr, mode="lines", name="ROC"),
                        go.Scatter(x=[eer], y=[1 - eer], mode="markers", name=f"EER {eer:.2%}")])
    figure.update_layout(title="ROC (test)", xaxis_title="False positive rate", yaxis_title="True positive rate")
    return fig, figure


def det_figures(labels: np.ndarray, logits: np.ndarray, eer: float):
    """DET curve on normal-deviate (probit) axes, the usual anti-spoofing view."""
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fpr, fnr = det_points(labels, logits)
    fpr, fnr = thin(fpr, fnr)
    x, y = norm.ppf(np.clip(fpr, DET_CLIP, 1 - DET_CLIP)), norm.ppf(np.clip(fnr, DET_CLIP, 1 - DET_CLIP))
    ticks, names = norm.ppf(DET_TICKS), [f"{t:.1%}" for t in DET_TICKS]
    point = norm.ppf(np.clip(eer, DET_CLIP, 1 - DET_CLIP))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(x, y, color="#333")
    ax.scatter([point], [point], color=COLOURS["synthetic"], zorder=3, label=f"EER {eer:.2%}")
    ax.set_xticks(ticks, names, rotation=45)
    ax.set_yticks(ticks, names)
    ax.set(xlabel="False positive rate", ylabel="False negative rate", title="DET (test)")
    ax.legend(loc="upper right")
    figure = go.Figure([go.Scatter(x=x, y=y, mode="lines", name="DET"),
                        go.Scatter(x=[point], y=[point], mode="markers", name=f"EER {eer:.2%}")])
    axis = dict(tickvals=list(ticks), ticktext=names)
    figure.update_layout(title="DET (test)", xaxis=dict(title="False positive rate", **axis),
                         yaxis=dict(title="False negative rate", **axis))
    return fig, figure


def score_figures(scored: pd.DataFrame, bands: tuple[float, float]):
    """Histogram of calibrated probabilities per class with the band edges."""
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0, 1, 41)
    traces = []
    for label in ("genuine", "synthetic"):
        values = scored.loc[scored["label"] == label, "p_synthetic"].to_numpy()
        ax.hist(values, bins=bins, alpha=0.6, color=COLOURS[label], label=label)
        traces.append(go.Histogram(x=values, xbins=dict(start=0, end=1, size=0.025), name=label, opacity=0.6,
                                   marker_color=COLOURS[label]))
    for edge in bands:
        ax.axvline(edge, color="#555", linestyle="--")
    ax.set(xlabel="Calibrated probability of synthetic", ylabel="Test clips", title="Scores (test)", yscale="log")
    ax.legend()
    figure = go.Figure(traces)
    figure.update_layout(barmode="overlay", title="Scores (test)", xaxis_title="Calibrated probability of synthetic",
                         yaxis_type="log",
                         shapes=[dict(type="line", x0=e, x1=e, y0=0, y1=1, yref="paper", line=dict(dash="dash"))
                                 for e in bands])
    return fig, figure


def bar_figures(values: dict[str, float | None], title: str):
    """Horizontal bars of EER per group (groups without an EER are left out)."""
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    items = [(k, v) for k, v in values.items() if v is not None]
    names, eers = [k for k, _ in items], [100 * v for _, v in items]
    fig, ax = plt.subplots(figsize=(6, 0.4 * max(3, len(items)) + 1))
    ax.barh(names, eers, color="#555")
    ax.set(xlabel="EER (%)", title=title)
    ax.invert_yaxis()
    figure = go.Figure([go.Bar(x=eers, y=names, orientation="h")])
    figure.update_layout(title=title, xaxis_title="EER (%)", yaxis=dict(autorange="reversed"))
    return fig, figure


def write_plots(folder: str | Path, scored: pd.DataFrame, report: ModelReport,
                calibration: Calibration) -> dict[str, PlotFiles]:
    """Write every evaluation figure; return where each went (paths relative to the version folder).

    ``report`` needs its test figures and breakdown; ``calibration`` gives the band edges drawn.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    labels, logits = scored["y"].to_numpy(), scored["logit"].to_numpy()
    eer = report.test.eer
    written = {
        "roc": _save(*roc_figures(labels, logits, eer), folder, "roc"),
        "det": _save(*det_figures(labels, logits, eer), folder, "det"),
        "scores": _save(*score_figures(scored, (calibration.genuine_below, calibration.synthetic_above)),
                        folder, "scores"),
    }
    for column in ("family", "condition"):
        groups = {k: v.eer for k, v in report.breakdown[column].items()}
        if any(v is not None for v in groups.values()):
            written[f"eer_by_{column}"] = _save(*bar_figures(groups, f"Test EER by {column}"), folder,
                                                f"eer_by_{column}")
    if report.heldout is not None and report.heldout.folds:
        written["heldout"] = _save(*bar_figures({k: v.eer for k, v in report.heldout.folds.items()},
                                                "Held-out EER (part unseen in training)"), folder, "heldout")
    return written
