"""Plotly figure builders: axes in seconds and Hz, long inputs reduced, verdict bands drawn."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import voice_like

from detector.verdict import WindowScore
from webapp import plots, scale


def test_a_short_clip_keeps_every_sample():
    samples = np.sin(np.linspace(0, 20, 1000)).astype(np.float32)
    times, low, high = plots.envelope(samples, 1000)
    np.testing.assert_allclose(high, samples)
    np.testing.assert_allclose(low, samples)
    assert times[-1] == pytest.approx(0.999)


def test_a_long_clip_is_an_envelope_with_true_extremes():
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16000 * 600)).clip(-0.8, 0.8).astype(np.float32)
    samples[123_456] = 0.999
    times, low, high = plots.envelope(samples, 16000)
    assert len(times) <= plots.MAX_POINTS
    assert max(high) == pytest.approx(0.999) and min(low) == pytest.approx(samples.min())
    assert times[-1] == pytest.approx(600, abs=1.0)


def test_long_spectrogram_is_averaged_down():
    frames = 60_000  # ten minutes at a 10 ms hop
    features = np.tile(np.arange(frames, dtype=np.float32)[:, None], (1, 8))
    matrix, columns = plots.reduce_columns(features, np.arange(frames) * 0.01)
    assert len(matrix) <= plots.MAX_COLUMNS
    # Averaging keeps time and values aligned: column k averages the frames it covers.
    assert columns[-1] == pytest.approx(matrix[-1, 0] * 0.01)


def test_timeline_marks_each_window_with_its_verdict_colour():
    windows = [WindowScore(0.0, 2.0, 0.1), WindowScore(1.0, 3.0, 0.5), WindowScore(2.0, 4.0, 0.95)]
    fig = plots.timeline_figure(windows, genuine_below=0.3, synthetic_above=0.7)
    segments, markers = fig.data[:2]
    assert list(markers.x) == [1.0, 2.0, 3.0]
    assert list(markers.y) == pytest.approx([scale.log_odds(p) for p in (0.1, 0.5, 0.95)])   # the log-odds scale
    assert list(markers.marker.color) == [plots.GENUINE_COLOUR, plots.UNCERTAIN_COLOUR, plots.SYNTHETIC_COLOUR]
    assert [x for x in segments.x if x is not None] == [0.0, 2.0, 1.0, 3.0, 2.0, 4.0]
    bands = [edge for s in fig.layout.shapes for edge in (s.y0, s.y1)]
    assert bands == pytest.approx([scale.LIMITS[0], scale.log_odds(0.3), scale.log_odds(0.3), scale.log_odds(0.7),
                                   scale.log_odds(0.7), scale.LIMITS[1]])
    assert list(fig.layout.yaxis.ticktext) == ["0.1 %", "1 %", "10 %", "50 %", "90 %", "99 %", "99.9 %"]
    assert markers.cliponaxis is False  # a window at the end of the scale is not cut in half by the frame
    assert list(markers.text)[2] == "2.0–4.0 s: 95 % synthetic (likely synthetic)"


def test_timeline_legend_names_the_band_colours_with_their_edges():
    fig = plots.timeline_figure([WindowScore(0.0, 2.0, 0.0397)], 0.03940867602806927, 0.9193973588832344)
    assert fig.layout.showlegend
    assert [t.name for t in fig.data if t.showlegend is not False] == [
        "likely genuine (below 3.9 %)", "uncertain", "likely synthetic (91.9 % or more)"]
    assert fig.data[1].text[0] == "0.0–2.0 s: 4.0 % synthetic (uncertain)"  # never reads as below the 3.9 % edge


def test_long_timeline_is_one_line_without_markers():
    windows = [WindowScore(float(i), float(i) + 2.0, 0.5) for i in range(178)]  # a 3-minute clip
    line = plots.timeline_figure(windows).data[0]
    assert line.mode == "lines" and len(line.x) == 178


def test_histogram_bins_are_equal_on_the_log_odds_scale_with_bands():
    # Seven genuine-looking files: on 0-100 % bins of 5 % they were one bar; here they spread over several.
    scores = [0.0009, 0.0021, 0.0036, 0.0044, 0.005, 0.02, 0.97]
    fig = plots.histogram_figure(scores, 0.0108, 0.934)
    bars = fig.data[0]
    assert sum(bars.y) == len(scores) and sum(1 for n in bars.y if n) >= 4
    assert min(bars.x) > scale.LIMITS[0] and max(bars.x) < scale.LIMITS[1]
    edges = [scale.LIMITS[0], scale.log_odds(0.0108), scale.log_odds(0.934), scale.LIMITS[1]]
    assert [x for s in fig.layout.shapes for x in (s.x0, s.x1)] == pytest.approx(
        [edges[0], edges[1], edges[1], edges[2], edges[2], edges[3]])
    assert list(fig.layout.xaxis.ticktext)[:3] == ["0.1 %", "1 %", "10 %"]
    assert any(text.endswith(": 1 file") for text in bars.text)   # hover in per cent, not log-odds


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
