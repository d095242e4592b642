"""How the Batch page shows a scored batch: tiles, the results table, failed files and one file's timeline.

The page (``app_pages/batch.py``) scores the uploads; this module only draws a
:class:`BatchResult`, so the same drawing serves fresh results and the ones kept
in the session while the visitor was on another page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from detector.inference import Detector
from detector.names import markdown_text
from detector.verdict import VERDICTS, WindowScore
from webapp import plots
from webapp.batch import BatchRow, rows_to_frame, to_csv
from webapp.batch_table import edges_of, row_text, scored_table, written_table

FAILED = "Failed"


@dataclass
class RowDetail:
    """What one analysed file keeps for its detail view: small (no audio or feature arrays)."""

    explanation: str
    windows: list[WindowScore]


@dataclass
class BatchResult:
    """One batch as shown: rows in upload order, details by row position, the files skipped as repeats."""

    rows: list[BatchRow]
    details: dict[int, RowDetail] = field(default_factory=dict)
    repeats: list[str] = field(default_factory=list)
    model_name: str = ""


def verdict_counts(rows: list[BatchRow], reachable: tuple[str, ...] = tuple(VERDICTS)) -> dict[str, int]:
    """Count per verdict label, every verdict the model can give shown even at 0 (one it cannot give is not
    offered as a possibility), then failed files when there are any."""
    counts = {VERDICTS[band]: 0 for band in reachable}
    for row in rows:
        key = row.verdict or FAILED
        counts[key] = counts.get(key, 0) + 1
    if not counts.get(FAILED):
        counts.pop(FAILED, None)
    return counts


def failed_table(rows: list[BatchRow]) -> pd.DataFrame:
    """File name and the reason, for the files that could not be judged."""
    return pd.DataFrame([{"file": row.file, "error": row.error} for row in rows if row.error],
                        columns=["file", "error"])


def show_tiles(rows: list[BatchRow], detector: Detector) -> None:
    counts = verdict_counts(rows, detector.facts.reachable)
    for column, (label, count) in zip(st.columns(len(counts)), counts.items()):
        column.metric(label, count)


def show_tables(result: BatchResult, detector: Detector) -> None:
    """Failed files first (their reason in full view), then the sortable results."""
    failed = failed_table(result.rows)
    if not failed.empty:
        st.markdown(f"**Could not be analysed ({len(failed)})**")
        st.dataframe(failed, hide_index=True, width="stretch", key="batch_failed", column_config={
            "file": st.column_config.TextColumn("File", width="medium"),
            "error": st.column_config.TextColumn("Why", width="large")})
    scored = scored_table(result.rows)
    if scored.empty:
        return
    st.markdown(f"**Results ({len(scored)})** — click a column header to sort.")
    st.dataframe(written_table(result.rows, detector), hide_index=True, width="stretch", key="batch_table",
                 column_config={
        "file": st.column_config.TextColumn("File", width="medium"),
        "verdict": st.column_config.TextColumn("Verdict"),
        # Each file's probability as the Detect card writes it for that file (no format here: the Styler's wins).
        "p_synthetic": st.column_config.NumberColumn("p(synthetic)"),
        "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
        "synthetic_stretches": st.column_config.TextColumn(
            "Synthetic seconds", width="medium",
            help="Seconds of the file whose windows score likely synthetic; open the file below for its timeline."),
        "warnings": st.column_config.TextColumn(
            "Warnings", width="medium",
            help="Recording-quality warnings in short; the full sentences are in the file's detail view below "
                 "and in the CSV."),
    })
    if any(row.warning_codes or row.warnings for row in result.rows if not row.error):
        st.caption("Open a file below for its warnings in full; the CSV carries them too.")


def show_warnings(row: BatchRow) -> None:
    """The file's recording-quality warnings in the yellow boxes the Detect card uses, one per warning."""
    messages = row.warning_messages or ((row.warnings,) if row.warnings else ())
    if not messages:
        return
    st.markdown("**Recording quality**")
    for message in messages:
        st.warning(message, icon=":material/warning:")


def show_detail(result: BatchResult, detector: Detector) -> None:
    """One chosen file's verdict sentence and per-window timeline."""
    analysed = [index for index in range(len(result.rows)) if index in result.details]
    if not analysed:
        return
    st.markdown("#### One file in detail")
    names = [row.file for row in result.rows]

    def label(index: int) -> str:   # two uploads may share a name: then their upload position tells them apart
        name = names[index]
        return f"{name} (upload {index + 1})" if names.count(name) > 1 else name

    chosen = st.selectbox("Open one file's timeline and explanation", analysed, index=None, format_func=label,
                          placeholder="Choose a file…", key="batch_detail_pick")
    if chosen is None:
        return
    row, detail = result.rows[chosen], result.details[chosen]
    st.markdown(f"**{row.verdict}** — p(synthetic) {row_text(row, detector).value}")
    if row.edges is not None:
        st.caption(f"Bands for this file: {row.edges.summary(detector.facts.reachable)}.")
    if row.synthetic_stretches:   # as the Detect card writes it: a spliced clip impossible to miss
        st.markdown(f":material/content_cut: :red[{row.synthetic_stretches}]" if row.spliced
                    else f"**{row.synthetic_stretches}**")
    st.markdown(detail.explanation)
    show_warnings(row)
    if len(detail.windows) > 1:
        genuine, synthetic = edges_of([row], detector)
        st.plotly_chart(plots.timeline_figure(detail.windows, genuine, synthetic, facts=detector.facts,
                                              names=row.edges.band_names() if row.edges else None),
                        key="batch_detail_timeline")
    else:
        st.caption("The clip is one window long, so there is no timeline: the verdict above is its only score.")


def show_result(result: BatchResult, detector: Detector) -> None:
    """Everything about a batch: tiles, tables, histogram, CSV and the detail view."""
    if result.repeats:
        st.caption(f"Skipped {len(result.repeats)} repeated file{'s' if len(result.repeats) != 1 else ''} "
                   f"(same name and content as one above): {', '.join(map(markdown_text, result.repeats))}.")
    show_tiles(result.rows, detector)
    show_tables(result, detector)
    scores = [row.p_synthetic for row in result.rows if row.p_synthetic is not None]
    if scores:
        scored = [row for row in result.rows if row.p_synthetic is not None]
        genuine, synthetic = edges_of(scored, detector)
        missing = {tuple(row.edges.missing()) for row in scored if row.edges is not None}
        st.plotly_chart(plots.histogram_figure(scores, genuine, synthetic, facts=detector.facts,
                                               missing=missing.pop() if len(missing) == 1 else ()),
                        key="batch_histogram")
    st.download_button("Download the results (CSV)", data=to_csv(rows_to_frame(result.rows)),
                       file_name="detector-results.csv", mime="text/csv", icon=":material/download:",
                       key="batch_csv", on_click="ignore")
    show_detail(result, detector)
