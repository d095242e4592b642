"""The Batch page's table and chart inputs, each file written exactly as the Detect card writes it.

No Streamlit here. A file's probability and edges come from its own analysis
(:func:`detector.clip_edges.clip_edges`, kept on :class:`webapp.batch.BatchRow`), so a file reads
"0.4 %" in the table, in its detail and on Detect alike, whatever the other files score.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from detector.bands import ClipText, clip_text
from detector.inference import Detector
from webapp.batch import BatchRow, rows_to_frame


def row_text(row: BatchRow, detector: Detector) -> ClipText:
    """A file's probability and edges exactly as the Detect card writes them for the same file
    (:func:`detector.clip_edges.clip_edges`)."""
    if row.edges is not None:
        return row.edges.text
    calibration = detector.calibration   # a row made without its analysis: the version's edges
    return clip_text(row.p_synthetic, calibration.genuine_below, calibration.synthetic_above)


def edges_of(rows: list[BatchRow], detector: Detector) -> tuple[float | None, float | None]:
    """The band edges the rows were judged by when they share them, else the version's (files of several
    kinds of audio, each with its own)."""
    pairs = {(row.edges.genuine_below, row.edges.synthetic_above) for row in rows if row.edges is not None}
    if len(pairs) == 1 and all(row.edges is not None for row in rows):
        return pairs.pop()
    return detector.calibration.genuine_below, detector.calibration.synthetic_above


def scored_table(rows: list[BatchRow]) -> pd.DataFrame:
    """Analysed files only; probabilities in per cent (numbers, so the column sorts as numbers).

    Cells stay short enough to read whole: the likely-synthetic seconds as a list (``"7.0–12.4 s"``) and
    the warnings as short labels (``"short clip; phone bandwidth"``); their full sentences are in the
    file's detail view and in the CSV.
    """
    scored = [row for row in rows if not row.error]
    frame = rows_to_frame(scored)
    frame["p_synthetic"] = frame["p_synthetic"] * 100
    frame["synthetic_stretches"] = [row.synthetic_seconds or row.synthetic_stretches for row in scored]
    frame["warnings"] = [row.warning_labels for row in scored]
    return frame[["file", "verdict", "p_synthetic", "duration_s", "synthetic_stretches", "warnings"]]


def written_table(rows: list[BatchRow], detector: Detector) -> Styler:
    """:func:`scored_table` with each probability shown as Detect writes it for that file (a pandas Styler:
    the cell shows "0.4 %", and sorting still uses the number)."""
    scored = [row for row in rows if not row.error]
    frame = scored_table(rows)
    styler = frame.style
    for index, row in zip(frame.index, scored):
        text = row_text(row, detector).value
        styler = styler.format(lambda _, text=text: text, subset=pd.IndexSlice[[index], ["p_synthetic"]])
    return styler
