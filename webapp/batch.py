"""Score many uploads into table rows (the Batch page), one bad file never stopping the rest.

No Streamlit here: the page passes a progress callback and renders the rows.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

from detector.clip_edges import ClipEdges, clip_edges
from detector.errors import AudioError
from detector.names import safe_display_name
from detector.spreadsheet import spreadsheet_safe
from detector.verdict import stretches_sentence

if TYPE_CHECKING:  # annotations only: the table helpers work without the inference stack
    from detector.analysis import Analysis
from detector.inference import Detector

log = logging.getLogger(__name__)

COLUMNS = ["file", "verdict", "p_synthetic", "duration_s", "synthetic_stretches", "warnings", "error", "sha256",
           "model_version"]


@dataclass
class BatchRow:
    """One file's result; ``error`` is set (and the scores empty) when it could not be judged."""

    file: str
    verdict: str | None = None
    p_synthetic: float | None = None
    duration_s: float | None = None
    warnings: str = ""
    synthetic_stretches: str = ""   # the card's sentence on spliced or likely-synthetic seconds ("" when none)
    error: str = ""
    sha256: str = ""
    model_version: str = ""
    # The edges this file was judged by and its probability and edges as Detect writes them (not in the CSV).
    edges: ClipEdges | None = None


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences as one text: each ends with its own full stop, so none reads ".;"."""
    return " ".join(s if s.endswith((".", "!", "?")) else f"{s}." for s in sentences)


def score_one(detector: "Detector", name: str, payload: bytes) -> BatchRow:
    """Analyse one file; bad input becomes a row with the error sentence instead of an exception."""
    return analyse_one(detector, name, payload)[0]


def analyse_one(detector: "Detector", name: str, payload: bytes) -> tuple[BatchRow, "Analysis | None"]:
    """Like :func:`score_one`, also returning the full analysis (``None`` when the file failed).

    The Batch page keeps each row's window scores from it, so one row's timeline can be opened.
    The row's ``file`` is the safe display name the Detect page and the JSON report show.
    """
    name = safe_display_name(name)
    try:
        analysis = detector.analyse(payload, name=name)
    except AudioError as exc:
        return BatchRow(file=name, error=exc.message, model_version=detector.name), None
    except Exception as exc:  # never let one odd file end the batch; the log keeps the details
        log.exception("batch: unexpected failure on %s", name)
        return BatchRow(file=name, error=f"Could not analyse this file (internal error: {type(exc).__name__}).",
                        model_version=detector.name), None
    row = BatchRow(
        file=name,
        verdict=analysis.verdict_label,
        p_synthetic=round(analysis.p_synthetic, 4),
        duration_s=round(analysis.duration_s, 2),
        warnings=join_sentences(w.message for w in analysis.warnings),
        synthetic_stretches=stretches_sentence(analysis.synthetic_spans, analysis.spliced, analysis.verdict),
        sha256=analysis.sha256,
        model_version=analysis.model_version,
        edges=clip_edges(analysis, detector.calibration),
    )
    return row, analysis


def score_files(detector: "Detector", files: Iterable[tuple[str, bytes]],
                progress: Callable[[int, str], None] | None = None) -> list[BatchRow]:
    """Score ``(name, bytes)`` pairs in order; ``progress(done, name)`` is called after each."""
    rows = []
    for done, (name, payload) in enumerate(files, start=1):
        rows.append(score_one(detector, name, payload))
        if progress is not None:
            progress(done, name)
    return rows


def rows_to_frame(rows: Iterable[BatchRow]) -> pd.DataFrame:
    """The results table with a fixed column order (empty rows give an empty table with the columns)."""
    frame = pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)
    frame["p_synthetic"] = pd.to_numeric(frame["p_synthetic"], errors="coerce")
    frame["duration_s"] = pd.to_numeric(frame["duration_s"], errors="coerce")
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes for the download button; text cells are made spreadsheet-safe."""
    buffer = io.StringIO()
    text_columns = frame.select_dtypes(include="object").columns
    safe = frame.assign(**{column: frame[column].map(spreadsheet_safe) for column in text_columns})
    safe.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def summary(rows: Iterable[BatchRow]) -> dict[str, int]:
    """Counts per verdict label plus failed files, for the line above the table."""
    counts: dict[str, int] = {}
    for row in rows:
        key = row.verdict or "Failed"
        counts[key] = counts.get(key, 0) + 1
    return counts
