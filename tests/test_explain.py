"""detector.explain with file times: a clip with leading silence is explained over all its frames."""

from __future__ import annotations

import numpy as np
from audio_fixtures import encode, voice_like

from detector.explain import occlusion_map


def test_heatmap_covers_every_frame_when_the_clip_starts_late(tiny_detector):
    clip = np.concatenate([np.zeros(2 * 16000, np.float32), voice_like(4.0, seed=5)])
    analysis = tiny_detector.analyse(encode(clip, 16000, "wav"))
    assert analysis.offset_s > 1.9  # windows are in file seconds, the features start at the trimmed lead-in
    heat = occlusion_map(tiny_detector, analysis)
    assert heat.shape == analysis.features.shape
    assert (np.abs(heat).sum(axis=1) > 0).all()  # no frame left unexplained, none shifted past the end
