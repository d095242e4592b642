"""The verdict scale (issue 32, "a scale people read right"): log-odds, bands drawn only where a clip has them.

On a linear 0-100 % axis a *likely genuine* band ending at 1.08 % was a hairline; on the
log-odds scale it must take a visible share of the bar. A band the clip could not get (an
edge of ``None``) is drawn nowhere and named as missing. And a clip's probability and edges
are written one way (:func:`detector.bands.clip_text`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from detector.bands import band_text, clip_text
from detector.calibration import Calibration, ClipBands
from detector.clip_edges import clip_edges
from detector.quality import QualityWarning
from detector.verdict import WindowScore, judge
from webapp import figures, plots, scale

SHIPPED_EDGES = (0.0108, 0.93)   # about the shipped encoder model's edges


def colours_of(patches) -> set[tuple[float, ...]]:
    return {tuple(np.round(p.get_facecolor()[:3], 3)) for p in patches}


def rgb(hex_colour: str) -> tuple[float, ...]:
    from matplotlib.colors import to_rgb

    return tuple(np.round(to_rgb(hex_colour), 3))


def analysis(p: float, warnings=(), bands: ClipBands | None = None, channel: str = "wideband"):
    """A judged clip as ``Detector.analyse`` leaves it: without ``bands``, the edges the verdict rule used."""
    coded = [QualityWarning(c, "...") for c in warnings]
    if bands is None:
        bands = judge(p, coded, scale_calibration(), channel=channel).bands
    return SimpleNamespace(p_synthetic=p, warnings=coded, bands=bands, channel=channel)


def test_ticks_are_monotone_and_written_in_per_cent():
    positions, labels = scale.ticks()
    assert all(a < b for a, b in zip(positions, positions[1:]))
    assert scale.LIMITS[0] < positions[0] and positions[-1] < scale.LIMITS[1]
    assert labels == ["0.1 %", "1 %", "10 %", "50 %", "90 %", "99 %", "99.9 %"]
    assert scale.log_odds(0.0) == scale.LIMITS[0] and scale.log_odds(1.0) == scale.LIMITS[1]   # clipped, finite
    assert scale.probability(scale.log_odds(0.2)) == pytest.approx(0.2)


def test_a_one_per_cent_green_band_takes_a_visible_share_of_the_bar():
    spans = scale.band_spans(*SHIPPED_EDGES)
    assert [s.verdict for s in spans] == ["likely_genuine", "uncertain", "likely_synthetic"]
    green = spans[0]
    assert scale.width_share(green) >= 0.15        # on a linear axis: 1.08 % of the width
    assert sum(scale.width_share(s) for s in spans) == pytest.approx(1.0)
    # The drawn bar says the same: the green patch spans at least 15 % of the axis width.
    fig = figures.verdict_bar_figure(clip_edges(analysis(0.004), scale_calibration()), 0.004)
    ax = fig.axes[0]
    greens = [p for p in ax.patches if tuple(np.round(p.get_facecolor()[:3], 3)) == rgb(plots.GENUINE_COLOUR)]
    assert len(greens) == 1
    x0, x1 = greens[0].get_x(), greens[0].get_x() + greens[0].get_width()
    assert (x1 - x0) / np.diff(ax.get_xlim())[0] >= 0.15
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1 %", "1 %", "10 %", "50 %", "90 %", "99 %", "99.9 %"]


def scale_calibration() -> Calibration:
    return Calibration(genuine_below=SHIPPED_EDGES[0], synthetic_above=SHIPPED_EDGES[1])


@pytest.mark.parametrize("missing", ["likely_genuine", "likely_synthetic"])
def test_a_none_edge_draws_no_band_and_says_so(missing):
    genuine, synthetic = (None, 0.93) if missing == "likely_genuine" else (0.0108, None)
    spans = scale.band_spans(genuine, synthetic)
    assert missing not in [s.verdict for s in spans]
    assert sum(scale.width_share(s) for s in spans) == pytest.approx(1.0)   # uncertain takes the rest
    bands = ClipBands(genuine, synthetic, "noisy", per_channel=True)
    edges = clip_edges(analysis(0.3, bands=bands, channel="noisy"), scale_calibration())
    colour = plots.BAND_COLOURS[missing]
    bar = figures.verdict_bar_figure(edges, 0.3)
    assert rgb(colour) not in colours_of(bar.axes[0].patches)
    words = missing.replace("_", " ")
    assert f"No *{words}* band on noisy audio." in figures.verdict_bar_caption(edges)
    assert words not in " ".join(t.get_text() for t in bar.axes[0].texts)
    # The timeline and the histogram leave it out too.
    timeline = plots.timeline_figure([WindowScore(0.0, 2.0, 0.3), WindowScore(1.0, 3.0, 0.5)], genuine, synthetic)
    assert not [s for s in timeline.layout.shapes if s.fillcolor == colour]
    assert not [t for t in timeline.data if t.name and t.name.startswith(words)]
    histogram = plots.histogram_figure([0.3, 0.5], genuine, synthetic, missing=edges.missing())
    assert not [s for s in histogram.layout.shapes if s.fillcolor == colour]
    assert f"No {words} band on noisy audio." in histogram.layout.title.text
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    figures.draw_timeline(ax, [WindowScore(0.0, 2.0, 0.3)], genuine, synthetic)
    assert rgb(colour) not in colours_of(ax.patches)


def test_the_clip_mark_is_where_the_clip_scores():
    edges = clip_edges(analysis(0.0036), scale_calibration())
    ax = figures.verdict_bar_figure(edges, 0.0036).axes[0]
    mark = ax.lines[0].get_xdata()[0]
    assert mark == pytest.approx(scale.log_odds(0.0036))
    assert any(t.get_text() == "this clip: 0.4 %" for t in ax.texts)


def test_clip_text_is_band_text_with_both_edges_and_handles_missing_ones():
    for p in (0.0, 0.0036, 0.0109, 0.5, 0.9342, 0.99999, 1.0):
        text = band_text([p], 0.010831643833289247, 0.9343209950727625)
        written = clip_text(p, 0.010831643833289247, 0.9343209950727625)
        assert (written.value, written.genuine_below, written.synthetic_above) == (
            text.values[0], text.genuine_below, text.synthetic_above)
    alone = clip_text(0.0036, None, 0.9343209950727625)
    assert alone.genuine_below is None and alone.value == "0.4 %" and alone.synthetic_above == "93.4 %"
    assert clip_text(0.011, 0.0108, None).value == "1.10 %"   # still never seems below the edge it is above
    assert clip_text(0.00001, None, None).value == "0.001 %"   # never "0 %"
    assert clip_text(0.0000001, None, None).value == "< 0.0001 %"
    with pytest.raises(ValueError):
        clip_text(1.5, None, 0.9)


def test_a_version_without_per_class_bands_shows_no_green_band_where_it_withholds_the_green_verdict():
    wide = clip_edges(analysis(0.0036), scale_calibration())
    assert wide.genuine_below == SHIPPED_EDGES[0] and wide.missing() == []
    narrow = clip_edges(analysis(0.0036, warnings=["narrow_band"], channel="narrowband"), scale_calibration())
    assert narrow.genuine_below is None and narrow.synthetic_above == SHIPPED_EDGES[1]
    assert narrow.missing() == ["No *likely genuine* band on telephone-quality audio."]
    assert narrow.text.value == "0.4 %" and narrow.summary() == (
        "likely synthetic: 93.0 % or more; no likely genuine band on telephone-quality audio")
    # The number reads as in the verdict's sentence, which compares it with the withheld edge too.
    above = clip_edges(analysis(0.011, warnings=["narrow_band"], channel="narrowband"), scale_calibration())
    assert above.text.value == band_text([0.011], *SHIPPED_EDGES).values[0] == "1.10 %"
    # Per-class bands speak for themselves: the clip's class's edges, whatever the warnings.
    per_class = ClipBands(0.004, 0.95, "narrowband", per_channel=True)
    edges = clip_edges(analysis(0.0036, warnings=["narrow_band"], bands=per_class, channel="narrowband"),
                       scale_calibration())
    assert (edges.genuine_below, edges.synthetic_above) == (0.004, 0.95)


def test_a_model_that_cannot_clear_shows_no_green_band_and_says_why():
    facts = SimpleNamespace(lowest=0.189, highest=1.0, can_clear=False, reachable=("uncertain", "likely_synthetic"))
    calibration = SimpleNamespace(genuine_below=0.149, synthetic_above=0.927)
    edges = clip_edges(analysis(0.19), calibration)
    assert "likely_genuine" not in [s.verdict for s in scale.band_spans(0.149, 0.927, facts)]
    assert rgb(plots.GENUINE_COLOUR) not in colours_of(figures.verdict_bar_figure(edges, 0.19, facts).axes[0].patches)
    caption = figures.verdict_bar_caption(edges, facts)
    assert "No *likely genuine* band: this model never scores below 19 %." in caption
    assert "likely genuine: below" not in caption and "likely synthetic: 93 % or more" in caption
