"""webapp.figures: the static charts share one time axis in file seconds and stay readable."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import encode, voice_like

from detector.verdict import WindowScore
from webapp import figures


@pytest.fixture(scope="module")
def analysis(tiny_detector):
    clip = np.concatenate([np.zeros(32000, np.float32), voice_like(6.0)])  # 2 s of silence first
    return tiny_detector.analyse(encode(clip, 16000, "wav"))


def test_rows_share_one_axis_over_the_whole_file(analysis):
    fig = figures.overview_figure(analysis, 0.3, 0.7)
    axes = fig.axes  # timeline, waveform, spectrogram (the colour bar is a child of the spectrogram)
    assert len(axes) == 3
    limits = {tuple(np.round(ax.get_xlim(), 6)) for ax in axes}
    assert limits == {(0.0, round(analysis.duration_s, 6))}
    # Same left and right edges on the page: a second in one row is the same second in the others.
    assert len({(round(ax.get_position().x0, 6), round(ax.get_position().x1, 6)) for ax in axes}) == 1
    waveform = axes[1].collections[0].get_paths()[0].vertices[:, 0]
    assert waveform.min() == pytest.approx(analysis.offset_s, abs=0.02) and analysis.offset_s > 1.9


def test_timeline_names_its_band_colours_and_keeps_markers_whole(analysis):
    fig = figures.overview_figure(analysis, 0.3, 0.7)
    timeline = fig.axes[0]
    assert [t.get_text() for t in timeline.get_legend().get_texts()] == list(figures.BAND_LABELS)
    markers = timeline.collections[-1]
    assert not markers.get_clip_on()  # a window at 100 % is drawn whole, not cut at the frame
    assert timeline.get_ylim() == pytest.approx(figures.scale.LIMITS)   # the verdict bar's log-odds scale
    assert [t.get_text() for t in timeline.get_yticklabels()] == ["0.1 %", "1 %", "10 %", "50 %", "90 %", "99 %",
                                                                  "99.9 %"]


def test_long_clips_are_a_line_not_178_markers():
    ax = figures.Figure().subplots()
    windows = [WindowScore(float(i), float(i) + 2.0, 0.5 + 0.4 * np.sin(i / 9)) for i in range(178)]
    figures.draw_timeline(ax, windows, 0.3, 0.7)
    assert len(ax.lines) == 1 and not [c for c in ax.collections if len(c.get_offsets()) == 178]


def test_synthetic_stretches_are_shaded_on_every_row(analysis):
    import dataclasses

    marked = dataclasses.replace(analysis, synthetic_spans=[(3.0, 5.0)])
    fig = figures.overview_figure(marked, 0.3, 0.7)
    for ax in fig.axes:
        assert any(abs(p.get_x() - 3.0) < 1e-9 and abs(p.get_width() - 2.0) < 1e-9 for p in ax.patches), ax


def test_heatmap_legend_uses_plain_words(analysis):
    heat = np.random.default_rng(0).standard_normal(analysis.features.shape).astype(np.float32)
    fig = figures.occlusion_figure(analysis.features, heat, analysis.feature_times, analysis.feature_axis,
                                   summary=heat.mean(axis=1), summary_label="Voice source")
    colour_bar = fig.axes[0].child_axes[0]  # the slim bar right of the heatmap
    labels = [t.get_text() for t in colour_bar.get_yticklabels()]
    assert labels == list(figures.HEAT_LABELS) and "logit" not in " ".join(labels)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["Voice source"]
    assert figures.occlusion_png(analysis.features, heat, analysis.feature_times,
                                 analysis.feature_axis).startswith(b"\x89PNG")


def test_the_colour_bar_names_what_the_front_end_draws(analysis):
    import dataclasses

    from detector.frontends import front_end

    bar = figures.overview_figure(analysis, 0.3, 0.7).axes[2].child_axes[0]
    assert bar.get_ylabel() == "level (dB)"   # a mel CNN's spectrogram is in decibels
    whisper = dataclasses.replace(analysis, feature_level=front_end("whisper").level_label)
    bar = figures.overview_figure(whisper, 0.3, 0.7).axes[2].child_axes[0]
    assert bar.get_ylabel() == "loudness (1 unit = 40 dB)"   # not decibels, and no "Whisper log-mel" jargon (issue 34)
