"""The Learn page's pictures show what their captions claim, measured on the data drawn, and a room can read them."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from webapp.batch import BatchRow
from webapp.learn_captions import MARGIN_DB, copy_words, slice_caption, version_caption, zoom_caption
from webapp.learn_measures import BAND, HOP_S, TOP_HZ, ZOOM_S, narrowband_db, zoom_view

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets" / "learn"
EXAMPLES = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))["examples"]
COPIES = ("genuine", "world", "griffin_lim")   # the versions with the recording's timing, drawn in the zoom
# An independent check of the blur: the share of the band's energy lying within an eighth of the pitch of a
# harmonic (noise alone: about a quarter). Blurred harmonics spread their energy into the dips.
SHARE_MARGIN = 0.03


def clips(example: dict) -> tuple[list[str], list[np.ndarray]]:
    versions = {v["kind"]: v for v in example["versions"]}
    return ([versions[k]["label"] for k in COPIES],
            [sf.read(ASSETS / versions[k]["file"], dtype="float32")[0] for k in COPIES])


def harmonic_share(view, index: int) -> float:
    band = (view.freqs >= BAND[0]) & (view.freqs <= BAND[1])
    shares = []
    for frame in np.flatnonzero(view.measured):
        f0, power = view.f0[frame], 10.0 ** (view.crops[index][frame] / 10.0)
        near = np.zeros_like(band)
        for k in range(int(np.ceil(BAND[0] / f0)), int(BAND[1] / f0) + 1):
            near |= np.abs(view.freqs - k * f0) <= f0 / 8
        shares.append(power[band & near].sum() / power[band].sum())
    return float(np.median(shares))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_the_zoom_caption_is_measured_on_the_picture_drawn(example):
    """The crops drawn are each clip's narrowband spectrogram over the stated second and 0-4 kHz; the caption's
    numbers are their harmonic contrasts in the marked band; the Griffin-Lim copy's is at least MARGIN_DB (3 dB)
    below the recording's there, so "it blurs them" is true, and another measure of the same crops agrees."""
    labels, samples = clips(example)
    view = zoom_view(labels, samples, example["sample_rate"])
    start = int(round(view.times[0] / HOP_S))
    for clip, crop in zip(samples, view.crops):
        db, _, freqs = narrowband_db(clip, example["sample_rate"])
        np.testing.assert_allclose(crop, db[start:start + len(view.times)][:, freqs <= TOP_HZ], rtol=0, atol=1e-9)
    assert len(view.times) == round(ZOOM_S / HOP_S) and view.measured.sum() >= 50
    caption = zoom_caption(view)
    stated = [int(n) for n in re.findall(r"(-?\d+) dB (?:above|in )", caption)]
    measured = [int(round(view.contrast(i))) for i in range(3)]
    assert stated == measured, caption
    genuine, world, griffin_lim = measured
    assert genuine - griffin_lim >= MARGIN_DB and "in the Griffin-Lim copy: it blurs them" in caption
    assert abs(genuine - world) < MARGIN_DB and "in the WORLD vocoder copy: about as clear" in caption
    assert harmonic_share(view, 2) <= harmonic_share(view, 0) - SHARE_MARGIN
    # The slice plot's caption gives the contrasts of the one frame it draws, which lies in the stretch.
    frame = [int(n) for n in re.findall(r"(-?\d+) dB (?:above|in )", slice_caption(view))]
    assert frame == [int(round(view.slice_contrast(i))) for i in range(3)] and view.measured[view.slice_index]


def test_the_words_follow_the_numbers_and_the_margin():
    assert copy_words("Griffin-Lim copy (80-band mel)", 20, 17) == "17 dB in the Griffin-Lim copy: it blurs them"
    assert copy_words("WORLD vocoder copy", 20, 18).endswith("about as clear (within 3 dB)")
    assert copy_words("WORLD vocoder copy", 20, 23).endswith("they stand out more than the voice's")


def test_the_measure_sees_blur_made_on_purpose_and_not_a_change_of_level():
    """Noise between the harmonics of 2-4 kHz fills their dips: the contrast falls by more than the margin. The
    same clip 12 dB quieter, or unchanged, keeps it within a hundredth of a dB (a level-free measure)."""
    genuine, rate = sf.read(ASSETS / EXAMPLES[0]["versions"][0]["file"], dtype="float32")
    spectrum = np.fft.rfft(np.random.default_rng(1).standard_normal(len(genuine)))
    freqs = np.fft.rfftfreq(len(genuine), 1 / rate)
    spectrum[(freqs < BAND[0]) | (freqs > BAND[1])] = 0
    hiss = np.fft.irfft(spectrum, len(genuine))
    hiss *= 0.1 * np.std(genuine) / np.std(hiss)
    view = zoom_view(["Genuine recording", "hissy", "quieter", "same"],
                     [genuine, genuine + hiss, genuine * 0.25, genuine.copy()], rate)
    values = [view.contrast(i) for i in range(4)]
    assert values[0] - values[1] >= MARGIN_DB
    assert values[2] == pytest.approx(values[0], abs=0.01) and values[3] == pytest.approx(values[0], abs=0.01)
    caption = zoom_caption(view)
    assert "in the hissy: it blurs them" in caption and "in the quieter: about as clear" in caption


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_each_version_caption_is_true_of_its_clip(example):
    """"No pure black column" under a recording with no digital silence over 20 ms; under espeak, its longest
    silence to the hundredth of a second, drawn at the full picture's floor (black, below its colour range)."""
    from detector.speech import digital_silence_s
    from webapp.plots import spectrogram_db
    from webapp.spectrogram_image import COLOUR_RANGE_DB

    rate = example["sample_rate"]
    for version in example["versions"]:
        samples, _ = sf.read(ASSETS / version["file"], dtype="float32")
        caption = version_caption(version["kind"], samples, rate)
        longest = digital_silence_s(samples, rate)
        if version["kind"] == "espeak":
            assert f"digital silence, {longest:.2f} s of exact zeros: pure black" in caption
            edges = np.flatnonzero(np.diff(np.concatenate([[0], samples == 0, [0]]).astype(np.int8)))
            start, end = max(zip(edges[::2], edges[1::2]), key=lambda run: run[1] - run[0])
            db, times, _ = spectrogram_db(samples, rate)
            frame = int(0.025 * rate)   # the full picture's frames: 25 ms every 10 ms, from time 0
            inside = [i for i, t in enumerate(times) if start <= round(t * rate) and round(t * rate) + frame <= end]
            assert len(inside) >= 30   # a gap of 0.3 s or more: a black column a projector shows
            assert (db[inside] < db.max() - COLOUR_RANGE_DB).all()
        else:
            assert "no pure black column" in caption and longest <= 0.02, (version["file"], longest)


def test_pictures_are_sized_for_a_projector():
    """Labels at least a fiftieth of a full-width picture's width (16 px on a 1280 px projector's page), and the
    pictures come out that wide."""
    from app_pages.learn_view import SPECTROGRAM_HEIGHT_IN
    from webapp.learn_figures import DPI, FONT_PT, WIDTH_IN, slice_image, zoom_image
    from webapp.spectrogram_image import spectrogram_jpegs

    assert FONT_PT * DPI / 72 >= WIDTH_IN * DPI / 50
    labels, samples = clips(EXAMPLES[0])
    view = zoom_view(labels, samples, EXAMPLES[0]["sample_rate"])
    pictures = [zoom_image(view), slice_image(view),
                *spectrogram_jpegs(samples[:1], 16000, width_in=WIDTH_IN, height_in=SPECTROGRAM_HEIGHT_IN, dpi=DPI,
                                   font_pt=FONT_PT)]
    assert [Image.open(io.BytesIO(p)).size[0] for p in pictures] == [WIDTH_IN * DPI] * 3


def test_the_paragraph_says_what_the_model_gets_right_and_misses():
    from webapp.learn_scores import cell_text, example_summary, scores_table

    detector = SimpleNamespace(name="v1", facts=None,
                               calibration=SimpleNamespace(genuine_below=0.0108, synthetic_above=0.934))
    items = [("genuine", "Genuine recording", BatchRow("g", "Uncertain", 0.1445, 6.0)),
             ("world", "WORLD vocoder copy", BatchRow("w", "Uncertain", 0.7893, 6.0)),
             ("griffin_lim", "Griffin-Lim copy (80-band mel)", BatchRow("l", "Likely synthetic", 0.95, 6.0)),
             ("espeak", "Text-to-speech: espeak-ng", BatchRow("e", "Likely synthetic", 0.999996, 6.0))]
    assert example_summary(items, detector) == (
        "**Model v1 gets 2 of 4 versions right here.** It flags the Griffin-Lim copy (*likely synthetic*, 95 %) and "
        "the espeak-ng version (*likely synthetic*, 99.9996 %). It does not clear the genuine recording (*uncertain*, "
        "14 %). It misses the WORLD vocoder copy (*uncertain*, 79 %).")
    # In the table (Markdown cells) a leading ">" is escaped, so "> 99.9999 %" is not drawn as a quotation.
    table = scores_table([(label, row) for _, label, row in items], detector, [kind for kind, *_ in items])
    assert list(table["p(synthetic)"]) == ["14 %", "79 %", "95 %", "99.9996 %"]
    assert cell_text("> 99.9999 %") == "\\> 99.9999 %" and cell_text("< 0.01 %") == "< 0.01 %"
    cleared = [("genuine", "Genuine recording", BatchRow("g", "Likely genuine", 0.004, 6.0)), items[3]]
    assert example_summary(cleared, detector).startswith("**Model v1 gets every version right here.** It flags the")
