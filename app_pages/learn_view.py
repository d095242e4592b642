"""How the Learn page shows a set of versions of one recording: players, static spectrograms, notes, scores.

Spectrograms are static images (``webapp.spectrogram_image``): nothing on this page
needs zooming, and a page of interactive heatmaps took seconds to draw in the browser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from detector.bands import band_text
from detector.inference import Detector
from webapp.batch import BatchRow
from webapp.spectrogram_image import spectrogram_jpegs

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
UNCERTAIN_TEXT = (
    "**What *uncertain* means.** The detector gives a probability, and only the two ends of the scale are "
    "verdicts: low scores were almost always genuine recordings on the clips it was checked on, high scores "
    "almost always synthetic. In between, both kinds of clip occurred, so the model will not say which one "
    "it is. *Uncertain* is not \"half fake\": it means this clip cannot be judged from its sound alone. "
    "What to do next: find the original file (not a re-recording or a copy passed through a messaging app), "
    "a longer clip with more speech, or another source for the same words."
)


@st.cache_data(show_spinner=False, max_entries=64)
def spectrogram_images(clips: tuple[np.ndarray, ...], rate: int) -> list[bytes]:
    """One static spectrogram per clip on a shared colour scale (computed once per set of clips)."""
    return spectrogram_jpegs(list(clips), rate)


def show_versions(items: list[tuple[str, str, bytes, str, np.ndarray]], rate: int, per_row: int = 2) -> None:
    """Players and spectrograms side by side: items are (kind, label, audio, mime, samples)."""
    with st.spinner("Drawing the spectrograms…"):
        images = spectrogram_images(tuple(samples for *_, samples in items), rate)
    for start in range(0, len(items), per_row):
        columns = st.columns(per_row, gap="medium")
        for column, (kind, label, audio, mime, _), image in zip(columns, items[start:start + per_row],
                                                               images[start:start + per_row]):
            with column:
                st.markdown(f"**{label}**")
                st.audio(audio, format=mime)
                st.image(image, caption=f"Spectrogram: {label}", output_format="JPEG", width="stretch")
                if kind in VERSION_NOTES:
                    st.caption(VERSION_NOTES[kind])


def scores_table(rows: list[tuple[str, BatchRow]], detector: Detector) -> pd.DataFrame:
    """Version, verdict, probability (as on the Detect card) and the full note of each version.

    All probabilities of the table share one precision, the one that keeps each on its side of
    both band edges (``detector.bands.band_text``).
    """
    scored = [row.p_synthetic for _, row in rows if row.p_synthetic is not None]
    calibration = detector.calibration
    written = iter(band_text(scored, calibration.genuine_below, calibration.synthetic_above).values if scored else [])
    return pd.DataFrame([{"Version": label, "Verdict": row.verdict or "—",
                          "p(synthetic)": next(written) if row.p_synthetic is not None else "—",
                          "Note": row.error or row.warnings or "—"}
                         for label, row in rows])


def show_scores(rows: list[tuple[str, BatchRow]], detector: Detector) -> None:
    """A static table: its cells wrap, so a long note or error is read in full."""
    st.table(scores_table(rows, detector).set_index("Version"))

