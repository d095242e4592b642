"""Plotly figure builders: axes in seconds and Hz, long inputs reduced, verdict bands drawn."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from audio_fixtures import voice_like

from detector.verdict import WindowScore
from webapp import plots


def test_waveform_of_short_clip_keeps_every_sample():
    samples = np.sin(np.linspace(0, 20, 1000)).astype(np.float32)
    fig = plots.waveform_figure(samples, 1000)
    assert len(fig.data) == 1
    np.testing.assert_allclose(fig.data[0].y, samples)
    assert fig.data[0].x[-1] == pytest.approx(0.999)
    assert fig.layout.xaxis.title.text == "Time (s)"


def test_waveform_of_long_clip_is_an_envelope_with_true_extremes():
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16000 * 600)).clip(-0.8, 0.8).astype(np.float32)
    samples[123_456] = 0.999
    fig = plots.waveform_figure(samples, 16000)
    high, low = fig.data
    assert len(high.x) <= plots.MAX_POINTS
    assert max(high.y) == pytest.approx(0.999) and min(low.y) == pytest.approx(samples.min())
    assert high.x[-1] == pytest.approx(600, abs=1.0)


def test_spectrogram_axes_are_seconds_and_hz():
    features = np.random.default_rng(1).normal(size=(300, 40)).astype(np.float32)
    times = np.arange(300) * 0.01
    axis = np.geomspace(50, 7800, 40)
    fig = plots.spectrogram_figure(features, times, axis, "Hz")
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    assert np.asarray(heat.z).shape == (40, 300)  # bins up, time across
    np.testing.assert_allclose(heat.y, axis)  # non-uniform (mel) frequencies kept
    np.testing.assert_allclose(heat.x, times)
    assert fig.layout.yaxis.title.text == "Frequency (Hz)"
    assert fig.layout.xaxis.title.text == "Time (s)"
    # The colour scale's darkest stop is plain rgb (see SPECTRUM_SCALE's comment).
    assert heat.colorscale[0][1] == "rgb(0, 0, 4)"


def test_spectrogram_of_lfcc_names_its_unit():
    fig = plots.spectrogram_figure(np.zeros((10, 20)), np.arange(10) * 0.01, np.arange(20), "coefficient")
    assert fig.layout.yaxis.title.text == "Feature (coefficient)"


def test_feature_bins_beyond_the_axis_are_not_drawn():
    """melfine: mel bins, then fine-structure bands that are not spectrum; only the first are drawn."""
    features = np.random.default_rng(2).normal(size=(50, 108)).astype(np.float32)
    axis = np.geomspace(50, 7800, 80)
    times = np.arange(50) * 0.01
    assert np.asarray(plots.spectrogram_figure(features, times, axis).data[0].z).shape == (80, 50)
    heat = plots.occlusion_figure(features, np.ones_like(features), times, axis)
    assert [np.asarray(trace.z).shape for trace in heat.data] == [(80, 50), (80, 50)]


def test_summary_rows_get_their_own_strip_on_the_same_colour_scale():
    """melexc: the excitation rows' effect is drawn as a strip under the spectrogram, not hidden."""
    features = np.random.default_rng(2).normal(size=(50, 88)).astype(np.float32)
    axis = np.geomspace(50, 7800, 80)
    heat = np.zeros((50, 88))
    heat[10:20, 80:] = -3.0   # the summary rows pushed towards genuine, more than any spectrum patch
    heat[30:40, 5:9] = 1.0
    fig = plots.occlusion_figure(features, heat, np.arange(50) * 0.01, axis, summary=heat[:, 80:].mean(axis=1))
    base, effect, strip = fig.data
    assert np.asarray(effect.z).shape == (80, 50) and np.asarray(strip.z).shape == (1, 50)
    assert list(strip.y) == ["Voice source"]
    assert strip.zmin == effect.zmin == pytest.approx(-3.0) and strip.zmax == effect.zmax == pytest.approx(3.0)
    assert np.asarray(strip.z)[0, 10:20] == pytest.approx(-3.0)


def test_long_spectrogram_is_averaged_down():
    frames = 60_000  # ten minutes at a 10 ms hop
    features = np.tile(np.arange(frames, dtype=np.float32)[:, None], (1, 8))
    times = np.arange(frames) * 0.01
    fig = plots.spectrogram_figure(features, times, np.arange(8) * 1000.0)
    z = np.asarray(fig.data[0].z)
    assert z.shape[1] <= plots.MAX_COLUMNS
    # Averaging keeps time and values aligned: column k averages the frames it covers.
    assert fig.data[0].x[-1] == pytest.approx(z[0, -1] * 0.01)


def test_occlusion_overlay_is_symmetric_around_zero():
    features = np.random.default_rng(2).normal(size=(200, 16))
    heat = np.zeros((200, 16))
    heat[50:60, 3:5] = 2.0
    heat[100:110, 8:9] = -0.5
    fig = plots.occlusion_figure(features, heat, np.arange(200) * 0.01, np.arange(16) * 500.0)
    base, effect = fig.data
    assert base.colorscale[0][1] != effect.colorscale[0][1]
    assert effect.zmid == 0 and effect.zmax == pytest.approx(2.0) and effect.zmin == pytest.approx(-2.0)
    assert 0 < effect.opacity < 1
    assert list(effect.colorbar.ticktext) == ["pushes towards<br>genuine", "no effect", "pushes towards<br>synthetic"]


def test_timeline_marks_each_window_with_its_verdict_colour():
    windows = [WindowScore(0.0, 2.0, 0.1), WindowScore(1.0, 3.0, 0.5), WindowScore(2.0, 4.0, 0.95)]
    fig = plots.timeline_figure(windows, genuine_below=0.3, synthetic_above=0.7)
    segments, markers = fig.data[:2]
    assert list(markers.x) == [1.0, 2.0, 3.0]
    assert list(markers.y) == [0.1, 0.5, 0.95]
    assert list(markers.marker.color) == [plots.GENUINE_COLOUR, plots.UNCERTAIN_COLOUR, plots.SYNTHETIC_COLOUR]
    assert [x for x in segments.x if x is not None] == [0.0, 2.0, 1.0, 3.0, 2.0, 4.0]
    bands = [(s.y0, s.y1) for s in fig.layout.shapes]
    assert bands == [(0.0, 0.3), (0.3, 0.7), (0.7, 1.0)]
    assert markers.cliponaxis is False  # a window at 100 % is not cut in half by the frame
    assert list(markers.text)[2] == "2.0–4.0 s: 95 % synthetic"


def test_timeline_legend_names_the_band_colours_with_their_edges():
    fig = plots.timeline_figure([WindowScore(0.0, 2.0, 0.0397)], 0.03940867602806927, 0.9193973588832344)
    assert fig.layout.showlegend
    assert [t.name for t in fig.data if t.showlegend is not False] == [
        "likely genuine (below 3.9 %)", "uncertain", "likely synthetic (91.9 % or more)"]
    assert fig.data[1].text[0] == "0.0–2.0 s: 4.0 % synthetic"  # never reads as below the 3.9 % edge


def test_long_timeline_is_one_line_without_markers():
    windows = [WindowScore(float(i), float(i) + 2.0, 0.5) for i in range(178)]  # a 3-minute clip
    line = plots.timeline_figure(windows).data[0]
    assert line.mode == "lines" and len(line.x) == 178


def test_histogram_covers_zero_to_one_with_bands():
    fig = plots.histogram_figure([0.05, 0.5, 0.97, 0.98], 0.2, 0.8)
    hist = fig.data[0]
    assert list(hist.x) == [0.05, 0.5, 0.97, 0.98]
    assert hist.xbins.start == 0 and hist.xbins.size == pytest.approx(0.05)
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(0.0, 0.2), (0.2, 0.8), (0.8, 1.0)]


def test_spectrogram_db_axis_and_range():
    clip = voice_like(1.0, rate=8000)
    db, times, freqs = plots.spectrogram_db(clip, 8000)
    assert db.shape == (len(times), len(freqs))
    assert freqs[-1] == pytest.approx(4000.0)
    assert times[1] - times[0] == pytest.approx(0.01)
    assert db.max() - db.min() <= 90.0 + 1e-3
    # The voice's 140 Hz fundamental is the loudest low-frequency bin.
    low = db[:, freqs < 400].mean(axis=0)
    assert abs(freqs[np.argmax(low)] - 140.0) < 20


def test_comparison_figures_share_one_colour_range():
    loud = voice_like(1.0)
    quiet = 0.1 * loud
    figs = plots.comparison_figures([("a", loud), ("b", quiet)], 16000)
    assert [f.data[0].zmax for f in figs] == [figs[0].data[0].zmax] * 2
    assert figs[0].data[0].zmax - figs[0].data[0].zmin == pytest.approx(80.0)
    assert plots.comparison_figures([], 16000) == []
