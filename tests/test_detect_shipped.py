"""A real model on real clips: file times with leading silence, spliced audio, clipping.

These run the pinned real model (``conftest.PINNED_MODEL``), whose scores on these clips
are fixed by tests/test_pinned_scores.py: what they check is the scoring path's logic
(times, spans, the clipping cap), which must not depend on which model is active.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from detector.inference import Detector
from detector.quality import CLIPPING_EFFECT
from detector.verdict import spans_sentence

REPO = Path(__file__).resolve().parent.parent
LEARN = REPO / "tests" / "clips"   # the first Learn examples, kept as test recordings


@pytest.fixture(scope="module")
def shipped(pinned_store) -> Detector:
    return Detector.from_store(pinned_store)


def read(relative: str) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(LEARN / relative, dtype="float32")
    return samples, int(rate)


def wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def spliced(lead_s: float) -> tuple[bytes, float]:
    """Silence, genuine speech, then a WORLD vocoder copy twice; returns the WAV and the splice time."""
    genuine, rate = read("ru-nsh/genuine.flac")
    world, _ = read("ru-nsh/world.flac")
    clip = np.concatenate([np.zeros(int(lead_s * rate), np.float32), genuine, world, world])
    return wav(clip, rate), lead_s + len(genuine) / rate


def test_times_are_seconds_of_the_uploaded_file(shipped):
    data, splice_s = spliced(3.0)
    analysis = shipped.analyse(data, name="spliced.wav")
    assert 2.9 < analysis.offset_s < 3.6  # the leading silence, trimmed before analysis, is recorded
    assert analysis.windows[0].start_s == pytest.approx(analysis.offset_s)
    assert analysis.feature_times[0] == pytest.approx(analysis.offset_s)
    assert analysis.windows[-1].end_s == pytest.approx(analysis.offset_s + analysis.analysed_s)
    assert analysis.to_dict()["offset_s"] == pytest.approx(analysis.offset_s, abs=1e-3)
    # The jump to synthetic is placed where the synthetic speech starts in the file (7.3 s), not 3 s early.
    start, end = analysis.synthetic_spans[0]
    assert splice_s - 2.0 <= start <= splice_s + 1.0, (start, splice_s)
    assert end > splice_s + 4.0
    # The same clip without the silence moves everything 3 s earlier.
    unpadded = shipped.analyse(spliced(0.0)[0])
    assert unpadded.synthetic_spans[0][0] == pytest.approx(start - 3.0, abs=0.05)


def test_spliced_clip_names_its_synthetic_stretch_though_the_clip_is_uncertain(shipped):
    analysis = shipped.analyse(spliced(3.0)[0])
    assert analysis.verdict == "uncertain"  # the mean over genuine and synthetic windows
    assert spans_sentence(analysis.synthetic_spans).startswith("Seconds 6.")
    # Its genuine windows (6-8 %) are uncertain for this model, not likely genuine: not called spliced.
    assert not analysis.spliced
    assert analysis.to_dict()["synthetic_spans"] == [[round(a, 3), round(b, 3)] for a, b in analysis.synthetic_spans]


@pytest.mark.parametrize("relative, gain", [("ru-nsh/genuine.flac", 8.0), ("en-allison/genuine.flac", 16.0),
                                            ("ru-nsh/griffin_lim.flac", 16.0)])
def test_clipping_cannot_buy_a_confident_genuine_verdict(shipped, relative, gain):
    samples, rate = read(relative)
    loud = np.clip(samples / np.max(np.abs(samples)) * 0.5 * gain, -1.0, 1.0)
    analysis = shipped.analyse(wav(loud, rate))
    # Measured (bench/clipping.py): clipping drags these clips below the likely-genuine edge...
    assert analysis.p_synthetic < shipped.calibration.genuine_below
    # ... and the verdict is capped, with the reason in the explanation and the warning.
    assert analysis.verdict == "uncertain" and analysis.verdict_capped_by == ["clipping"]
    assert "capped at *uncertain*" in analysis.explanation
    clipping = next(w for w in analysis.warnings if w.code == "clipping")
    assert CLIPPING_EFFECT in clipping.message and "towards genuine" in clipping.message


def test_clean_clip_is_not_capped(shipped):
    analysis = shipped.analyse(LEARN / "ru-nsh" / "espeak.flac")
    assert analysis.verdict == "likely_synthetic" and analysis.verdict_capped_by == []


def test_a_splice_is_named_only_next_to_genuine_looking_seconds():
    """With the cosine model (floor 18.9 %), genuine speech sits at the floor: genuine + WORLD is spliced,
    three WORLD copies in a row (quiet joins between them) are not."""
    from detector.registry import ModelRegistry

    cosine = Detector(ModelRegistry(REPO / "model_store").load("20261130-0747-effnet-melexc"))
    assert cosine.analyse(spliced(0.0)[0]).spliced
    world, rate = read("ru-nsh/world.flac")
    assert not cosine.analyse(wav(np.concatenate([world, world, world]), rate)).spliced
