"""The Detect page's verdict card: the verdict, the bands bar, the probability, warnings, what it means, limits.

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
from detector.names import markdown_text
from detector.verdict import VERDICTS, cap_words, stretches_sentence
from webapp import figures
from webapp.model_sentences import limits_text, weakest_line

VERDICT_STYLE = {"likely_genuine": ("green", ":material/check_circle:"), "uncertain": ("orange", ":material/help:"),
                 "likely_synthetic": ("red", ":material/warning:")}


def bar_image(analysis: Analysis, detector: Detector, edges: ClipEdges) -> bytes:
    """The verdict bar PNG, drawn once per analysis per session."""
    cache = session_cache("detect_bars")
    key = (analysis.sha256, analysis.model_version)
    if key not in cache:
        remember(cache, key, figures.verdict_bar_png(edges, analysis.p_synthetic, detector.facts))
    return cache[key]


def listened_sentence(analysis: Analysis, detector: Detector) -> str:
    """How much of the recording the model heard, in words (the figures: :func:`technical_details`)."""
    whole = f"your {analysis.file_duration_s:.1f}-second recording"
    if analysis.truncated:
        return (f"The detector listened to {analysis.analysed_s:.1f} s from the start of {whole}: only the first "
                f"{detector.config.max_duration_s / 60:g} minutes of a recording are analysed.")
    skipped = analysis.file_duration_s - analysis.analysed_s >= 0.05
    return (f"The detector listened to {analysis.analysed_s:.1f} s of {whole}"
            + ("; the quiet stretches at its start and end were skipped." if skipped else ", all of it."))


def technical_details(analysis: Analysis, detector: Detector) -> str:
    """The model version, the analysed span, the file's format, what the model reads, the card's weakest groups."""
    channels = {1: "mono", 2: "stereo"}.get(analysis.channels, f"{analysis.channels} channels")
    bit_rate = f", {analysis.bit_rate / 1000:.0f} kbit/s" if analysis.bit_rate else ""
    config = detector.config
    lines = [f"- Model version `{analysis.model_version}`",
             f"- Analysed {analysis.analysed_s:.1f} s of {analysis.file_duration_s:.1f} s, from "
             f"{analysis.offset_s:.1f} s into the file (leading silence trimmed); {analysis.speech_s:.1f} s of "
             "voiced speech",
             f"- File: {markdown_text(f'{analysis.container} / {analysis.codec}')}, {analysis.original_sample_rate} Hz, "
             f"{channels}{bit_rate}",
             f"- The model reads {config.front_end.describe(config)}; the spectrogram's colour scale is "
             f"{analysis.feature_level}"]
    weakest = weakest_line(detector.version.card)
    if weakest:
        lines.append(f"- From the model card, on its test split: {weakest.removeprefix('- ')}")
    return "\n".join(lines)


def quality_section(analysis: Analysis) -> None:
    """Why the verdict was capped (in a few words) and the recording-quality warnings, as yellow boxes.

    The cap's reason comes first and short, so that on a phone it sits with the warnings right
    under the verdict; the verdict's paragraph gives it again in full.
    """
    if analysis.verdict_capped_by:
        st.markdown(f"**Capped at *{VERDICTS['uncertain'].lower()}*:** {cap_words(analysis.verdict_capped_by)}."
                    + ("  \n**Recording quality**" if analysis.warnings else ""))
    elif analysis.warnings:
        st.markdown("**Recording quality**")
    for warning in analysis.warnings:
        st.warning(warning.message, icon=":material/warning:")
    if not analysis.warnings:
        st.success("No recording-quality problems found.", icon=":material/thumb_up:")


def verdict_card(analysis: Analysis, detector: Detector) -> None:
    """Label, the bands bar, calibrated probability, synthetic stretches, cap and quality warnings, what it means, limits.

    Two rows of two columns: the verdict beside the warnings, then what it means. A phone stacks the
    columns, so there the warnings come right after the verdict, before the longer paragraph.
    """
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
        with right:
            quality_section(analysis)
        meaning, heard = st.columns([3, 2], gap="large")
        meaning.markdown(analysis.explanation)
        heard.caption(listened_sentence(analysis, detector))
        with st.expander("What this model cannot tell you"):
            st.markdown(limits_text(detector.version))
        with st.expander("Technical details"):   # the detail the plain sentences above leave out (issue 34)
            st.markdown(technical_details(analysis, detector))
