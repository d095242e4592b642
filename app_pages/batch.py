"""Batch page: score many files at once into a sortable table, a histogram and a CSV.

Scoring lives in ``detector.batch``; rows are cached per (file content, model
version) in the session so adding one more file does not rescore the others.
"""

from __future__ import annotations

import streamlit as st

from detector import plots
from detector.batch import rows_to_frame, score_one, summary, to_csv
from detector.names import markdown_text, safe_display_name
from app_pages._shared import AUDIO_TYPES, current_detector, digest, remember, session_cache

ROW_CACHE_SIZE = 1000  # rows are tiny (no audio arrays), so a whole working session fits


def render() -> None:
    """The page body."""
    st.title("Check many files")
    st.markdown("Upload several recordings; each one is scored on its own. A file that cannot be read "
                "is listed with the reason and does not stop the others.")
    detector = current_detector()
    if detector is None:
        return
    files = st.file_uploader("Audio files", type=AUDIO_TYPES, accept_multiple_files=True, key="batch_upload")
    if not files:
        st.info("Choose or drop files above. Results can be sorted by clicking a column header.",
                icon=":material/lightbulb:")
        return
    cache = session_cache("batch_rows")
    progress = st.progress(0.0, text="Starting…")
    rows = []
    for done, uploaded in enumerate(files, start=1):
        data = uploaded.getvalue()
        key = (digest(data), detector.name, uploaded.name)
        if key in cache:
            row = cache[key]
        else:
            shown = markdown_text(safe_display_name(uploaded.name))   # a name is text, never Markdown
            progress.progress((done - 1) / len(files), text=f"Analysing {shown} ({done} of {len(files)})…")
            row = remember(cache, key, score_one(detector, uploaded.name, data), size=ROW_CACHE_SIZE)
        rows.append(row)
    progress.progress(1.0, text=f"Done: {len(files)} file{'s' if len(files) != 1 else ''} analysed "
                                f"with model {detector.name}.")

    counts = summary(rows)
    columns = st.columns(len(counts))
    for column, (label, count) in zip(columns, sorted(counts.items())):
        column.metric(label, count)

    frame = rows_to_frame(rows)
    st.dataframe(
        frame.drop(columns=["sha256", "model_version"]),
        hide_index=True,
        width="stretch",
        column_config={
            "file": st.column_config.TextColumn("File"),
            "verdict": st.column_config.TextColumn("Verdict"),
            "p_synthetic": st.column_config.ProgressColumn("p(synthetic)", min_value=0.0, max_value=1.0,
                                                           format="percent"),
            "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
            "warnings": st.column_config.TextColumn("Warnings", width="large"),
            "error": st.column_config.TextColumn("Error"),
        },
        key="batch_table",
    )
    scores = frame["p_synthetic"].dropna().tolist()
    if scores:
        calibration = detector.calibration
        st.plotly_chart(plots.histogram_figure(scores, calibration.genuine_below, calibration.synthetic_above),
                        key="batch_histogram")
    st.download_button("Download the results (CSV)", data=to_csv(frame), file_name="detector-results.csv",
                       mime="text/csv", icon=":material/download:", key="batch_csv")


render()
