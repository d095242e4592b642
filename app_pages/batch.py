"""Batch page: score many files at once into a sortable table, a histogram and a CSV.

Scoring lives in ``webapp.batch``; rows are cached per (file content, model
version) in the session so adding one more file does not rescore the others.
The last batch is kept in the session, so it is still there after a visit to
another page; emptying the upload box forgets it. Drawing is in ``app_pages.batch_view``.
"""

from __future__ import annotations

import streamlit as st

from app_pages._shared import AUDIO_TYPES, current_detector, digest, remember, session_cache
from app_pages.batch_view import BatchResult, RowDetail, show_result
from detector.inference import Detector
from detector.names import markdown_text, safe_display_name
from webapp.batch import analyse_one

ROW_CACHE_SIZE = 1000  # rows and window scores are tiny (no audio arrays), so a whole working session fits
UPLOAD_KEY, LAST_KEY = "batch_upload", "batch_last"


def forget_when_emptied() -> None:
    """The visitor removed every file: the kept batch goes too (a page switch does not call this)."""
    if not st.session_state.get(UPLOAD_KEY):
        st.session_state.pop(LAST_KEY, None)


def score_uploads(detector: Detector, files: list) -> BatchResult:
    """Score each distinct upload once; a file dropped twice (same name and content) is listed once."""
    cache = session_cache("batch_rows")
    result = BatchResult(rows=[], model_name=detector.name)
    seen: set[tuple[str, str]] = set()
    progress = st.progress(0.0, text="Starting…")
    for done, uploaded in enumerate(files, start=1):
        data = uploaded.getvalue()
        identity = (uploaded.name, digest(data))
        if identity in seen:
            result.repeats.append(safe_display_name(uploaded.name))
            continue
        seen.add(identity)
        key = (identity[1], detector.name, uploaded.name)
        if key not in cache:
            shown = markdown_text(safe_display_name(uploaded.name))   # a name is text, never Markdown
            progress.progress((done - 1) / len(files), text=f"Analysing {shown} ({done} of {len(files)})…")
            row, analysis = analyse_one(detector, uploaded.name, data)
            detail = RowDetail(analysis.explanation, list(analysis.windows)) if analysis is not None else None
            remember(cache, key, (row, detail), size=ROW_CACHE_SIZE)
        row, detail = cache[key]
        if detail is not None:
            result.details[len(result.rows)] = detail
        result.rows.append(row)
    analysed = len(result.rows)
    progress.progress(1.0, text=f"Done: {analysed} file{'s' if analysed != 1 else ''} analysed "
                                f"with model {detector.name}.")
    return result


def render() -> None:
    """The page body."""
    st.title("Check many files")
    st.markdown("Upload several recordings; each one is scored on its own. A file that cannot be read "
                "is listed with the reason and does not stop the others.")
    detector = current_detector()
    if detector is None:
        return
    files = st.file_uploader("Audio files", type=AUDIO_TYPES, accept_multiple_files=True, key=UPLOAD_KEY,
                             on_change=forget_when_emptied)
    if files:
        st.session_state[LAST_KEY] = score_uploads(detector, files)
    result: BatchResult | None = st.session_state.get(LAST_KEY)
    if result is None:
        st.info("Choose or drop files above. Results can be sorted by clicking a column header.",
                icon=":material/lightbulb:")
        return
    if not files:
        st.info(f"Your last batch ({len(result.rows)} files, model {result.model_name}) is kept while you use "
                "other pages. Drop files above to start a new one.", icon=":material/history:")
    show_result(result, detector)


render()
