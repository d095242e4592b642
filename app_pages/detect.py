"""Detect page: upload or record a clip and see whether it sounds machine-generated.

Thin by design: decoding, scoring and explaining live in ``detector.inference`` and
``detector.explain``; the figures come from ``detector.plots``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import PurePath

import streamlit as st

from detector import plots
from detector.config import UPLOAD_LIMIT_MB
from detector.errors import AudioError
from detector.explain import occlusion_map, summary_effect
from detector.inference import Analysis, Detector
from detector.names import markdown_text, safe_display_name
from app_pages._shared import (AUDIO_TYPES, current_detector, digest, known_limits, latest_source, mark_source,
                           remember, session_cache)

log = logging.getLogger("detector.app")

UPLOAD_KEY, RECORD_KEY, SOURCE_KEY = "detect_upload", "detect_record", "detect_source"
# Feature rows after the spectrum get a strip of their own in the explanation: its label and what it means.
SUMMARY_ROWS = {
    "melexc": ("Voice source", "The *Voice source* strip is what the model reads besides the spectrogram: how peaky "
                               "and how regular the voice's excitation (the buzz of the vocal folds, once the vocal "
                               "tract is filtered out) is. Vocoders that rebuild a real voice from its spectrum get "
                               "it wrong."),
    "melfine": ("Harmonics", "The *Harmonics* strip is what the model reads besides the spectrogram: how sharp the "
                             "voice's harmonics are between 1 and 8 kHz."),
}
MAX_EXPLAIN_WINDOWS = 10  # occlusion costs ~100-200 model calls per window: explain at most this many
VERDICT_STYLE = {"likely_genuine": ("green", ":material/check_circle:"), "uncertain": ("orange", ":material/help:"),
                 "likely_synthetic": ("red", ":material/warning:")}


def analyse_cached(detector: Detector, name: str, data: bytes) -> Analysis:
    """Analyse once per (file content, model version) per session; reruns reuse the result."""
    cache = session_cache("detect_analyses")
    key = (digest(data), detector.name)
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    with st.spinner(f"Analysing {markdown_text(safe_display_name(name))}…"):   # a name is text, never Markdown
        analysis = detector.analyse(data, name=name)
    return remember(cache, key, analysis)


def verdict_card(analysis: Analysis, detector: Detector) -> None:
    """Label, calibrated probability, what it means, quality warnings and the model's limits."""
    colour, icon = VERDICT_STYLE[analysis.verdict]
    with st.container(border=True):
        left, right = st.columns([3, 2], gap="large")
        with left:
            st.markdown(f"## {icon} :{colour}[{analysis.verdict_label}]")
            st.metric("Probability that the voice is synthetic", f"{analysis.p_synthetic:.0%}",
                      help="Calibrated on validation clips: among clips given about this score, "
                           "about this share were synthetic.")
            st.markdown(analysis.explanation)
            st.caption(f"Model {analysis.model_version} · analysed {analysis.analysed_s:.1f} s of "
                       f"{analysis.duration_s:.1f} s · {analysis.container}/{analysis.codec} · "
                       f"{analysis.original_sample_rate} Hz")
        with right:
            if analysis.warnings:
                st.markdown("**Recording quality**")
                for warning in analysis.warnings:
                    st.warning(warning.message, icon=":material/warning:")
            else:
                st.success("No recording-quality problems found.", icon=":material/thumb_up:")
        limits = known_limits(detector.version.card)
        with st.expander("What this model cannot tell you"):
            st.markdown(limits or "A verdict is evidence, not proof. The model only knows the kinds of "
                                  "synthetic speech it was trained on; new voice-cloning systems can fool it, "
                                  "and unusual recordings can be misjudged.")


def explanation_section(analysis: Analysis, detector: Detector, key: tuple[str, str]) -> None:
    """Occlusion heatmap on demand (it costs many model calls), kept for later reruns."""
    heats = session_cache("detect_heatmaps")
    st.markdown("#### Why? Explain the verdict")
    st.caption("Small patches of the spectrogram are hidden one at a time and the clip is scored again. "
               "Over a grey copy of the spectrogram, red regions pushed the score towards *synthetic* and "
               "blue ones towards *genuine*.")
    if key not in heats and st.button("Explain this verdict", icon=":material/search_insights:", key="explain_button"):
        subset = analysis
        if len(analysis.windows) > MAX_EXPLAIN_WINDOWS:
            # Long clips: explain the first windows only, keeping the cost to a few seconds.
            end_s = analysis.windows[MAX_EXPLAIN_WINDOWS - 1].end_s
            frames = int(round(end_s / detector.config.frame_hop_s))
            subset = dataclasses.replace(analysis, windows=analysis.windows[:MAX_EXPLAIN_WINDOWS],
                                         model_input=analysis.model_input[:MAX_EXPLAIN_WINDOWS],
                                         features=analysis.features[:frames],
                                         feature_times=analysis.feature_times[:frames])
        with st.spinner("Scoring the clip with parts hidden…"):
            remember(heats, key, (occlusion_map(detector, subset), len(subset.features)))
        st.rerun()  # draw the page again without the (now pointless) button
    if key in heats:
        heat, frames = heats[key]
        if frames < len(analysis.features):
            st.info(f"The first {frames * detector.config.frame_hop_s:.0f} s are explained (long clip).")
        summary = summary_effect(heat, detector.config.spectrum_bins)
        label, words = SUMMARY_ROWS.get(detector.config.feature, ("Other features", ""))
        st.plotly_chart(plots.occlusion_figure(analysis.features[:frames], heat, analysis.feature_times[:frames],
                                               analysis.feature_axis, analysis.feature_unit, summary=summary,
                                               summary_label=label),
                        key="occlusion_chart")
        if summary is not None and words:
            st.caption(words)


def show_analysis(analysis: Analysis, detector: Detector) -> None:
    """Everything about one analysed clip, verdict first."""
    verdict_card(analysis, detector)
    calibration = detector.calibration
    if len(analysis.windows) > 1:
        st.markdown("#### Which seconds look synthetic")
        st.caption(f"The model scores {detector.config.window_s:g}-second windows; a clip that is genuine in "
                   "some places and synthetic in others (spliced audio) shows up as a jump here.")
        st.plotly_chart(plots.timeline_figure(analysis.windows, calibration.genuine_below,
                                              calibration.synthetic_above), key="timeline_chart")
    st.markdown("#### What the model heard")
    st.plotly_chart(plots.waveform_figure(analysis.samples, analysis.sample_rate,
                                          "Waveform (trimmed and level-normalised, as analysed)"),
                    key="waveform_chart")
    st.plotly_chart(plots.spectrogram_figure(analysis.features, analysis.feature_times, analysis.feature_axis,
                                             analysis.feature_unit), key="spectrogram_chart")
    explanation_section(analysis, detector, (analysis.sha256, analysis.model_version))
    stem = PurePath(analysis.name).stem or "clip"
    st.download_button("Download this analysis (JSON)", data=json.dumps(analysis.to_dict(), indent=2),
                       file_name=f"{stem}.analysis.json", mime="application/json", icon=":material/download:",
                       key="download_json")


def render() -> None:
    """The page body."""
    st.title("Is this voice real?")
    st.markdown("Upload a recording or record one here. The detector estimates how likely it is that the "
                "voice was **generated by a machine** (text-to-speech or voice cloning).")
    detector = current_detector()
    if detector is None:
        return
    upload_column, record_column = st.columns(2, gap="large")
    with upload_column:
        st.file_uploader("Upload an audio file", type=AUDIO_TYPES, key=UPLOAD_KEY,
                         help=f"WAV, MP3, FLAC, OGG, Opus, M4A, AAC or WebM; up to {UPLOAD_LIMIT_MB} MB. "
                              f"Only the first {detector.config.max_duration_s / 60:g} minutes are analysed.",
                         on_change=mark_source, args=(SOURCE_KEY, "upload"))
    with record_column:
        st.audio_input("Or record with your microphone", key=RECORD_KEY, sample_rate=None,
                       on_change=mark_source, args=(SOURCE_KEY, "record"))
    source = latest_source(UPLOAD_KEY, RECORD_KEY, SOURCE_KEY)
    if source is None:
        st.info("Speech of at least 3 seconds gives the most reliable verdict.", icon=":material/lightbulb:")
        return
    name, data, mime = source
    st.audio(data, format=mime)
    try:
        analysis = analyse_cached(detector, name, data)
    except AudioError as exc:
        st.error(exc.message, icon=":material/block:")
        return
    except Exception as exc:  # never show a traceback to a user; the log has the details
        log.exception("analysis of %s failed", name)
        st.error(f"Sorry, this file could not be analysed because of an internal error ({type(exc).__name__}).",
                 icon=":material/block:")
        return
    try:
        show_analysis(analysis, detector)
    except Exception as exc:  # a plotting or explanation failure must not hide the verdict in a traceback
        log.exception("showing the analysis of %s failed", name)
        st.error(f"Part of the result could not be shown because of an internal error ({type(exc).__name__}).")


render()
