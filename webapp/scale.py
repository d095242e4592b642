"""The one scale every verdict chart uses: log-odds of p(synthetic), ticks written in per cent.

On a linear 0-100 % axis a *likely genuine* band that ends at 1.1 % is a hairline, and a
batch of genuine clips is one bar at 0-5 %. On log-odds, ``log(p / (1 - p))``, 1 % and 0.1 %
are as far apart as 50 % and 90 %, so a band edge near either end is plainly visible.
Probabilities are clipped to ``[P_LIMIT, 1 - P_LIMIT]`` (0.01 % to 99.99 %) so a score of
exactly 0 or 1 stays on the chart. Pure functions: the matplotlib (:mod:`webapp.figures`)
and Plotly (:mod:`webapp.plots`) charts draw from them alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detector.calibration import ClipBands
from detector.model_facts import BandSpan, ModelFacts

P_LIMIT = 1e-4
TICKS = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)


def log_odds(p):
    """``log(p / (1 - p))`` of ``p`` clipped to ``[P_LIMIT, 1 - P_LIMIT]`` (a float for a float, else an array)."""
    clipped = np.clip(np.asarray(p, dtype=np.float64), P_LIMIT, 1.0 - P_LIMIT)
    odds = np.log(clipped / (1.0 - clipped))
    return float(odds) if odds.ndim == 0 else odds


def probability(x):
    """The inverse of :func:`log_odds`."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
    return float(p) if p.ndim == 0 else p


LIMITS = (log_odds(0.0), log_odds(1.0))   # the ends of every axis: 0.01 % and 99.99 %


def tick_label(p: float) -> str:
    """``0.001`` as ``"0.1 %"``, ``0.5`` as ``"50 %"``: the fewest digits, never "0 %" or "100 %"."""
    return f"{p * 100:g} %"


def short_percent(p: float) -> str:
    """``p`` with two significant digits, counted from the nearer end: ``"0.032 %"``, ``"23 %"``, ``"99.968 %"``."""
    if p <= 0.5:
        return f"{float(f'{p * 100:.2g}'):g} %"
    return f"{100 - float(f'{(1 - p) * 100:.2g}'):g} %"


def ticks() -> tuple[list[float], list[str]]:
    """Positions (log-odds) and labels of the scale's ticks, from 0.1 % to 99.9 %."""
    return [log_odds(p) for p in TICKS], [tick_label(p) for p in TICKS]


def band_of(p: float, genuine_below: float | None, synthetic_above: float | None) -> str:
    """The band ``p`` falls in among the edges there are (a ``None`` edge: no such band), by the verdict's own rule."""
    return ClipBands(genuine_below, synthetic_above, channel="", per_channel=False).verdict(p)


def band_spans(genuine_below: float | None, synthetic_above: float | None,
               facts: ModelFacts | None = None) -> list[BandSpan]:
    """The bands to shade, in probabilities: only those with an edge, within the scores the model can give.

    A ``None`` edge draws no such band (the clip could not get it). With ``facts`` nothing below the
    model's floor or above its ceiling is shaded, so a band the model never reaches is not drawn.
    """
    low, high = (facts.lowest, facts.highest) if facts is not None else (0.0, 1.0)
    spans = [BandSpan("uncertain", max(low, genuine_below or 0.0),
                      min(high, 1.0 if synthetic_above is None else synthetic_above))]
    if genuine_below is not None:
        spans.insert(0, BandSpan("likely_genuine", low, min(high, genuine_below)))
    if synthetic_above is not None:
        spans.append(BandSpan("likely_synthetic", max(low, synthetic_above), high))
    return [span for span in spans if span.high > span.low]


def spans_on_scale(spans: Sequence[BandSpan]) -> list[tuple[str, float, float]]:
    """``(verdict, from, to)`` of each span in log-odds, for drawing."""
    return [(span.verdict, log_odds(span.low), log_odds(span.high)) for span in spans]


def width_share(span: BandSpan) -> float:
    """The share of the scale's width that ``span`` covers (0 to 1)."""
    return (log_odds(span.high) - log_odds(span.low)) / (LIMITS[1] - LIMITS[0])
