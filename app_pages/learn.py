"""Learn page (for teachers): hear and see how synthetic versions of a voice differ from the real one.

The example clips are committed under ``assets/learn/`` and shown by ``app_pages.learn_examples``
(regenerate them with ``python -m train.learn_assets``). "Fake your own voice" makes vocoder copies
of the visitor's recording with the corpus vocoders (``train.corpus.vocoders``, the fakes the model
trained on) and scores every version.
The visitor's last clip is kept for the session, so its results are still there
after a visit to another page. Drawing helpers are in ``app_pages.learn_view``.
"""

from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from app_pages._shared import (
    AUDIO_TYPES,
    current_detector,
    digest,
    latest_or_kept,
    mark_source,
    remember,
    session_cache,
)
from app_pages.learn_examples import examples_section
from app_pages.learn_view import WHAT_DIFFERS, show_scores, show_versions, show_zoom, uncertain_text
from detector.audio import load_audio, resample
from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.inference import Detector
from detector.preparation import prepare_waveform
from train.corpus.vocoders import RATE, make_copies, wav_bytes
from webapp.batch import score_files

log = logging.getLogger("detector.app")

WORK_RATE = RATE         # every version of "your voice" is made and compared at the corpus's rate
MAX_OWN_SECONDS = 12.0   # vocoding costs a few seconds of CPU per 10 s of audio: keep the wait short
UPLOAD_KEY, RECORD_KEY, SOURCE_KEY, KEPT_KEY = "learn_upload", "learn_record", "learn_source", "learn_kept"


def make_own_versions(data: bytes, config: FeatureConfig) -> tuple[list[tuple[str, str, np.ndarray]], bool]:
    """Decode (first ``MAX_OWN_SECONDS``), check and vocode a visitor's clip, once per content per session.

    The clip is checked as the detector would check it *before* the vocoders run, so a clip too short
    or silent gets its sentence at once instead of after seconds of vocoding.
    """
    cache = session_cache("learn_copies")
    key = digest(data)
    if key not in cache:
        decoded = load_audio(data, WORK_RATE, max_seconds=MAX_OWN_SECONDS)
        prepare_waveform(resample(decoded.samples, WORK_RATE, config.sample_rate), config)   # AudioError if unfit
        with st.spinner("Making the WORLD and Griffin-Lim copies…"):
            copies = make_copies(decoded.samples, WORK_RATE)
        remember(cache, key, (copies, decoded.truncated), size=2)
    return cache[key]


def forget_when_emptied(kind: str) -> None:
    """Record which input moved last; when both are emptied by the visitor, the kept clip goes too."""
    mark_source(SOURCE_KEY, kind)
    if st.session_state.get(UPLOAD_KEY) is None and st.session_state.get(RECORD_KEY) is None:
        st.session_state.pop(KEPT_KEY, None)


def own_source() -> tuple[str, bytes, str] | None:
    """The clip in the inputs, else the one kept from earlier in the session (inputs reset on a page switch)."""
    return latest_or_kept(UPLOAD_KEY, RECORD_KEY, SOURCE_KEY, KEPT_KEY)[0]


def own_voice_section(detector: Detector | None) -> None:
    st.header("Fake your own voice")
    st.markdown("Record a sentence or upload a clip. The app turns it into two vocoder fakes, made the way the "
                "model's training fakes were made; listen to them, compare the spectrograms and see how the "
                "detector scores each version.")
    upload_column, record_column = st.columns(2, gap="large")
    with upload_column:
        st.file_uploader("Upload a clip", type=AUDIO_TYPES, key=UPLOAD_KEY, on_change=forget_when_emptied,
                         args=("upload",))
    with record_column:
        st.audio_input("Record yourself", key=RECORD_KEY, on_change=forget_when_emptied, args=("record",))
    source = own_source()
    if source is None:
        return
    name, data, _ = source
    try:
        copies, truncated = make_own_versions(data, detector.config if detector else FeatureConfig())
    except AudioError as exc:
        st.error(exc.message, icon=":material/block:")
        return
    except Exception as exc:  # an unexpected vocoder failure: a sentence, never a traceback
        log.exception("vocoding %s failed", name)
        st.error(f"Could not make vocoder copies of this clip ({type(exc).__name__}: {exc}).", icon=":material/block:")
        return
    if truncated:
        st.info(f"Only the first {MAX_OWN_SECONDS:g} s are used.")
    encoded = [(key, label, wav_bytes(samples, WORK_RATE), samples) for key, label, samples in copies]
    items = [(key, label, audio, "audio/wav", samples) for key, label, audio, samples in encoded]
    show_versions(items, WORK_RATE)
    show_zoom(items, WORK_RATE)
    if detector is None:
        st.info("Scores appear here once a model is available.")
        return
    cache = session_cache("learn_scores")
    score_key = (digest(data), detector.name)
    if score_key not in cache:
        with st.spinner("Scoring every version…"):
            remember(cache, score_key, score_files(detector, [(label, audio) for _, label, audio, _ in encoded]),
                     size=2)
    st.markdown("#### How the detector scores each version")
    show_scores([(key, label, row) for (key, label, *_), row in zip(encoded, cache[score_key])], detector,
                summary=False)


def render() -> None:
    """The page body."""
    st.title("Learn: what gives a synthetic voice away")
    st.markdown("Each example below is **one genuine recording** and **synthetic versions of the same words**. "
                "Listen first, then compare the spectrograms (time across, pitch up, loudness as colour).")
    columns = st.columns(len(WHAT_DIFFERS))
    for column, (title, text) in zip(columns, WHAT_DIFFERS):
        with column.container(border=True):
            st.markdown(f"**{title}**")
            st.caption(text)
    detector = current_detector(show_errors=False)
    st.info(uncertain_text(detector.facts if detector else None), icon=":material/help:")
    examples_section(detector)
    own_voice_section(detector)


render()
