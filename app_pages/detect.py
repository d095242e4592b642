"""Detect page: upload or record a clip and see whether it sounds machine-generated.

Thin by design: decoding, scoring and explaining live in ``detector/``; the page's
verdict card is in ``app_pages/_verdict_card.py``, the other sections in ``app_pages/_detect_sections.py``.
"""

from __future__ import annotations

import logging

import streamlit as st

from app_pages._detect_sections import charts_section, downloads, explanation_section
from app_pages._shared import (
    AUDIO_TYPES,
    PHONE_MAX_PX,
    current_detector,
    digest,
    latest_or_kept,
    remember,
    session_cache,
)
from app_pages._verdict_card import verdict_card
from detector.analysis import Analysis
from detector.config import UPLOAD_LIMIT_TEXT
from detector.errors import AudioError
from detector.inference import Detector
from detector.names import markdown_text, safe_display_name
from detector.verdict import RELIABLE_SPEECH_S

log = logging.getLogger("detector.app")

UPLOAD_KEY, RECORD_KEY, SOURCE_KEY = "detect_upload", "detect_record", "detect_source"
# The last clip this session analysed, (name, bytes, mime): widgets lose their value when the user
# opens another page, so the page shows this again on return instead of an empty uploader.
LAST_KEY = "detect_last"
# On a phone (columns stacked) the verdict card moves up under the title, above the inputs, so the verdict, why
# it was capped and the first warning show without scrolling; the overview image shows the picture drawn for the
# screen's width. CSS ``order`` moves boxes on screen only: the page's order (and a screen reader's) stays.
PAGE_STYLE = f"""<style>
.st-key-detect_overview [data-testid="stImageContainer"]:nth-child(2) {{ display: none; }}
@media (max-width: {PHONE_MAX_PX}px) {{
  [data-testid="stMainBlockContainer"] {{ padding-top: 4rem; }}
  [data-testid="stLayoutWrapper"]:has(> .st-key-detect_title) {{ order: -2; }}
  [data-testid="stLayoutWrapper"]:has(> .st-key-detect_verdict) {{ order: -1; }}
  .st-key-detect_title h1 {{ font-size: 1.6rem; padding-bottom: 0; }}
  .st-key-detect_verdict [data-testid="stMetricValue"] {{ font-size: 1.75rem; }}
  .st-key-detect_verdict [data-testid="stHorizontalBlock"] {{ row-gap: 1rem; }}
  .st-key-detect_overview [data-testid="stImageContainer"]:nth-child(1) {{ display: none; }}
  .st-key-detect_overview [data-testid="stImageContainer"]:nth-child(2) {{ display: block; }}
}}
.st-key-detect_scroll {{ display: none; }}
</style>"""
# There the inputs come after the card, so a user who picked a new file further down is taken back to the top,
# where its verdict now is: once per clip and model (the element is drawn again when the page around it changes,
# as when Explain adds its heatmap, and must not jump then).
SCROLL_SCRIPT = """<script>
if (window.detectScrolledTo !== "{key}") {{
  window.detectScrolledTo = "{key}";
  if (window.matchMedia("(max-width: {px}px)").matches) {{
    for (let box = document.querySelector(".st-key-detect_verdict"); box; box = box.parentElement) box.scrollTop = 0;
  }}
}}
</script>"""


def input_changed(kind: str) -> None:
    """Remember which input moved last; a cleared input also forgets the kept clip."""
    st.session_state[SOURCE_KEY] = kind
    if st.session_state.get(UPLOAD_KEY) is None and st.session_state.get(RECORD_KEY) is None:
        st.session_state.pop(LAST_KEY, None)


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


def current_clip() -> tuple[str, bytes, str] | None:
    """The clip in the inputs, or the one kept from before the user switched pages (with a Clear button)."""
    notice, clear = st.columns([5, 1], vertical_alignment="center")
    clip, kept = latest_or_kept(UPLOAD_KEY, RECORD_KEY, SOURCE_KEY, LAST_KEY, notice)
    if kept and clear.button("Clear", icon=":material/close:", key="detect_clear"):
        st.session_state.pop(LAST_KEY, None)
        st.rerun()
    return clip


def show_analysis(analysis: Analysis, detector: Detector, data: bytes, mime: str) -> None:
    """Player, verdict first, then the charts, the explanation and the downloads."""
    st.audio(data, format=mime)
    with st.container(key="detect_verdict"):
        verdict_card(analysis, detector)
    charts_section(analysis, detector)
    explanation_section(analysis, detector)
    downloads(analysis, detector)
    with st.container(key="detect_scroll"):   # takes no room: a script, not content
        st.html(SCROLL_SCRIPT.format(key=f"{analysis.sha256[:16]}-{analysis.model_version}", px=PHONE_MAX_PX),
                unsafe_allow_javascript=True)


def render() -> None:
    """The page body."""
    st.html(PAGE_STYLE)
    with st.container(key="detect_title"):
        st.title("Is this voice real?")
    st.markdown("Upload a recording or record one here. The detector estimates how likely it is that the "
                "voice was **generated by a machine** (text-to-speech or voice cloning).")
    detector = current_detector()
    if detector is None:
        return
    upload_column, record_column = st.columns(2, gap="large")
    with upload_column:
        st.file_uploader("Upload an audio file", type=AUDIO_TYPES, key=UPLOAD_KEY,
                         help=f"WAV, MP3, FLAC, OGG, Opus, M4A, AAC or WebM; up to {UPLOAD_LIMIT_TEXT}. "
                              f"Only the first {detector.config.max_duration_s / 60:g} minutes are analysed.",
                         on_change=input_changed, args=("upload",))
    with record_column:
        st.audio_input("Or record with your microphone", key=RECORD_KEY, sample_rate=None,
                       on_change=input_changed, args=("record",))
    clip = current_clip()
    if clip is None:
        st.info(f"{RELIABLE_SPEECH_S} seconds of speech or more give the most reliable verdict.",
                icon=":material/lightbulb:")
        return
    name, data, mime = clip
    try:
        analysis = analyse_cached(detector, name, data)
    except AudioError as exc:  # no player above the message: a file that cannot be judged often cannot play
        st.error(exc.message, icon=":material/block:")
        return
    except Exception as exc:  # never show a traceback to a user; the log has the details
        log.exception("analysis of %s failed", name)
        st.error(f"Sorry, this file could not be analysed because of an internal error ({type(exc).__name__}).",
                 icon=":material/block:")
        return
    try:
        show_analysis(analysis, detector, data, mime)
    except Exception as exc:  # a drawing or explanation failure must not hide the verdict in a traceback
        log.exception("showing the analysis of %s failed", name)
        st.error(f"Part of the result could not be shown because of an internal error ({type(exc).__name__}).")


render()
