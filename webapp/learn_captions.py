"""The Learn page's captions, each built from the numbers of the picture it sits beside.

A caption never claims a difference it did not measure: the zoom's words follow the harmonic
contrasts of :class:`webapp.learn_measures.ZoomView` (whole dB, as written), and a version's
caption says what its own samples hold (digital silence). No Streamlit here.
"""

from __future__ import annotations

import numpy as np

from detector.speech import MAX_DIGITAL_SILENCE_S, digital_silence_s
from webapp.learn_measures import BAND, HOP_S, TOP_HZ, WINDOW_S, ZoomView

MARGIN_DB = 3   # harmonic contrasts closer than this (in whole dB, as written) are "about as clear"
LONG_SILENCE_S = 0.1   # digital silence this long is a pure black column at the full picture's size

HOW_MADE = {
    "world": "Rebuilt by the WORLD vocoder from the recording's pitch, spectral envelope and aperiodicity: "
             "the same words with the same timing.",
    "griffin_lim": "Rebuilt from an 80-band mel spectrogram (what most neural text-to-speech systems predict), "
                   "its phase guessed by Griffin-Lim: the same words with the same timing.",
    "espeak": "Formant synthesis by rule, no human recording involved: the same words with its own timing "
              "and pitch.",
    "flite": "Statistical parametric synthesis (a model predicts vocoder parameters from the text): the same "
             "words with its own timing and pitch.",
}
GENUINE_KINDS = ("genuine", "original")


def _band() -> str:
    return f"{BAND[0] / 1000:g}–{BAND[1] / 1000:g} kHz"


def silence_sentence(samples: np.ndarray, rate: int) -> str:
    """What the picture shows between the words: digital silence (pure black) or a noise floor."""
    longest = digital_silence_s(samples, rate)
    if longest >= LONG_SILENCE_S:
        return (f"Its longest gap is digital silence, {longest:.2f} s of exact zeros: pure black in the picture, "
                "which a microphone never records.")
    if longest <= MAX_DIGITAL_SILENCE_S:
        return (f"Between the words it keeps a noise floor: no digital silence longer than "
                f"{MAX_DIGITAL_SILENCE_S * 1000:.0f} ms, so no pure black column.")
    return f"Its longest run of digital silence is {longest * 1000:.0f} ms."


def version_caption(kind: str, samples: np.ndarray, rate: int) -> str:
    """The caption under one version's full spectrogram: how it was made, and what its gaps hold."""
    if kind == "genuine":
        made = "A person reading into a microphone."
    elif kind == "original":
        made = f"Your clip at {rate / 1000:g} kHz, the rate the copies are made at."
    else:
        made = HOW_MADE.get(kind, "")
    closer = " The zoom below compares it with the recording up close." if kind in ("world", "griffin_lim") else ""
    return " ".join(part for part in (made, silence_sentence(samples, rate)) if part) + closer


def copy_words(label: str, genuine: int, copy: int) -> str:
    """One copy's contrast in words: it blurs the harmonics only where it is ``MARGIN_DB`` or more below."""
    if genuine - copy >= MARGIN_DB:
        return f"{copy} dB in {version_name(label)}: it blurs them"
    if copy - genuine >= MARGIN_DB:
        return f"{copy} dB in {version_name(label)}: they stand out more than the voice's"
    return f"{copy} dB in {version_name(label)}: about as clear (within {MARGIN_DB} dB)"


def version_name(label: str) -> str:
    """A version's label inside a sentence: "the WORLD vocoder copy", "the espeak-ng version", "your recording"."""
    short = label.split(" (")[0]
    if short.startswith("Text-to-speech: "):
        return f"the {short.removeprefix('Text-to-speech: ')} version"
    if short.startswith("Your "):
        return short[0].lower() + short[1:]
    return "the " + (short[0].lower() + short[1:] if short.startswith("Genuine ") else short)


def whole_db(value: float) -> int | None:
    """A contrast as written: whole dB (``None``: not measured, too few harmonics in the band)."""
    return int(round(value)) if np.isfinite(value) else None


def contrast_numbers(view: ZoomView) -> list[int | None]:
    """Each version's median harmonic contrast in the marked band of the stretch, in whole dB as written."""
    return [whole_db(view.contrast(i)) for i in range(len(view.labels))]


def zoom_caption(view: ZoomView) -> str:
    """The zoom picture's caption: the stretch, the band, and each version's harmonic contrast in it."""
    numbers = contrast_numbers(view)
    start, end = view.times[0], view.times[-1] + HOP_S
    opening = (f"**Zoom:** the same second ({start:.2f}–{end:.2f} s) of each version, 0–{TOP_HZ / 1000:g} kHz, drawn "
               f"with {WINDOW_S * 1000:.0f} ms frames so that each harmonic of the voice is its own horizontal line.")
    if numbers[0] is None:
        return f"{opening} Above the dashed line ({_band()}) {version_name(view.labels[0])} has too few harmonics to measure."
    copies = "; ".join(copy_words(label, numbers[0], number) if number is not None
                       else f"too few to measure in {version_name(label)}"
                       for label, number in zip(view.labels[1:], numbers[1:]))
    return (f"{opening} Above the dashed line ({_band()}) the harmonic peaks stand a median {numbers[0]} dB above the "
            f"dips between them in {version_name(view.labels[0])}; {copies}.")


def slice_caption(view: ZoomView) -> str:
    """The slice plot's caption: one frame's harmonics, the genuine recording against each copy."""
    numbers = [whole_db(view.slice_contrast(i)) for i in range(len(view.labels))]
    opening = (f"**One frame** ({view.slice_s:.2f} s, the dotted line in the zoom; a typical frame of the stretch): "
               "each comb tooth is a harmonic; 0 dB is the loudest harmonic of "
               f"{version_name(view.labels[0])} in this frame.")
    if numbers[0] is None:
        return f"{opening} The shaded band holds too few of its harmonics to measure."
    copies = ", ".join(f"{'not measurable' if n is None else f'{n} dB'} in {version_name(label)}"
                       for label, n in zip(view.labels[1:], numbers[1:]))
    return f"{opening} In the shaded band its teeth stand {numbers[0]} dB above the dips between them; {copies}."
