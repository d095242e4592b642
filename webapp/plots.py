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

from detector.bands import band_text
from detector.config import FeatureConfig
from detector.model_facts import BandSpan, ModelFacts
from detector.spectrum import power_spectrogram

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


def band_spans(genuine_below: float, synthetic_above: float, facts: ModelFacts | None = None) -> list[BandSpan]:
    """The bands to shade: the model's reachable ones (``facts``), else all three over [0, 1]."""
    if facts is not None:
        return facts.band_spans()
    return [BandSpan("likely_genuine", 0.0, genuine_below), BandSpan("uncertain", genuine_below, synthetic_above),
            BandSpan("likely_synthetic", synthetic_above, 1.0)]


BAND_COLOURS = {"likely_genuine": GENUINE_COLOUR, "uncertain": UNCERTAIN_COLOUR, "likely_synthetic": SYNTHETIC_COLOUR}


def _bands(fig: go.Figure, spans: Sequence[BandSpan], horizontal: bool) -> None:
    """Shade the verdict bands so a score's meaning is visible at a glance (only bands a clip can reach)."""
    for span in spans:
        colour = BAND_COLOURS[span.verdict]
        if horizontal:
            fig.add_hrect(y0=span.low, y1=span.high, fillcolor=colour, opacity=0.08, line_width=0, layer="below")
        else:
            fig.add_vrect(x0=span.low, x1=span.high, fillcolor=colour, opacity=0.08, line_width=0, layer="below")


def timeline_figure(windows: Sequence, genuine_below: float = 0.2, synthetic_above: float = 0.8,
                    title: str = "Score per window", marker_limit: int = 60,
                    facts: ModelFacts | None = None) -> go.Figure:
    """p(synthetic) of each model window, drawn across the seconds it covers.

    ``windows`` holds objects with ``start_s``, ``end_s`` and ``p_synthetic``
    (:class:`detector.inference.WindowScore`, in seconds of the uploaded file). Each
    window is a horizontal segment with a marker at its centre in its band's colour;
    a legend names the band colours, markers at 0 or 100 % are drawn whole, and clips
    with more than ``marker_limit`` windows get one line through the centres instead.
    With ``facts`` only the bands this model can reach are shaded and named.
    """
    fig = go.Figure()
    spans = band_spans(genuine_below, synthetic_above, facts)
    _bands(fig, spans, horizontal=True)
    windows = list(windows)
    centres = [(w.start_s + w.end_s) / 2 for w in windows]
    scores = [w.p_synthetic for w in windows]
    text = band_text(scores, genuine_below, synthetic_above)
    labels = [f"{w.start_s:.1f}–{w.end_s:.1f} s: {p} synthetic" for w, p in zip(windows, text.values)]
    if len(windows) > marker_limit:
        fig.add_trace(go.Scatter(x=centres, y=scores, mode="lines", line=dict(color="#24292f", width=1.5),
                                 text=labels, hovertemplate="%{text}<extra></extra>", showlegend=False))
    else:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for w in windows:
            xs += [w.start_s, w.end_s, None]
            ys += [w.p_synthetic, w.p_synthetic, None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#57606a", width=3), hoverinfo="skip",
                                 showlegend=False))
        colours = [SYNTHETIC_COLOUR if p >= synthetic_above else GENUINE_COLOUR if p < genuine_below
                   else UNCERTAIN_COLOUR for p in scores]
        fig.add_trace(go.Scatter(x=centres, y=scores, mode="markers+lines", marker=dict(size=9, color=colours),
                                 line=dict(color="#57606a", width=1, dash="dot"), text=labels, cliponaxis=False,
                                 hovertemplate="%{text}<extra></extra>", showlegend=False))
    # Legend entries for the shaded bands (shapes have no legend of their own).
    names = {"likely_genuine": f"likely genuine (below {text.genuine_below})", "uncertain": "uncertain",
             "likely_synthetic": f"likely synthetic ({text.synthetic_above} or more)"}
    for name, colour in ((names[span.verdict], BAND_COLOURS[span.verdict]) for span in spans):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker=dict(size=12, symbol="square", color=colour, opacity=0.35)))
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    _layout(fig, title, "Time (s)", "p(synthetic)", height=260)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", x=1.0, xanchor="right", y=1.02,
                                                   yanchor="bottom", font=dict(size=11)))
    return fig


def histogram_figure(scores: Sequence[float], genuine_below: float = 0.2, synthetic_above: float = 0.8,
                     title: str = "Scores of all files", bins: int = 20, facts: ModelFacts | None = None) -> go.Figure:
    """Histogram of p(synthetic) over [0, 1] with the verdict bands shaded (with ``facts``: the reachable ones)."""
    fig = go.Figure(go.Histogram(x=list(scores), xbins=dict(start=0.0, end=1.0 + 1e-9, size=1.0 / bins),
                                 marker=dict(color="#0969da", line=dict(color="white", width=1))))
    _bands(fig, band_spans(genuine_below, synthetic_above, facts), horizontal=False)
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return _layout(fig, title, "p(synthetic)", "Files", height=260)


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
