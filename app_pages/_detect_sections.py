"""Sections of the Detect page: the charts, the explanation and the downloads (the card: ``_verdict_card``).

Kept out of ``detect.py`` so that page reads top to bottom; everything that is
not Streamlit lives in ``detector/`` (wording in ``detector.verdict``, images in
``webapp.figures``, the report in ``webapp.report``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import PurePath

import streamlit as st

from app_pages._shared import remember, session_cache
from detector.analysis import Analysis
from detector.bands import clip_text
from detector.clip_edges import clip_edges
from detector.errors import AudioError
from detector.explain import check_region, occlusion_map, region_score, summary_effect
from detector.inference import Detector
from webapp import figures
from webapp.report import report_dict, report_html


def overview_image(analysis: Analysis, detector: Detector) -> bytes:
    """The timeline/waveform/spectrogram PNG, drawn once per analysis per session."""
    cache = session_cache("detect_overviews")
    key = (analysis.sha256, analysis.model_version)
    if key not in cache:
        with st.spinner("Drawing the charts…"):
            edges = clip_edges(analysis, detector.calibration)   # the verdict bar's bands and edge texts
            remember(cache, key, figures.overview_png(analysis, edges.genuine_below, edges.synthetic_above,
                                                      detector.facts, edges.band_names()))
    return cache[key]


def charts_caption(analysis: Analysis, detector: Detector) -> str:
    """What the overview image shows, in words: the timeline only when one is drawn (a clip of several windows)."""
    audio = ("Times are seconds of your file, as in the player; the waveform and spectrogram show the audio as "
             "analysed (silence at the ends trimmed, level evened out), loud parts bright in the spectrogram.")
    if len(analysis.windows) > 1:
        return (f"{detector.scorer.timeline_scope} a clip that is genuine in some places and synthetic in others "
                "(spliced audio) shows up as a jump in the top row, and the stretches scoring likely synthetic are "
                f"shaded red. {audio}")
    window = f"{detector.config.window_s:g} seconds"
    return (f"The clip is one window long (about {window} of sound or less), so there is no timeline: the verdict "
            f"above is its only score. Below are its waveform and spectrogram. {audio}")


def charts_section(analysis: Analysis, detector: Detector) -> None:
    """Score per window, waveform and spectrogram stacked on one time axis (a static image)."""
    st.markdown("#### Which seconds look synthetic" if len(analysis.windows) > 1 else "#### What the model heard")
    st.caption(charts_caption(analysis, detector))
    st.image(overview_image(analysis, detector), width="stretch")


def _default_region(analysis: Analysis, limit_s: float) -> tuple[float, float]:
    """The first stretch scoring likely synthetic, else the start of the clip, at most ``limit_s`` long."""
    start = analysis.synthetic_spans[0][0] if analysis.synthetic_spans else analysis.windows[0].start_s
    return start, min(start + limit_s, analysis.windows[-1].end_s)


def region_subset(analysis: Analysis, detector: Detector, start_s: float, end_s: float) -> Analysis:
    """The windows inside [start_s, end_s] (at most the scorer's ``explain_windows``, at least one) as an Analysis.

    Raises
    ------
    AudioError
        When the region is reversed, empty or outside the clip (:func:`detector.explain.check_region`).
    """
    start_s, end_s = check_region(start_s, end_s, analysis.windows[0].start_s, analysis.windows[-1].end_s)
    inside = [i for i, w in enumerate(analysis.windows) if w.start_s >= start_s - 1e-6 and w.end_s <= end_s + 1e-6]
    if not inside:  # a region narrower than a window: the window that overlaps it most
        overlap = [min(w.end_s, end_s) - max(w.start_s, start_s) for w in analysis.windows]
        inside = [max(range(len(overlap)), key=overlap.__getitem__)]
    inside = inside[:detector.scorer.explain_windows]
    first, last = analysis.windows[inside[0]], analysis.windows[inside[-1]]
    hop = detector.scorer.feature_hop_s   # the drawn features' hop: a CNN's frames, or the encoder's log-mel
    f0 = int(round((first.start_s - analysis.offset_s) / hop))
    f1 = f0 + int(round((last.end_s - first.start_s) / hop))
    return dataclasses.replace(analysis, windows=[analysis.windows[i] for i in inside],
                               model_input=None if analysis.model_input is None else   # encoder versions: none
                               analysis.model_input[inside[0]:inside[-1] + 1],
                               features=analysis.features[f0:f1], feature_times=analysis.feature_times[f0:f1],
                               offset_s=first.start_s)


# What Explain does, in words a reporter would use; the scorer's exact method sits in "Technical details".
EXPLAIN_WORDS = ("The detector hides small pieces of the sound picture (the spectrogram) one at a time and scores the "
                 "stretch again. Red marks pieces that made the voice sound more *synthetic*, blue pieces that made "
                 "it sound more *genuine*.")


def _without_timeline(text: str) -> str:
    """``text`` without its sentences about the timeline's top row (a one-window clip has no timeline)."""
    return " ".join(s for s in re.split(r"(?<=\.) ", text) if "top row" not in s)


def explanation_section(analysis: Analysis, detector: Detector) -> None:
    """Occlusion heatmap of a chosen region, on demand (it costs many model calls), kept for later reruns."""
    heats = session_cache("detect_heatmaps")
    config = detector.config
    st.markdown("#### Why? Explain the verdict")
    st.caption(EXPLAIN_WORDS)
    with st.expander("Technical details"):   # how, for those who want it: the scorer's own sentence
        st.caption(_without_timeline(detector.scorer.explain_method) if len(analysis.windows) == 1
                   else detector.scorer.explain_method)
    limit_s = config.window_s + (detector.scorer.explain_windows - 1) * config.hop_s
    first, last = analysis.windows[0].start_s, analysis.windows[-1].end_s
    region = _default_region(analysis, limit_s)
    if last - first > config.window_s + 1e-6:
        region = st.slider(f"Seconds to explain (up to {limit_s:g} s at a time)", min_value=round(first, 1),
                           max_value=round(last, 1), value=(round(region[0], 1), round(region[1], 1)), step=0.1,
                           key=f"explain_region_{analysis.sha256[:12]}")
    try:   # the slider sends (start, end); a forged message can send anything
        subset = region_subset(analysis, detector, *region)
    except (AudioError, TypeError, ValueError) as exc:
        st.error(exc.message if isinstance(exc, AudioError) else "The region to explain must be two times in seconds.")
        return
    key = (analysis.sha256, analysis.model_version, subset.windows[0].start_s, subset.windows[-1].end_s)
    if key not in heats and st.button("Explain this region", icon=":material/search_insights:",
                                      key="explain_button"):
        with st.spinner("Scoring the clip with parts hidden…"):
            remember(heats, key, (occlusion_map(detector, subset), subset, region_score(detector, subset)))
    if key in heats:
        heat, shown, score = heats[key]
        edges = clip_edges(analysis, detector.calibration)
        score_text = clip_text(score, edges.genuine_below, edges.synthetic_above)
        st.caption(f"Explained: seconds {shown.windows[0].start_s:.1f}–{shown.windows[-1].end_s:.1f}, which score "
                   f"{score_text.value} as the heatmap scores them.")
        summary = summary_effect(heat, config.spectrum_bins)
        # Feature rows after the spectrum get a strip of their own: the front end names them.
        label, words = config.front_end.extra_label or "Other features", config.front_end.extra_help
        st.image(figures.occlusion_png(shown.features, heat, shown.feature_times, shown.feature_axis,
                                       shown.feature_unit, summary=summary, summary_label=label), width="stretch")
        if summary is not None and words:
            st.caption(words)


def downloads(analysis: Analysis, detector: Detector) -> None:
    """The shareable HTML report and the JSON with the same fields."""
    stem = PurePath(analysis.name).stem or "clip"
    html_column, json_column = st.columns(2)
    with html_column:
        st.download_button("Download the report (HTML)", icon=":material/description:", key="download_html",
                           data=report_html(analysis, detector.version, overview_image(analysis, detector)),
                           file_name=f"{stem}.report.html", mime="text/html",
                           help="One self-contained page to share or archive; print it to PDF from a browser.")
    with json_column:
        st.download_button("Download the analysis (JSON)", icon=":material/download:", key="download_json",
                           data=json.dumps(report_dict(analysis, detector.version), indent=2),
                           file_name=f"{stem}.analysis.json", mime="application/json")
