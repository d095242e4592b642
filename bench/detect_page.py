"""How long the Detect page's own steps take: ``python -m bench.detect_page``.

For 12-second, 3-minute and 10-minute clips (a real sentence repeated), prints the
speech check, the whole analysis (decode, features, speech check, model) and the
static overview image. Figures only: speed is judged from these, never by a timed test.
"""

from __future__ import annotations

import io
import time

import numpy as np
import soundfile as sf

from detector.inference import Detector
from detector.paths import REPO_ROOT
from detector.speech import speech_activity
from webapp import figures

CLIP = REPO_ROOT / "tests" / "clips" / "ru-nsh" / "genuine.flac"
MINUTES = (0.2, 3.0, 10.0)


def main() -> None:
    detector = Detector.from_store()
    sentence, rate = sf.read(CLIP, dtype="float32")
    calibration = detector.calibration
    print(f"model {detector.name}")
    for minutes in MINUTES:
        samples = np.resize(sentence, int(minutes * 60 * rate))
        buffer = io.BytesIO()
        sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
        start = time.perf_counter()
        speech_activity(samples, rate)
        speech_s = time.perf_counter() - start
        start = time.perf_counter()
        analysis = detector.analyse(buffer.getvalue())
        analyse_s = time.perf_counter() - start
        start = time.perf_counter()
        png = figures.overview_png(analysis, calibration.genuine_below, calibration.synthetic_above)
        image_s = time.perf_counter() - start
        print(f"{minutes:5.1f} min: speech check {speech_s:.2f} s, whole analysis {analyse_s:.2f} s, "
              f"overview image {image_s:.2f} s ({len(png) / 1e3:.0f} kB, {len(analysis.windows)} windows)")


if __name__ == "__main__":
    main()
