"""Admin: the evaluation of one model version (metrics, plots, breakdowns) and training curves."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from detector.errors import ModelError
from detector.registry import ModelRegistry
from webapp.admin_tables import (
    CONFUSION_NOTE,
    compare_table,
    confusion_labels,
    heldout_rows,
    percent,
    same_corpus,
    tidy_figure,
)
from webapp.job_view import VersionResults, curves, load_results


def active_or_none(registry: ModelRegistry, show_error: bool = False) -> str | None:
    """The active version's name, or ``None`` when the pointer is corrupt (promoting a version repairs it)."""
    try:
        return registry.active_name()
    except ModelError as exc:
        if show_error:
            st.error(str(exc))
        return None


def curve_figures(data: dict[str, list]) -> list[go.Figure]:
    """Loss/accuracy and validation-EER curves from :func:`webapp.job_view.curves` data."""
    loss = go.Figure()
    if data["step"]:
        loss.add_scatter(x=data["step"], y=data["step_loss"], mode="lines", name="loss (steps)")
    loss.update_layout(title="Training loss", xaxis_title="step", height=300)
    per_epoch = go.Figure()
    per_epoch.add_scatter(x=data["epoch"], y=data["accuracy"], mode="lines+markers", name="train accuracy")
    per_epoch.add_scatter(x=data["epoch"], y=data["val_eer"], mode="lines+markers", name="validation EER")
    per_epoch.update_layout(title="Accuracy and validation EER per epoch", xaxis_title="epoch", height=300)
    return [loss, per_epoch]


def history_curves(history: list[dict]) -> dict[str, list]:
    return curves([{**h, "event": "epoch"} for h in history])


def confusion_figure(matrix: list[list[int]], title: str) -> go.Figure:
    columns, _ = confusion_labels()
    figure = go.Figure(go.Heatmap(z=matrix, x=columns, y=["genuine", "synthetic"],
                                  text=matrix, texttemplate="%{text}", colorscale="Blues", showscale=False))
    figure.update_layout(title=title, yaxis=dict(autorange="reversed"), height=300)
    return figure


def show_plot(results: VersionResults, name: str, prefix: str) -> None:
    """One of the plotly figures the evaluation wrote, if this version has it."""
    if name in results.figures:
        st.plotly_chart(tidy_figure(name, pio.from_json(results.figures[name]), results.facts),
                        key=f"{prefix}-{results.name}-{name}")


def show_results(results: VersionResults, active: VersionResults | None, prefix: str) -> None:
    """Evaluation of one version (from its metrics.json and plotly JSON), beside the active one.

    ``prefix`` keeps element keys apart when the same version is shown twice (job results and registry).
    """
    test = results.test
    cols = st.columns(4)
    cols[0].metric("Test EER", percent(test.eer))
    cols[1].metric("EER threshold (p)", "–" if test.eer_threshold_p is None else f"{test.eer_threshold_p:.3f}")
    cols[2].metric("AUC", "–" if test.auc is None else f"{test.auc:.3f}")
    cols[3].metric("Shortcut-audit EER", percent(results.audit_eer),
                   help="EER of simple classifiers that see only duration, level, bandwidth, silences and sample "
                   "rate. Near chance (≥ 35 %) means the corpus offers no such shortcut; the model's EER should "
                   "be far lower.")
    left, right = st.columns(2)
    with left:
        if results.confusion:
            st.plotly_chart(confusion_figure(results.confusion, confusion_labels()[1]),
                            key=f"{prefix}-{results.name}-confusion")
            st.caption(CONFUSION_NOTE)
        show_plot(results, "roc", prefix)
        show_plot(results, "eer_by_family", prefix)
    with right:
        show_plot(results, "scores", prefix)
        show_plot(results, "det", prefix)
        show_plot(results, "eer_by_condition", prefix)
    rows = results.breakdown_rows()
    if rows:
        st.markdown("**EER per family, generator, language, condition and source**")
        if any(row["EER"] == "–" for row in rows):
            st.caption("“–”: no EER for that group; its note says why (too few test clips of a class, or none).")
        st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"{prefix}-{results.name}-breakdown",
                     column_config={"note": st.column_config.TextColumn("note", width="large")})
    if results.heldout:
        st.markdown("**Held out of training** (a family, neural-vocoder generator or recording source the model "
                    "never heard; confident errors at each fold model's own bands)")
        show_plot(results, "heldout", prefix)
        st.dataframe(pd.DataFrame(heldout_rows(results.heldout)), hide_index=True,
                     key=f"{prefix}-{results.name}-heldout")
    if results.history:
        for index, figure in enumerate(curve_figures(history_curves(results.history))):
            st.plotly_chart(figure, key=f"{prefix}-{results.name}-history-{index}")
    if active is not None and active.name != results.name:
        st.markdown("**Candidate vs active model**")
        if not same_corpus(results.report, active.report):
            st.warning("These two versions were tested on different corpus versions, so their test figures are "
                       "not comparable: re-score the older one on the current corpus before choosing.",
                       icon=":material/compare_arrows:")
        st.dataframe(compare_table(results.summary(), active.summary()), key=f"{prefix}-{results.name}-compare")


def version_evaluation(registry: ModelRegistry, name: str) -> None:
    """The evaluation every version ships (metrics.json and plots/), for the version picked in the registry."""
    st.subheader(f"Evaluation of {name}")
    results = load_results(registry.root / name)
    if results is None:
        st.info(f"Version {name} has no readable metrics.json, so there is no evaluation to show.")
        return
    active_name = active_or_none(registry)
    active = load_results(registry.root / active_name) if active_name and active_name != name else None
    show_results(results, active, "registry")
