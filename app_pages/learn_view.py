"""How the Learn page shows a set of versions of one recording: players, large spectrograms, a zoom, scores.

Every picture is a static image (``webapp.spectrogram_image``, ``webapp.learn_figures``) across the
page's full width, with labels sized for a projector: a page of interactive heatmaps took seconds to
draw in the browser. Each caption is built from the numbers of the picture it sits under
(``webapp.learn_captions``); the scores' words come from ``webapp.learn_scores``.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from detector.bands import band_text
from detector.inference import Detector
from detector.model_facts import ModelFacts
from detector.verdict import next_steps
from webapp.batch import BatchRow
from webapp.learn_captions import slice_caption, version_caption, zoom_caption
from webapp.learn_figures import DPI, FONT_PT, WIDTH_IN, slice_image, zoom_image
from webapp.learn_measures import zoom_view
from webapp.learn_scores import example_summary, score_comment, scores_table
from webapp.spectrogram_image import spectrogram_jpegs

WHAT_DIFFERS = [
    (":material/music_note: Harmonics",
     "A voice is a stack of harmonics: the fine horizontal lines of a spectrogram. Some vocoders blur them, "
     "especially high up; others keep them so well that the eye cannot tell. The zoom under each example "
     "measures one second of them."),
    (":material/blur_on: Noise floor",
     "Between words a real recording still has room sound and microphone noise. Synthetic speech often has "
     "digital silence (pure black) or a noise floor that is suspiciously even."),
    (":material/waves: Phase and vocoder smearing",
     "Many systems predict only a coarse spectrogram and must guess the phase. The guess smears sharp sounds "
     "(t, k, p) over time and makes vowels sound metallic or phasey."),
    (":material/air: Missing breath",
     "People breathe, click their lips and swallow. Text-to-speech usually leaves these out, so the gaps "
     "between phrases are empty."),
]
__all__ = ["WHAT_DIFFERS", "score_comment", "show_scores", "show_versions", "show_zoom", "uncertain_text"]
ALIGNED = ("genuine", "original", "world", "griffin_lim")   # versions with the recording's own timing
SPECTROGRAM_HEIGHT_IN = 2.6


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


@st.cache_data(show_spinner=False, max_entries=64)
def spectrogram_images(clips: tuple[np.ndarray, ...], rate: int) -> list[bytes]:
    """One large spectrogram per clip on a shared colour scale (computed once per set of clips)."""
    return spectrogram_jpegs(list(clips), rate, width_in=WIDTH_IN, height_in=SPECTROGRAM_HEIGHT_IN, dpi=DPI,
                             font_pt=FONT_PT)


@st.cache_data(show_spinner=False, max_entries=32)
def zoom_pictures(labels: tuple[str, ...], clips: tuple[np.ndarray, ...], rate: int) -> list[tuple[bytes, str]] | None:
    """The zoom and the slice plot with their captions (``None``: no voiced stretch to zoom into)."""
    view = zoom_view(list(labels), list(clips), rate)
    if view is None:
        return None
    return [(zoom_image(view), zoom_caption(view)), (slice_image(view), slice_caption(view))]


def show_versions(items: list[tuple[str, str, bytes, str, np.ndarray]], rate: int) -> None:
    """Each version under the other, full width: label, player, spectrogram, caption. Items are
    (kind, label, audio, mime, samples)."""
    with st.spinner("Drawing the spectrograms…"):
        images = spectrogram_images(tuple(samples for *_, samples in items), rate)
    for (kind, label, audio, mime, samples), image in zip(items, images):
        st.markdown(f"**{label}**")
        st.audio(audio, format=mime)
        st.image(image, output_format="JPEG", width="stretch")
        st.caption(version_caption(kind, samples, rate))


def show_zoom(items: list[tuple[str, str, bytes, str, np.ndarray]], rate: int) -> None:
    """The recording and its vocoder copies up close: one second of harmonics, and one frame of them."""
    aligned = [(label, samples) for kind, label, _, _, samples in items if kind in ALIGNED]
    if len(aligned) < 2:
        return
    st.markdown("##### Up close: the harmonics of the recording and of its copies")
    with st.spinner("Measuring the harmonics…"):
        pictures = zoom_pictures(tuple(label for label, _ in aligned), tuple(s for _, s in aligned), rate)
    if pictures is None:
        st.caption("No voiced stretch to zoom into: the recording holds no measurable harmonics.")
        return
    for image, caption in pictures:
        st.image(image, width="stretch")
        st.markdown(caption)


def show_scores(items: list[tuple[str, str, BatchRow]], detector: Detector, summary: bool = True) -> None:
    """What the served model makes of each version: a plain paragraph, then a static table (its cells wrap)."""
    if summary and (text := example_summary(items, detector)):
        st.markdown(text)
    table = scores_table([(label, row) for _, label, row in items], detector, [kind for kind, *_ in items])
    st.table(table.set_index("Version"))
