"""detector.explain with file times: a clip with leading silence is explained over all its frames."""

from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import encode, voice_like

from detector.errors import AudioError
from detector.explain import occlusion_map


def test_heatmap_covers_every_frame_when_the_clip_starts_late(tiny_detector):
    clip = np.concatenate([np.zeros(2 * 16000, np.float32), voice_like(4.0, seed=5)])
    analysis = tiny_detector.analyse(encode(clip, 16000, "wav"))
    assert analysis.offset_s > 1.9  # windows are in file seconds, the features start at the trimmed lead-in
    heat = occlusion_map(tiny_detector, analysis)
    assert heat.shape == analysis.features.shape
    assert (np.abs(heat).sum(axis=1) > 0).all()  # no frame left unexplained, none shifted past the end


# Issue 26, item 5: a reversed or empty region is refused with a sentence, even from a forged message ----
@pytest.fixture(scope="module")
def long_analysis(tiny_detector):
    return tiny_detector.analyse(encode(voice_like(8.0, seed=7), 16000, "wav"))


@pytest.mark.parametrize(("region", "words"), [
    ((5.0, 1.0), "ends (1.0 s) before it starts (5.0 s)"),   # the forged region from the issue
    ((3.0, 3.0), "is empty"),
    ((50.0, 60.0), "outside the analysed seconds"),
    ((float("nan"), 2.0), "two times in seconds"),
    (("5", None), "two times in seconds"),
])
def test_a_bad_region_is_refused_with_a_sentence(tiny_detector, long_analysis, region, words):
    from app_pages._detect_sections import region_subset

    with pytest.raises(AudioError) as info:
        region_subset(long_analysis, tiny_detector, *region)
    assert info.value.code == "bad_region" and words in info.value.message


def test_a_good_region_is_explained_as_asked(tiny_detector, long_analysis):
    from app_pages._detect_sections import region_subset

    subset = region_subset(long_analysis, tiny_detector, 1.0, 5.0)
    assert subset.windows[0].start_s >= 1.0 - 1e-6 and subset.windows[-1].end_s <= 5.0 + 1e-6


def test_the_page_shows_the_sentence_for_a_forged_region(tiny_detector, long_analysis, monkeypatch):
    from app_pages import _detect_sections

    messages, buttons = [], []
    monkeypatch.setattr(_detect_sections.st, "error", lambda text, **_: messages.append(text))
    monkeypatch.setattr(_detect_sections.st, "slider", lambda *args, **kwargs: (5.0, 1.0))   # what a forger sends
    monkeypatch.setattr(_detect_sections.st, "button", lambda *args, **kwargs: buttons.append(args) or True)
    _detect_sections.explanation_section(long_analysis, tiny_detector)
    assert messages and "before it starts" in messages[0]
    assert not buttons   # nothing is explained: the button never appears
