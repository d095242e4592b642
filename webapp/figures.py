"""Static PNG figures of one analysis (matplotlib): the verdict bar, the overview and the occlusion heatmap.

The Detect page shows them all; the HTML report embeds the overview. Scores are drawn on the
log-odds scale of :mod:`webapp.scale`, on which a 1 % band edge is plainly visible.

Why static: hovering adds nothing a legend and labels cannot say, and the first
Plotly chart of a session kept the browser busy for 4-15 s while the page looked
finished. Why one figure for timeline, waveform and spectrogram: stacked on one
shared time axis, a jump in the timeline lines up with the sound that caused it.
Every time axis is in seconds of the uploaded file (``Analysis.offset_s`` added).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server; set before any figure is made

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from detector.bands import clip_text  # noqa: E402
from detector.clip_edges import BAND_WORDS, ClipEdges  # noqa: E402
from detector.model_facts import ModelFacts  # noqa: E402
from webapp import scale  # noqa: E402
from webapp.plots import (  # noqa: E402
    BAND_COLOURS,
    SYNTHETIC_COLOUR,
    envelope,
    reduce_columns,
)

DPI = 100
WIDTH_IN = 12.0
# The overview for a phone (``compact=True``): drawn about as wide as a 390-px screen shows it (3.7 in at 100 dpi),
# at twice the pixels for its sharp screen, so 9-point type reads at about 12 px; taller rows, fewer ticks.
PHONE_WIDTH_IN, PHONE_DPI = 3.7, 200
PHONE_TICKS = (0.01, 0.1, 0.5, 0.9, 0.99)   # 1 % to 99 %: five labels fit a phone's timeline
MARKER_LIMIT = 60  # more windows than this (a minute or more of audio): a line, no markers
BAND_LABELS = ("likely genuine", "uncertain", "likely synthetic")
BAND_NAMES = {"likely_genuine": "likely genuine", "uncertain": "uncertain", "likely_synthetic": "likely synthetic"}
HEAT_LABELS = ("pushes towards\ngenuine", "no effect", "pushes towards\nsynthetic")
BAR_WIDTH_IN, BAR_HEIGHT_IN = 7.0, 1.2
BAR_TEXT_COLOURS = {"likely_genuine": "#116329", "uncertain": "#7d4e00", "likely_synthetic": "#a40e26"}  # darker: legible
BAR_LABEL_SHARE = 0.12   # a part of a band narrower than this share of the bar gets no name inside (the caption names it)


def _png(fig: Figure, dpi: int = DPI) -> bytes:
    # Fixed margins instead of a layout engine or a tight bounding box: each of those draws the
    # figure again to measure it, which tripled the time to the first chart.
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _colour_bar(fig: Figure, ax, mappable, **kwargs):
    """A colour bar in its own slim axes right of ``ax``: ``ax`` keeps its width, so rows stay aligned."""
    return fig.colorbar(mappable, cax=ax.inset_axes((1.01, 0.0, 0.015, 1.0)), **kwargs)


def _band_colour(p: float, genuine_below: float | None, synthetic_above: float | None) -> str:
    return BAND_COLOURS[scale.band_of(p, genuine_below, synthetic_above)]


def _percent_axis(ax, axis: str = "y", compact: bool = False) -> None:
    """Log-odds limits and ticks written in per cent (:mod:`webapp.scale`) on ``ax``'s x or y axis.

    ``compact`` (a phone's chart): five ticks, 1 % to 99 %, in larger type; the scale is the same.
    """
    positions, labels = scale.ticks()
    if compact:
        positions, labels = [scale.log_odds(p) for p in PHONE_TICKS], [scale.tick_label(p) for p in PHONE_TICKS]
    size = 9 if compact else 8
    if axis == "y":
        ax.set_ylim(*scale.LIMITS)
        ax.set_yticks(positions, labels, fontsize=size)
    else:
        ax.set_xlim(*scale.LIMITS)
        ax.set_xticks(positions, labels, fontsize=size)


def draw_timeline(ax, windows: Sequence, genuine_below: float | None, synthetic_above: float | None,
                  facts: ModelFacts | None = None, names: dict[str, str] | None = None,
                  compact: bool = False) -> None:
    """Score per window over the verdict bands on the log-odds scale, with a legend naming the band colours.

    Each window is a short horizontal bar over the seconds it covers; a marker at its
    centre carries the band colour. Long clips get a line through the centres
    instead, so 178 windows of a 3-minute clip stay readable. With ``facts`` only the
    bands the model can reach are shaded and named; a ``None`` edge shades no such band.
    ``names`` (band to label, :meth:`ClipEdges.band_names`) writes the edges in the legend.
    ``compact`` (a phone's chart): fewer, larger ticks and the legend in one column above the axis.
    """
    spans = scale.band_spans(genuine_below, synthetic_above, facts)
    for verdict, low, high in scale.spans_on_scale(spans):
        ax.axhspan(low, high, color=BAND_COLOURS[verdict], alpha=0.12, linewidth=0)
    centres = np.array([(w.start_s + w.end_s) / 2 for w in windows])
    probabilities = [w.p_synthetic for w in windows]
    scores = np.atleast_1d(scale.log_odds(probabilities))
    if len(windows) <= MARKER_LIMIT:
        ax.hlines(scores, [w.start_s for w in windows], [w.end_s for w in windows], color="#57606a", linewidth=2.5)
        ax.scatter(centres, scores, s=36, zorder=3, clip_on=False, edgecolors="white", linewidths=0.6,
                   c=[_band_colour(p, genuine_below, synthetic_above) for p in probabilities])
    else:
        ax.plot(centres, scores, color="#24292f", linewidth=1.2, clip_on=False)
    _percent_axis(ax, "y", compact)
    ax.margins(y=0)
    ax.set_ylabel("p(synthetic)", fontsize=9.5 if compact else None)
    labels = names or BAND_NAMES
    handles = [Patch(facecolor=BAND_COLOURS[span.verdict], alpha=0.35, label=labels.get(span.verdict,
                                                                                      BAND_NAMES[span.verdict]))
               for span in spans]
    if compact:   # three columns of band names do not fit a phone's width
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(-0.02, 1.0), ncols=1, frameon=False,
                  fontsize=9, borderaxespad=0.2, handlelength=1.2, labelspacing=0.25)
    else:
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False, fontsize=9,
                  borderaxespad=0.2)


def verdict_bar_png(edges: ClipEdges, p_synthetic: float, facts: ModelFacts | None = None) -> bytes:
    """:func:`verdict_bar_figure` as PNG bytes."""
    return _png(verdict_bar_figure(edges, p_synthetic, facts))


def verdict_bar_figure(edges: ClipEdges, p_synthetic: float, facts: ModelFacts | None = None) -> Figure:
    """One horizontal bar: the clip's verdict bands on the log-odds scale and the clip's mark on it.

    ``edges`` (:func:`detector.clip_edges.clip_edges`) says which bands the clip could get; a band
    without an edge is not drawn (:func:`verdict_bar_caption` says so). Each band wide enough is
    named inside the bar with its edge, written as everywhere else; the mark carries the probability.
    """
    fig = Figure(figsize=(BAR_WIDTH_IN, BAR_HEIGHT_IN))
    fig.subplots_adjust(left=0.03, right=0.97, bottom=0.3, top=0.64)
    ax = fig.subplots()
    ax.axvspan(*scale.LIMITS, color="#eaeef2", linewidth=0)   # scores with no band of their own (a model's floor)
    edge_text = {"likely_genuine": f"below {edges.text.genuine_below}",
                 "likely_synthetic": f"{edges.text.synthetic_above} or more"}
    mark = scale.log_odds(p_synthetic)
    for span in scale.band_spans(edges.genuine_below, edges.synthetic_above, facts):
        low, high = scale.log_odds(span.low), scale.log_odds(span.high)
        ax.axvspan(low, high, color=BAND_COLOURS[span.verdict], alpha=0.28, linewidth=0)
        if low < mark < high:   # the name goes in the wider part beside the mark, so the mark never crosses it
            low, high = (low, mark) if mark - low >= high - mark else (mark, high)
        if (high - low) / (scale.LIMITS[1] - scale.LIMITS[0]) >= BAR_LABEL_SHARE:
            words = BAND_WORDS[span.verdict] + (f"\n{edge_text[span.verdict]}" if span.verdict in edge_text else "")
            ax.text((low + high) / 2, 0.5, words, ha="center", va="center", fontsize=8.5, linespacing=1.1,
                    color=BAR_TEXT_COLOURS[span.verdict], fontweight="bold")
    ax.axvline(mark, color="#24292f", linewidth=2.2)
    ax.plot([mark], [1.0], marker="v", markersize=9, color="#24292f", clip_on=False)
    share = (mark - scale.LIMITS[0]) / (scale.LIMITS[1] - scale.LIMITS[0])
    align = "left" if share < 0.12 else "right" if share > 0.88 else "center"
    ax.annotate(f"this clip: {edges.text.value}", (mark, 1.0), xytext=(0, 8), textcoords="offset points",
                ha=align, va="bottom", fontsize=10, fontweight="bold", color="#24292f", annotation_clip=False)
    _percent_axis(ax, "x")
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return fig


def verdict_bar_caption(edges: ClipEdges, facts: ModelFacts | None = None) -> str:
    """What the bar shows in words (its text alternative), and each band it leaves out and why (Markdown)."""
    missing = edges.missing()
    if edges.genuine_below is not None and facts is not None and not facts.can_clear:
        floor = clip_text(facts.lowest, edges.genuine_below, edges.synthetic_above).value
        missing.append(f"No *likely genuine* band: this model never scores below {floor}.")
    reachable = facts.reachable if facts is not None else ("likely_genuine", "likely_synthetic")
    names = {band: name for band, name in edges.band_names().items() if band != "uncertain" and band in reachable}
    bands = f" ({'; '.join(names.values())})" if names else ""
    return " ".join([f"Where this clip's score, {edges.text.value}, falls among the verdict bands{bands}. The scale "
                     "spreads out the ends: 0.1 %, 1 % and 10 % are evenly spaced, as are 90 %, 99 % and 99.9 %.",
                     *missing])


def draw_waveform(ax, samples: np.ndarray, sample_rate: int, offset_s: float) -> None:
    """The analysed (trimmed, level-normalised) waveform, placed at its time in the file."""
    times, low, high = envelope(samples, sample_rate)
    ax.fill_between(times + offset_s, low, high, color="#0969da", linewidth=0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Amplitude")


def draw_spectrogram(ax, features: np.ndarray, times: np.ndarray, axis: np.ndarray, unit: str):
    """The model's feature matrix (spectrum rows only) as an image; returns the mappable."""
    spectrum = np.asarray(features, dtype=np.float32)[:, :len(axis)]
    matrix, columns = reduce_columns(spectrum, np.asarray(times, dtype=np.float64))
    image = ax.pcolormesh(columns, np.asarray(axis, dtype=np.float64), matrix.T, shading="nearest",
                          cmap="magma", rasterized=True)
    ax.set_ylabel("Frequency (Hz)" if unit == "Hz" else f"Feature ({unit})")
    return image


def overview_png(analysis, genuine_below: float | None, synthetic_above: float | None,
                 facts: ModelFacts | None = None, names: dict[str, str] | None = None,
                 compact: bool = False) -> bytes:
    """:func:`overview_figure` as PNG bytes (a ``compact`` one at :data:`PHONE_DPI`, for a phone's sharp screen)."""
    return _png(overview_figure(analysis, genuine_below, synthetic_above, facts, names, compact),
                PHONE_DPI if compact else DPI)


def overview_figure(analysis, genuine_below: float | None, synthetic_above: float | None,
                    facts: ModelFacts | None = None, names: dict[str, str] | None = None,
                    compact: bool = False) -> Figure:
    """Timeline (when the clip has several windows), waveform and spectrogram on one time axis.

    ``analysis`` is a :class:`detector.analysis.Analysis`. Stretches that score likely
    synthetic are shaded red across all rows; the axis spans the whole uploaded file.
    The timeline is on the verdict bar's log-odds scale (:mod:`webapp.scale`); ``names``
    labels its bands with the clip's edges. ``compact`` draws it for a phone's width
    (:data:`PHONE_WIDTH_IN`): a taller timeline, larger type, fewer ticks, no colour bar
    (the page's caption says that loud parts are bright).
    """
    with_timeline = len(analysis.windows) > 1
    rows = (["timeline"] if with_timeline else []) + ["waveform", "spectrogram"]
    if compact:
        heights, width = {"timeline": 2.2, "waveform": 0.9, "spectrogram": 1.7}, PHONE_WIDTH_IN
        top_in = 1.05 if with_timeline else 0.15   # the legend's three lines and the title sit above the timeline
        height = sum(heights[r] for r in rows) + top_in + 0.55
        margins = dict(left=0.2, right=0.96, bottom=0.5 / height, top=1 - top_in / height, hspace=0.22)
    else:
        heights, width = {"timeline": 1.9, "waveform": 1.1, "spectrogram": 2.2}, WIDTH_IN
        height = sum(heights[r] for r in rows) + 1.1
        margins = dict(left=0.07, right=0.91, bottom=0.55 / height, top=1 - 0.5 / height, hspace=0.18)
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(**margins)
    axes = fig.subplots(len(rows), 1, sharex=True, height_ratios=[heights[r] for r in rows])
    by_row = dict(zip(rows, np.atleast_1d(axes)))
    if with_timeline:
        draw_timeline(by_row["timeline"], analysis.windows, genuine_below, synthetic_above, facts, names, compact)
        by_row["timeline"].set_title("Score per window", loc="left", fontsize=10.5 if compact else 11,
                                     pad=48 if compact else 6)
    draw_waveform(by_row["waveform"], analysis.samples, analysis.sample_rate, analysis.offset_s)
    image = draw_spectrogram(by_row["spectrogram"], analysis.features, analysis.feature_times,
                             analysis.feature_axis, analysis.feature_unit)
    if compact:
        for row, ax in by_row.items():
            ax.tick_params(labelsize=9)
            ax.yaxis.label.set_fontsize(9.5)
            if row != "timeline":   # the timeline keeps its per-cent ticks
                ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
        by_row["spectrogram"].xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    else:
        _colour_bar(fig, by_row["spectrogram"], image, label=analysis.feature_level)
    for ax in by_row.values():
        for start, end in analysis.synthetic_spans:
            ax.axvspan(start, end, color=SYNTHETIC_COLOUR, alpha=0.10, linewidth=0)
    by_row["spectrogram"].set_xlim(0.0, max(analysis.duration_s, analysis.offset_s + analysis.analysed_s))
    by_row["spectrogram"].set_xlabel("Time in the uploaded file (s)", fontsize=9.5 if compact else None)
    return fig


def occlusion_png(features: np.ndarray, heat: np.ndarray, times: np.ndarray, axis: np.ndarray, unit: str = "Hz",
                  summary: np.ndarray | None = None, summary_label: str = "Voice source") -> bytes:
    """:func:`occlusion_figure` as PNG bytes."""
    return _png(occlusion_figure(features, heat, times, axis, unit, summary, summary_label))


def occlusion_figure(features: np.ndarray, heat: np.ndarray, times: np.ndarray, axis: np.ndarray, unit: str = "Hz",
                     summary: np.ndarray | None = None, summary_label: str = "Voice source") -> Figure:
    """What moved the score: red pushes towards synthetic, blue towards genuine, over a grey spectrogram.

    ``heat`` comes from :func:`detector.explain.occlusion_map`; ``summary`` (one value per
    frame) adds a strip for feature rows that are not frequencies, on the same colour scale.
    """
    frames = min(len(features), len(heat))
    times = np.asarray(times[:frames], dtype=np.float64)
    base, columns = reduce_columns(np.asarray(features[:frames], np.float32)[:, :len(axis)], times)
    effect, _ = reduce_columns(np.asarray(heat[:frames], np.float32)[:, :len(axis)], times)
    strip = None if summary is None else reduce_columns(np.asarray(summary[:frames], np.float32)[:, None], times)[0]
    limit = float(max(np.max(np.abs(effect)), 0.0 if strip is None else np.max(np.abs(strip)))) or 1.0
    rows = 2 if strip is not None else 1
    height = 3.6 if rows == 2 else 3.0
    fig = Figure(figsize=(WIDTH_IN, height))
    fig.subplots_adjust(left=0.09, right=0.86, bottom=0.55 / height, top=1 - 0.35 / height, hspace=0.08)
    axes = np.atleast_1d(fig.subplots(rows, 1, sharex=True, height_ratios=[5, 1] if rows == 2 else [1]))
    y = np.asarray(axis, dtype=np.float64)
    axes[0].pcolormesh(columns, y, base.T, shading="nearest", cmap="Greys_r", rasterized=True)
    image = axes[0].pcolormesh(columns, y, effect.T, shading="nearest", cmap="RdBu_r", vmin=-limit, vmax=limit,
                               alpha=0.6, rasterized=True)
    axes[0].set_ylabel("Frequency (Hz)" if unit == "Hz" else f"Feature ({unit})")
    axes[0].set_title("What moved the score", loc="left", fontsize=11)
    if strip is not None:
        # One row: imshow over the frames' time span (pcolormesh cannot infer a height from one row).
        step = float(columns[1] - columns[0]) if len(columns) > 1 else 0.01
        axes[1].imshow(strip.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
                       extent=(columns[0] - step / 2, columns[-1] + step / 2, -0.5, 0.5))
        axes[1].set_yticks([0.0], [summary_label])
    bar = _colour_bar(fig, axes[0], image, ticks=[-limit, 0.0, limit])
    bar.ax.set_yticklabels(HEAT_LABELS, fontsize=9)
    axes[-1].set_xlabel("Time in the uploaded file (s)")
    return fig
