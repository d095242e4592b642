"""Plotly helpers for the app: the verdict timeline and histogram, and the reductions :mod:`webapp.figures` uses.

Pure figure builders (no Streamlit), so they are unit-tested without a browser.
Long clips are reduced before plotting: a 10-minute clip has 9.6 M samples and
60 000 feature frames, far more than a screen has pixels and too much to send
to a browser, so waveforms become min/max envelopes and spectrograms are
averaged over time to at most ``MAX_COLUMNS`` columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, sequential

from detector.bands import band_text, clip_text
from detector.clip_edges import BAND_WORDS
from detector.config import FeatureConfig
from detector.model_facts import BandSpan, ModelFacts
from detector.spectrum import power_spectrogram
from webapp import scale

MAX_POINTS = 4000     # waveform envelope points
MAX_COLUMNS = 1200    # spectrogram time columns
HEIGHT = 280
GENUINE_COLOUR = "#1a7f37"
UNCERTAIN_COLOUR = "#b08800"
SYNTHETIC_COLOUR = "#cf222e"
_MARGIN = dict(l=60, r=20, t=40, b=45)
# Magma written as rgb() strings: Streamlit's plotly bundle misreads Magma's first stop "#000004"
# (near-black) and paints the quietest cells pink, which looked like a signal where there is silence.
SPECTRUM_SCALE = [[i / (len(sequential.Magma) - 1), "rgb({}, {}, {})".format(*hex_to_rgb(colour))]
                  for i, colour in enumerate(sequential.Magma)]


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = HEIGHT) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.0, font=dict(size=14)), height=height, margin=_MARGIN,
                      xaxis_title=x_title, yaxis_title=y_title, template="plotly_white", showlegend=False)
    return fig


def envelope(samples: np.ndarray, sr: int, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and per-bucket min/max of ``samples`` (the samples themselves when short)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(samples) <= max_points:
        times = np.arange(len(samples)) / sr
        return times, samples, samples
    buckets = max_points // 2
    size = int(np.ceil(len(samples) / buckets))
    padded = np.pad(samples, (0, size * buckets - len(samples)), mode="edge").reshape(buckets, size)
    times = (np.arange(buckets) * size + size / 2) / sr
    return times, padded.min(axis=1), padded.max(axis=1)


def reduce_columns(matrix: np.ndarray, times: np.ndarray,
                   max_columns: int = MAX_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive frames so at most ``max_columns`` remain; returns (matrix, times)."""
    frames = len(matrix)
    if frames <= max_columns:
        return matrix, times
    factor = int(np.ceil(frames / max_columns))
    usable = (frames // factor) * factor
    reduced = matrix[:usable].reshape(frames // factor, factor, -1).mean(axis=1)
    return reduced, times[:usable].reshape(-1, factor).mean(axis=1)


BAND_COLOURS = {"likely_genuine": GENUINE_COLOUR, "uncertain": UNCERTAIN_COLOUR, "likely_synthetic": SYNTHETIC_COLOUR}
HISTOGRAM_BINS = 24   # over the whole log-odds scale: one bin is about a factor of 2.2 in the odds


def _bands(fig: go.Figure, spans: Sequence[BandSpan], horizontal: bool) -> None:
    """Shade the verdict bands (on the log-odds scale) so a score's meaning is visible at a glance."""
    for verdict, low, high in scale.spans_on_scale(spans):
        colour = BAND_COLOURS[verdict]
        if horizontal:
            fig.add_hrect(y0=low, y1=high, fillcolor=colour, opacity=0.08, line_width=0, layer="below")
        else:
            fig.add_vrect(x0=low, x1=high, fillcolor=colour, opacity=0.08, line_width=0, layer="below")


def _percent_axis(axis: dict) -> dict:
    """Plotly axis settings: the log-odds range with ticks written in per cent."""
    positions, labels = scale.ticks()
    return dict(axis, range=list(scale.LIMITS), tickvals=positions, ticktext=labels)


def _names(scores: Sequence[float], genuine_below: float | None, synthetic_above: float | None,
           names: dict[str, str] | None) -> dict[str, str]:
    """Band labels: ``names`` (a clip's, with its edges written as everywhere else), else edges written precisely
    enough that no score of ``scores`` seems to contradict them (:func:`detector.bands.band_text`)."""
    if names is not None:
        return names
    if genuine_below is not None and synthetic_above is not None:
        text = band_text(scores, genuine_below, synthetic_above)
        genuine, synthetic = text.genuine_below, text.synthetic_above
    else:
        text = clip_text(0.5, genuine_below, synthetic_above)
        genuine, synthetic = text.genuine_below, text.synthetic_above
    return {"likely_genuine": f"likely genuine (below {genuine})", "uncertain": "uncertain",
            "likely_synthetic": f"likely synthetic ({synthetic} or more)"}


def timeline_figure(windows: Sequence, genuine_below: float | None = 0.2, synthetic_above: float | None = 0.8,
                    title: str = "Score per window", marker_limit: int = 60,
                    facts: ModelFacts | None = None, names: dict[str, str] | None = None) -> go.Figure:
    """p(synthetic) of each model window, drawn across the seconds it covers, on the log-odds scale.

    ``windows`` holds objects with ``start_s``, ``end_s`` and ``p_synthetic``
    (:class:`detector.inference.WindowScore`, in seconds of the uploaded file). Each
    window is a horizontal segment with a marker at its centre in its band's colour;
    a legend names the band colours, markers at the ends of the scale are drawn whole, and clips
    with more than ``marker_limit`` windows get one line through the centres instead.
    With ``facts`` only the bands this model can reach are shaded and named; a ``None`` edge
    shades no such band. ``names`` (:meth:`detector.clip_edges.ClipEdges.band_names`) labels the
    bands with the clip's edges; each window's hover writes its score as the clip's is written.
    """
    fig = go.Figure()
    spans = scale.band_spans(genuine_below, synthetic_above, facts)
    _bands(fig, spans, horizontal=True)
    windows = list(windows)
    centres = [(w.start_s + w.end_s) / 2 for w in windows]
    scores = [w.p_synthetic for w in windows]
    heights = [scale.log_odds(p) for p in scores]
    # Each window written as a clip of that score would be, with its band named: a rounded edge in the legend
    # cannot then make a window seem to sit in the wrong band.
    labels = [f"{w.start_s:.1f}–{w.end_s:.1f} s: {clip_text(w.p_synthetic, genuine_below, synthetic_above).value} "
              f"synthetic ({BAND_WORDS[scale.band_of(w.p_synthetic, genuine_below, synthetic_above)]})" for w in windows]
    if len(windows) > marker_limit:
        fig.add_trace(go.Scatter(x=centres, y=heights, mode="lines", line=dict(color="#24292f", width=1.5),
                                 text=labels, hovertemplate="%{text}<extra></extra>", showlegend=False))
    else:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for w, height in zip(windows, heights):
            xs += [w.start_s, w.end_s, None]
            ys += [height, height, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#57606a", width=3), hoverinfo="skip",
                                 showlegend=False))
        colours = [BAND_COLOURS[scale.band_of(p, genuine_below, synthetic_above)] for p in scores]
        fig.add_trace(go.Scatter(x=centres, y=heights, mode="markers+lines", marker=dict(size=9, color=colours),
                                 line=dict(color="#57606a", width=1, dash="dot"), text=labels, cliponaxis=False,
                                 hovertemplate="%{text}<extra></extra>", showlegend=False))
    # Legend entries for the shaded bands (shapes have no legend of their own).
    labels_of = _names(scores, genuine_below, synthetic_above, names)
    for name, colour in ((labels_of[span.verdict], BAND_COLOURS[span.verdict]) for span in spans):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker=dict(size=12, symbol="square", color=colour, opacity=0.35)))
    _layout(fig, title, "Time (s)", "p(synthetic)", height=280)
    fig.update_layout(yaxis=_percent_axis(fig.layout.yaxis.to_plotly_json()), showlegend=True,
                      legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom",
                                  font=dict(size=11)))
    return fig


def histogram_bins(scores: Sequence[float], bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``scores`` in ``bins`` equal bins of the log-odds scale, and the bins' edges (log-odds)."""
    edges = np.linspace(scale.LIMITS[0], scale.LIMITS[1], bins + 1)
    counts, _ = np.histogram(np.atleast_1d(scale.log_odds(list(scores))), bins=edges)
    return counts, edges


def histogram_figure(scores: Sequence[float], genuine_below: float | None = 0.2,
                     synthetic_above: float | None = 0.8, title: str = "Scores of all files",
                     bins: int = HISTOGRAM_BINS, facts: ModelFacts | None = None,
                     missing: Sequence[str] = ()) -> go.Figure:
    """How many files scored where, on the log-odds scale, with the verdict bands shaded.

    Bins are equal on the log-odds scale, so files at 0.3 % and 3 % fall in different bars
    instead of one 0-5 % bar. With ``facts`` only the reachable bands are shaded; a ``None``
    edge shades no such band, and ``missing`` (sentences such as
    :meth:`detector.clip_edges.ClipEdges.missing`) is written under the title.
    """
    counts, edges = histogram_bins(scores, bins)
    low, high = scale.probability(edges[:-1]), scale.probability(edges[1:])
    hover = [f"{scale.short_percent(float(a))}–{scale.short_percent(float(b))}: "
             f"{n} file{'s' if n != 1 else ''}" for a, b, n in zip(low, high, counts)]
    fig = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=float(edges[1] - edges[0]),
                           marker=dict(color="#0969da", line=dict(color="white", width=1)),
                           text=hover, textposition="none", hovertemplate="%{text}<extra></extra>"))
    _bands(fig, scale.band_spans(genuine_below, synthetic_above, facts), horizontal=False)
    subtitle = " ".join(missing).replace("*", "")
    _layout(fig, title if not subtitle else f"{title}<br><sup>{subtitle}</sup>", "p(synthetic)", "Files",
            height=280)
    fig.update_layout(xaxis=_percent_axis(fig.layout.xaxis.to_plotly_json()), bargap=0.0)
    fig.update_yaxes(rangemode="tozero", dtick=1 if max(counts, default=0) <= 10 else None)
    return fig


def spectrogram_db(samples: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log power spectrogram in dB for teaching plots: (frames, bins) matrix, times (s), frequencies (Hz).

    Uses the detector's own STFT (25 ms Hann frames, 10 ms hop) so the Learn
    page shows the same kind of picture as the Detect page.
    """
    n_fft = int(2 ** np.ceil(np.log2(0.025 * sr)))
    config = FeatureConfig(sample_rate=int(sr), n_fft=n_fft)
    power = power_spectrogram(np.asarray(samples, dtype=np.float32), config)
    db = 10.0 * np.log10(power + 1e-10)
    db = np.maximum(db, db.max() - 90.0)  # a 90 dB range keeps digital silence from dominating the colours
    times = np.arange(len(db)) * config.frame_hop_s
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return db.astype(np.float32), times, freqs
