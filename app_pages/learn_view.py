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
from detector.model_facts import ModelFacts
from detector.verdict import next_steps
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
SAME_SCORE = 0.05   # an unflagged copy within this much of its original's score "scores like the original"


def uncertain_text(facts: ModelFacts | None) -> str:
    """What *uncertain* means and what to do next, for the model being served (``None``: no model)."""
    opening = "**What *uncertain* means.** The detector gives a probability, and only the ends of the scale are verdicts"
    if facts is not None and not facts.can_clear:
        text = band_text([facts.lowest], facts.genuine_below, facts.synthetic_above)
        opening = (f"**What *uncertain* means.** The detector gives a probability. With this model only high scores "
                   f"are verdicts: at {text.synthetic_above} or more it says *likely synthetic*. Its lowest score, "
                   f"{text.values[0]}, is above the {text.genuine_below} a *likely genuine* verdict needs, so it "
                   "can flag a fake but cannot clear a clip: a genuine voice reads *uncertain* at best. Below "
                   f"{text.synthetic_above} both kinds of clip occurred")
    elif facts is not None:
        opening += (": low scores were almost always genuine recordings on the clips it was checked on, high "
                    "scores almost always synthetic. In between, both kinds of clip occurred")
    else:
        opening += ". In between, both kinds of clip occurred"
    return (f"{opening}, so the model will not say which one it is. *Uncertain* is not \"half fake\": it means this "
            "clip cannot be judged from its sound alone. " + next_steps(facts))


def score_comment(kind: str, p: float | None, original: float | None, facts: ModelFacts | None) -> str | None:
    """A comment on one version's score from the scores shown (``None``: nothing to add).

    A copy that scores like its genuine original is named as such, with the reason: this model does not
    catch that kind of copy; a genuine clip at a floor the model cannot clear gets the floor's meaning.
    """
    if p is None or facts is None:
        return None
    if kind == "genuine":
        return ("The lowest score this model gives: nothing in it looked synthetic, but the model cannot clear a "
                "clip." if facts.at_floor(p) else None)
    if original is not None and abs(p - original) <= SAME_SCORE and p < facts.synthetic_above:
        return ("Scores like the genuine recording it was made from: this model does not catch this kind of "
                "copy, so its score cannot tell it from the real voice.")
    if facts.at_floor(p):
        return "Nothing in it looked synthetic to this model: a fake it misses."
    return None


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


def scores_table(rows: list[tuple[str, BatchRow]], detector: Detector, kinds: list[str] | None = None) -> pd.DataFrame:
    """Version, verdict, probability (as on the Detect card) and a note on each version.

    All probabilities of the table share one precision, the one that keeps each on its side of
    both band edges (``detector.bands.band_text``). With ``kinds`` (``"genuine"``, ``"world"``...)
    the note also compares each copy with the genuine recording (:func:`score_comment`).
    """
    scored = [row.p_synthetic for _, row in rows if row.p_synthetic is not None]
    calibration = detector.calibration
    written = iter(band_text(scored, calibration.genuine_below, calibration.synthetic_above).values if scored else [])
    kinds = kinds or [""] * len(rows)
    original = next((row.p_synthetic for kind, (_, row) in zip(kinds, rows) if kind == "genuine"), None)
    comments = [score_comment(kind, row.p_synthetic, original, detector.facts) for kind, (_, row) in zip(kinds, rows)]
    return pd.DataFrame([{"Version": label, "Verdict": row.verdict or "—",
                          "p(synthetic)": next(written) if row.p_synthetic is not None else "—",
                          "Note": " ".join(n for n in (comment, row.error or row.warnings) if n) or "—"}
                         for (label, row), comment in zip(rows, comments)])


def show_scores(rows: list[tuple[str, BatchRow]], detector: Detector, kinds: list[str] | None = None) -> None:
    """A static table: its cells wrap, so a long note or error is read in full."""
    st.table(scores_table(rows, detector, kinds).set_index("Version"))

