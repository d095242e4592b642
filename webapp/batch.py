"""Score many uploads into table rows (the Batch page), one bad file never stopping the rest.

No Streamlit here: the page passes a progress callback and renders the rows.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

from detector.clip_edges import ClipEdges, clip_edges
from detector.errors import AudioError
from detector.names import safe_display_name
from detector.spreadsheet import spreadsheet_safe
from detector.verdict import MAX_LISTED_SPANS, spans_sentence, stretches_sentence

if TYPE_CHECKING:  # annotations only: the table helpers work without the inference stack
    from detector.analysis import Analysis
from detector.inference import Detector

log = logging.getLogger(__name__)

# Short labels of the quality warnings (detector.quality codes) for the Batch table; the full sentences are in
# the file's detail view and in the CSV.
WARNING_LABELS = {
    "decode_gap": "damaged (gap joined)", "decode_end": "damaged (end missing)", "truncated": "only the start analysed",
    "short": "short clip", "clipping": "clipped", "mostly_silence": "mostly silence",
    "narrow_band": "phone bandwidth", "compressed": "heavily compressed",
}
COLUMNS = ["file", "verdict", "p_synthetic", "duration_s", "synthetic_stretches", "warnings", "error", "sha256",
           "model_version"]


@dataclass
class BatchRow:
    """One file's result; ``error`` is set (and the scores empty) when it could not be judged."""

    file: str
    verdict: str | None = None
    p_synthetic: float | None = None
    duration_s: float | None = None
    warnings: str = ""              # the quality warnings' full sentences, in one text (as in the CSV)
    # The seconds whose windows score likely synthetic, in a sentence: the Detect card's (spliced or partly
    # synthetic clips), else the plain list, so a clip with such windows never has an empty cell ("" when none).
    synthetic_stretches: str = ""
    error: str = ""
    sha256: str = ""
    model_version: str = ""
    # The edges this file was judged by and its probability and edges as Detect writes them (not in the CSV).
    edges: ClipEdges | None = None
    # For the table and the detail view (not in the CSV): warning codes and sentences, the likely-synthetic
    # seconds in short, and whether the card calls the clip possibly spliced.
    warning_codes: tuple[str, ...] = ()
    warning_messages: tuple[str, ...] = ()
    synthetic_seconds: str = ""
    spliced: bool = False

    @property
    def warning_labels(self) -> str:
        """The warnings in short for a table cell (``"short clip; phone bandwidth"``); a row made without codes
        gives its sentences."""
        if not self.warning_codes:
            return self.warnings
        return "; ".join(WARNING_LABELS.get(code, code.replace("_", " ")) for code in self.warning_codes)


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences as one text: each ends with its own full stop, so none reads ".;"."""
    return " ".join(s if s.endswith((".", "!", "?")) else f"{s}." for s in sentences)


def seconds_text(spans: Sequence[tuple[float, float]], windows: Sequence = (), spliced: bool = False,
                 limit: int = MAX_LISTED_SPANS) -> str:
    """The likely-synthetic seconds in short for a table cell: ``"7.0–12.4 s"``, ``"whole clip (0.0–6.0 s)"``,
    ``"possibly spliced: 7.0–12.4 s"``, ``"5 stretches, 12.0 s in all"`` ("" when there are none).

    ``windows`` (the clip's :class:`detector.verdict.WindowScore` list) tells a stretch that covers every
    window from one that does not.
    """
    if not spans:
        return ""
    if len(spans) > limit:
        text = f"{len(spans)} stretches, {sum(end - start for start, end in spans):.1f} s in all"
    else:
        text = ", ".join(f"{start:.1f}–{end:.1f}" for start, end in spans) + " s"
    whole = (len(spans) == 1 and len(windows) > 0 and spans[0][0] <= min(w.start_s for w in windows) + 1e-6
             and spans[0][1] >= max(w.end_s for w in windows) - 1e-6)
    if whole:
        return f"whole clip ({text})"
    return f"possibly spliced: {text}" if spliced else text


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
        # The card leaves out the stretches of a clip that is likely synthetic as a whole (its verdict says it):
        # the table and the CSV list them all the same.
        synthetic_stretches=(stretches_sentence(analysis.synthetic_spans, analysis.spliced, analysis.verdict)
                             or spans_sentence(analysis.synthetic_spans)),
        sha256=analysis.sha256,
        model_version=analysis.model_version,
        edges=clip_edges(analysis, detector.calibration),
        warning_codes=tuple(w.code for w in analysis.warnings),
        warning_messages=tuple(w.message for w in analysis.warnings),
        synthetic_seconds=seconds_text(analysis.synthetic_spans, analysis.windows, analysis.spliced),
        spliced=analysis.spliced,
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
