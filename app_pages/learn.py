"""Learn page (for teachers): hear and see how synthetic versions of a voice differ from the real one.

The example clips are committed under ``assets/learn/`` (regenerate them with
``python -m train.learn_assets``). "Fake your own voice" makes vocoder copies
of the visitor's recording with ``detector.vocoders`` and scores every version.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from detector import plots
from detector.audio import load_audio
from detector.batch import BatchRow, score_files, score_one
from detector.errors import AudioError
from detector.inference import Detector
from detector.vocoders import make_copies, wav_bytes
from app_pages._shared import (AUDIO_TYPES, current_detector, digest, latest_source, mark_source, remember,
                           session_cache)

log = logging.getLogger("detector.app")

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "learn"
WORK_RATE = 16000        # every version of "your voice" is made and compared at the model's usual rate
MAX_OWN_SECONDS = 12.0   # vocoding costs a few seconds of CPU per 10 s of audio: keep the wait short
UPLOAD_KEY, RECORD_KEY, SOURCE_KEY = "learn_upload", "learn_record", "learn_source"

WHAT_DIFFERS = [
    (":material/music_note: Harmonics",
     "A voice is a stack of harmonics: the fine horizontal lines in a spectrogram. In real speech they wobble "
     "and fade naturally. Vocoders make them too regular, blur them (especially high up), or replace them "
     "with buzz."),
    (":material/blur_on: Noise floor",
     "Between words a real recording still has room sound and microphone noise. Synthetic speech often has "
     "digital silence (pure black) or a noise floor that is suspiciously even."),
    (":material/waves: Phase and vocoder smearing",
     "Many systems predict only a coarse spectrogram and must guess the phase. The guess smears sharp sounds "
     "(t, k, p) over time and makes vowels sound metallic or phasey: look for vertical streaks and blurred "
     "onsets."),
    (":material/air: Missing breath",
     "People breathe, click their lips and swallow. Text-to-speech usually leaves these out, so the gaps "
     "between phrases are empty."),
]
VERSION_NOTES = {
    "genuine": "A person speaking into a microphone: natural harmonics, breath and room noise.",
    "world": "Rebuilt by the WORLD vocoder from pitch, spectral envelope and aperiodicity. Same words and "
             "timing, but the harmonics are over-regular and noisy sounds (s, f, breath) become shaped "
             "synthetic noise.",
    "griffin_lim": "Only an 80-band mel spectrogram was kept (what most neural TTS systems predict); the "
                   "phase was guessed with Griffin-Lim. High harmonics blur together and the sound is "
                   "smeared and metallic.",
    "espeak": "Formant synthesis by rule: no human recording involved. Robotic, step-like pitch, sharp "
              "formant jumps, no breath, digital silence in the gaps.",
    "flite": "Statistical parametric synthesis: a model predicts vocoder parameters from the text. "
             "Over-smoothed spectra, a buzzy voice source and muffled high frequencies.",
}


def load_manifest() -> list[dict]:
    """The committed examples (an empty list when the assets are missing)."""
    manifest = ASSETS / "manifest.json"
    if not manifest.is_file():
        return []
    return json.loads(manifest.read_text(encoding="utf-8"))["examples"]


@st.cache_data(show_spinner=False)
def read_clip(relative: str) -> tuple[np.ndarray, int, bytes]:
    """Samples, rate and file bytes of a committed clip (read once per process)."""
    import soundfile as sf

    path = ASSETS / relative
    samples, rate = sf.read(path, dtype="float32")
    return samples, int(rate), path.read_bytes()


@st.cache_data(show_spinner=False, max_entries=256)
def score_asset(_detector: Detector, version_path: str, relative: str) -> BatchRow:
    """Score a committed clip with the served model.

    ``version_path`` (the model version's folder) keys the cache, so a promotion triggers rescoring.
    """
    return score_one(_detector, relative, read_clip(relative)[2])


def scores_table(rows: list[tuple[str, BatchRow]]) -> pd.DataFrame:
    """Version, verdict and probability for the little score tables."""
    return pd.DataFrame([{"Version": label, "Verdict": row.verdict or "—",
                          "p(synthetic)": row.p_synthetic, "Note": row.error or row.warnings}
                         for label, row in rows])


def show_scores(rows: list[tuple[str, BatchRow]], key: str) -> None:
    st.dataframe(scores_table(rows), hide_index=True, key=key, column_config={
        "p(synthetic)": st.column_config.ProgressColumn("p(synthetic)", min_value=0.0, max_value=1.0,
                                                        format="percent")})


def show_versions(items: list[tuple[str, str, bytes, str, np.ndarray]], rate: int, key: str,
                  per_row: int = 2) -> None:
    """Players and spectrograms (shared colour scale) side by side: items are (kind, label, audio, mime, samples)."""
    figures = plots.comparison_figures([(label, samples) for _, label, _, _, samples in items], rate)
    for start in range(0, len(items), per_row):
        columns = st.columns(per_row, gap="medium")
        for column, (kind, label, audio, mime, _), figure in zip(columns, items[start:start + per_row],
                                                                figures[start:start + per_row]):
            with column:
                st.markdown(f"**{label}**")
                st.audio(audio, format=mime)
                figure.update_layout(height=240, title=None, margin=dict(l=50, r=10, t=10, b=40))
                st.plotly_chart(figure, key=f"{key}-{kind}")
                if kind in VERSION_NOTES:
                    st.caption(VERSION_NOTES[kind])


def examples_section(detector: Detector | None) -> None:
    examples = load_manifest()
    if not examples:
        st.warning("The example clips are missing; regenerate them with `python -m train.learn_assets`.")
        return
    for example in examples:
        st.subheader(f"{example['title']}")
        quote = f"> “{example['text']}”"
        if example.get("translation"):
            quote += f"  \n> *{example['translation']}*"
        st.markdown(quote)
        st.caption(f"{example['note']} Genuine voice: {example['speaker']}, licence {example['license']} "
                   "(see assets/learn/ATTRIBUTION.md).")
        items = []
        for version in example["versions"]:
            samples, rate, audio = read_clip(version["file"])
            items.append((version["kind"], version["label"], audio, "audio/flac", samples))
        show_versions(items, example["sample_rate"], key=f"example-{example['id']}")
        if detector is not None:
            with st.expander(f"How does model {detector.name} score these versions?"):
                version_path = str(detector.version.path)
                rows = [(v["label"], score_asset(detector, version_path, v["file"])) for v in example["versions"]]
                show_scores(rows, key=f"scores-{example['id']}")
        st.divider()


def make_own_versions(name: str, data: bytes) -> tuple[list[tuple[str, str, np.ndarray]], bool]:
    """Decode (first ``MAX_OWN_SECONDS``) and vocode a visitor's clip, once per content per session."""
    cache = session_cache("learn_copies")
    key = digest(data)
    if key not in cache:
        decoded = load_audio(data, WORK_RATE, max_seconds=MAX_OWN_SECONDS)
        with st.spinner("Making the WORLD and Griffin-Lim copies…"):
            copies = make_copies(decoded.samples, WORK_RATE)
        remember(cache, key, (copies, decoded.truncated), size=2)
    return cache[key]


def own_voice_section(detector: Detector | None) -> None:
    st.header("Fake your own voice")
    st.markdown("Record a sentence or upload a clip. The app turns it into two vocoder fakes; listen to them, "
                "compare the spectrograms and see how the detector scores each version.")
    upload_column, record_column = st.columns(2, gap="large")
    with upload_column:
        st.file_uploader("Upload a clip", type=AUDIO_TYPES, key=UPLOAD_KEY, on_change=mark_source,
                         args=(SOURCE_KEY, "upload"))
    with record_column:
        st.audio_input("Record yourself", key=RECORD_KEY, on_change=mark_source, args=(SOURCE_KEY, "record"))
    source = latest_source(UPLOAD_KEY, RECORD_KEY, SOURCE_KEY)
    if source is None:
        return
    name, data, _ = source
    try:
        copies, truncated = make_own_versions(name, data)
    except AudioError as exc:
        st.error(exc.message, icon=":material/block:")
        return
    except Exception as exc:  # e.g. a clip too short for the vocoder: a sentence, never a traceback
        log.exception("vocoding %s failed", name)
        st.error(f"Could not make vocoder copies of this clip ({type(exc).__name__}: {exc}).", icon=":material/block:")
        return
    if truncated:
        st.info(f"Only the first {MAX_OWN_SECONDS:g} s are used.")
    encoded = [(key, label, wav_bytes(samples, WORK_RATE), samples) for key, label, samples in copies]
    notes = {"original": "genuine"}
    show_versions([(notes.get(key, key), label, audio, "audio/wav", samples)
                   for key, label, audio, samples in encoded], WORK_RATE, key="own", per_row=3)
    if detector is None:
        st.info("Scores appear here once a model is available.")
        return
    cache = session_cache("learn_scores")
    score_key = (digest(data), detector.name)
    if score_key not in cache:
        with st.spinner("Scoring every version…"):
            rows = score_files(detector, [(label, audio) for _, label, audio, _ in encoded])
        remember(cache, score_key, rows, size=2)
    rows = cache[score_key]
    st.markdown("#### How the detector scores each version")
    show_scores([(row.file, row) for row in rows], key="own-scores")


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
    examples_section(detector)
    own_voice_section(detector)


render()
