"""The Detect page's verdict card: the verdict, the bands bar, the probability, what it means, warnings, limits.

The bar (:func:`webapp.figures.verdict_bar_png`) sits right under the verdict, before any
other chart: the clip's verdict bands on a log-odds scale with the clip's mark, so a
*likely genuine* band that ends at 1.1 % is plainly visible. Its numbers are the ones every
front end writes for this clip (:func:`detector.clip_edges.clip_edges`).
"""

from __future__ import annotations

import streamlit as st

from app_pages._shared import remember, session_cache
from detector.analysis import Analysis
from detector.clip_edges import ClipEdges, clip_edges
from detector.inference import Detector
from detector.verdict import stretches_sentence
from webapp import figures
from webapp.model_sentences import limits_text

VERDICT_STYLE = {"likely_genuine": ("green", ":material/check_circle:"), "uncertain": ("orange", ":material/help:"),
                 "likely_synthetic": ("red", ":material/warning:")}


def bar_image(analysis: Analysis, detector: Detector, edges: ClipEdges) -> bytes:
    """The verdict bar PNG, drawn once per analysis per session."""
    cache = session_cache("detect_bars")
    key = (analysis.sha256, analysis.model_version)
    if key not in cache:
        remember(cache, key, figures.verdict_bar_png(edges, analysis.p_synthetic, detector.facts))
    return cache[key]


def verdict_card(analysis: Analysis, detector: Detector) -> None:
    """Label, the bands bar, calibrated probability, what it means, synthetic stretches, quality warnings, limits."""
    colour, icon = VERDICT_STYLE[analysis.verdict]
    edges = clip_edges(analysis, detector.calibration)
    with st.container(border=True):
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.markdown(f"## {icon} :{colour}[{analysis.verdict_label}]")
            st.image(bar_image(analysis, detector, edges), width="stretch")
            st.caption(figures.verdict_bar_caption(edges, detector.facts))
            st.metric("Probability that the voice is synthetic", edges.text.value,
                      help="Calibrated on validation clips: among clips given about this score, "
                           "about this share were synthetic.")
            stretches = stretches_sentence(analysis.synthetic_spans, analysis.spliced, analysis.verdict)
            if stretches:  # a spliced clip must be impossible to miss, whatever the whole-clip verdict
                st.markdown(f"#### :material/content_cut: :red[{stretches}]" if analysis.spliced else f"**{stretches}**")
            st.markdown(analysis.explanation)
            st.caption(f"Model {analysis.model_version} · analysed {analysis.analysed_s:.1f} s of "
                       f"{analysis.file_duration_s:.1f} s, from {analysis.offset_s:.1f} s (leading silence trimmed) · "
                       f"{analysis.container}/{analysis.codec} · {analysis.original_sample_rate} Hz")
        with right:
            if analysis.warnings:
                st.markdown("**Recording quality**")
                for warning in analysis.warnings:
                    st.warning(warning.message, icon=":material/warning:")
            else:
                st.success("No recording-quality problems found.", icon=":material/thumb_up:")
        with st.expander("What this model cannot tell you"):
            st.markdown(limits_text(detector.version))
