"""Static spectrogram images for the Learn page (webapp.spectrogram_image)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from audio_fixtures import voice_like
from PIL import Image

from webapp.spectrogram_image import spectrogram_jpegs


def test_one_image_per_clip_of_the_asked_size():
    clips = [voice_like(2.0, seed=1), voice_like(1.0, seed=2)]
    images = spectrogram_jpegs(clips, 16000, width_in=4.0, height_in=2.0, dpi=100)
    assert len(images) == 2
    for data in images:
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "JPEG" and picture.size == (400, 200)


def test_silence_is_dark_on_the_shared_scale():
    """One colour scale for all clips: a quiet copy of a clip comes out darker than the clip."""
    loud = voice_like(2.0, seed=3)
    images = spectrogram_jpegs([loud, loud * 0.001], 16000)
    brightness = [np.asarray(Image.open(io.BytesIO(d)).convert("L"), dtype=float).mean() for d in images]
    assert brightness[1] < brightness[0] - 10


@pytest.mark.parametrize("clips, rate", [([np.zeros(0)], 16000), ([np.zeros((2, 100))], 16000),
                                         ([np.zeros(1600)], 0)])
def test_bad_input_raises_value_error(clips, rate):
    with pytest.raises(ValueError):
        spectrogram_jpegs(clips, rate)
