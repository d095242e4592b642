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
from webapp.report import EXPLAIN_WORDS, Explanation, explained_sentence, report_dict, report_html

# The clip's last explanation, kept in the session under (sha256, model version) with the seconds the user chose
# (the slider's): it comes back with the clip when the user returns from another page, and goes into the report.
EXPLANATIONS = "detect_explanations"


def overview_image(analysis: Analysis, detector: Detector, compact: bool = False) -> bytes:
    """The timeline/waveform/spectrogram PNG, drawn once per analysis per session (``compact``: a phone's)."""
    cache = session_cache("detect_overviews")
    key = (analysis.sha256, analysis.model_version, compact)
    if key not in cache:
        with st.spinner("Drawing the charts…"):
            edges = clip_edges(analysis, detector.calibration)   # the verdict bar's bands and edge texts
            remember(cache, key, figures.overview_png(analysis, edges.genuine_below, edges.synthetic_above,
                                                      detector.facts, edges.band_names(), compact), size=6)
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
    # One image element, two pictures: the wide one, then one drawn for a phone's width (taller, larger type,
    # fewer ticks); the page's style shows the one that fits the screen (detect.py, PAGE_STYLE).
    with st.container(key="detect_overview"):
        st.image([overview_image(analysis, detector), overview_image(analysis, detector, compact=True)],
                 width="stretch")


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


def _without_timeline(text: str) -> str:
    """``text`` without its sentences about the timeline's top row (a one-window clip has no timeline)."""
    return " ".join(s for s in re.split(r"(?<=\.) ", text) if "top row" not in s)


def kept_explanation(analysis: Analysis) -> tuple[tuple[float, float], Explanation] | None:
    """(the seconds the user chose, the explanation) of the clip's last explanation in this session, or ``None``."""
    return session_cache(EXPLANATIONS).get((analysis.sha256, analysis.model_version))


def clip_explanation(analysis: Analysis) -> Explanation | None:
    """The clip's last explanation in this session (its seconds, its own score, the heatmap), or ``None``."""
    kept = kept_explanation(analysis)
    return kept[1] if kept else None


def explain(analysis: Analysis, detector: Detector, region: tuple[float, float], subset: Analysis) -> Explanation:
    """Occlusion heatmap and own score of ``subset`` (many model calls), kept as the clip's explanation.

    ``region`` is what the user chose (``subset`` holds the windows inside it): the slider starts there again.
    """
    config = detector.config
    with st.spinner("Scoring the clip with parts hidden…"):
        heat = occlusion_map(detector, subset)
        summary = summary_effect(heat, config.spectrum_bins)
        # Feature rows after the spectrum get a strip of their own: the front end names them.
        png = figures.occlusion_png(subset.features, heat, subset.feature_times, subset.feature_axis,
                                    subset.feature_unit, summary=summary,
                                    summary_label=config.front_end.extra_label or "Other features")
        explained = Explanation(subset.windows[0].start_s, subset.windows[-1].end_s, region_score(detector, subset),
                                png)
    remember(session_cache(EXPLANATIONS), (analysis.sha256, analysis.model_version), (region, explained))
    return explained


def explanation_section(analysis: Analysis, detector: Detector) -> None:
    """Occlusion heatmap of a chosen region, on demand (it costs many model calls), kept with the clip."""
    config = detector.config
    st.markdown("#### Why? Explain the verdict")
    st.caption(EXPLAIN_WORDS)
    with st.expander("Technical details"):   # how, for those who want it: the scorer's own sentence
        st.caption(_without_timeline(detector.scorer.explain_method) if len(analysis.windows) == 1
                   else detector.scorer.explain_method)
    limit_s = config.window_s + (detector.scorer.explain_windows - 1) * config.hop_s
    first, last = analysis.windows[0].start_s, analysis.windows[-1].end_s
    kept = kept_explanation(analysis)
    # The slider starts on the stretch explained last (a visit to another page resets widgets), else on the default.
    region, explained = kept if kept else (_default_region(analysis, limit_s), None)
    if last - first > config.window_s + 1e-6:
        region = st.slider(f"Seconds to explain (up to {limit_s:g} s at a time)", min_value=round(first, 1),
                           max_value=round(last, 1), value=(round(region[0], 1), round(region[1], 1)), step=0.1,
                           key=f"explain_region_{analysis.sha256[:12]}")
    try:   # the slider sends (start, end); a forged message can send anything
        subset = region_subset(analysis, detector, *region)
    except (AudioError, TypeError, ValueError) as exc:
        st.error(exc.message if isinstance(exc, AudioError) else "The region to explain must be two times in seconds.")
        return
    shown = (subset.windows[0].start_s, subset.windows[-1].end_s)
    if explained is None or (explained.start_s, explained.end_s) != shown:
        slot = st.empty()   # the button goes once its stretch is explained, as on every later rerun
        if not slot.button("Explain this region", icon=":material/search_insights:", key="explain_button"):
            return
        explained = explain(analysis, detector, region, subset)
        slot.empty()
    edges = clip_edges(analysis, detector.calibration)
    score = clip_text(explained.p_synthetic, edges.genuine_below, edges.synthetic_above)
    st.metric(f"Seconds {explained.start_s:.1f}–{explained.end_s:.1f} on their own", score.value,
              help="The stretch scored alone, as the heatmap scores it: it can differ from the same seconds in the "
                   "timeline, which scores the whole clip in one pass.")
    st.caption(explained_sentence(explained, edges))
    st.image(explained.png, width="stretch")
    if config.spectrum_bins and analysis.features.shape[1] > config.spectrum_bins and config.front_end.extra_help:
        st.caption(config.front_end.extra_help)   # the strip of the feature rows after the spectrum, in words


def downloads(analysis: Analysis, detector: Detector) -> None:
    """The shareable HTML report and the JSON with the same fields."""
    stem = PurePath(analysis.name).stem or "clip"
    explained = clip_explanation(analysis)   # the report carries the explanation once the user has asked for one
    html_column, json_column = st.columns(2)
    with html_column:
        st.download_button("Download the report (HTML)", icon=":material/description:", key="download_html",
                           data=report_html(analysis, detector.version, overview_image(analysis, detector), explained),
                           file_name=f"{stem}.report.html", mime="text/html", on_click="ignore",
                           help="One self-contained page to share or archive; print it to PDF from a browser.")
    with json_column:
        st.download_button("Download the analysis (JSON)", icon=":material/download:", key="download_json",
                           data=json.dumps(report_dict(analysis, detector.version, explained), indent=2),
                           file_name=f"{stem}.analysis.json", mime="application/json", on_click="ignore")
