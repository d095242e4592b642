"""Make one clip: the identical processing chain for every label and family.

decode (``load_audio``) -> per-piece ``prepare_waveform`` -> concatenate with
short gaps up to the target duration -> random crop -> [TTS: a genuine source
channel, ``train.corpus.channels``] -> [vocoder copy] -> [8 kHz
round trip] -> noise floor -> channel condition -> final ``prepare_waveform``
-> 16 kHz mono PCM16 WAV.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from detector.audio import load_audio
from detector.config import FeatureConfig
from detector.errors import AudioError
from detector.preparation import prepare_waveform
from train.corpus.channels import imitate
from train.corpus.conditions import apply_condition, narrowband, noise_floor
from train.corpus.plan import Job
from train.corpus.tts import Renderer, Voice
from train.corpus.vocoders import copy_synthesis

CONFIG = FeatureConfig()
RATE = CONFIG.sample_rate
_FADE = int(0.01 * RATE)


def _prepared_piece(samples: np.ndarray) -> np.ndarray | None:
    """Trim and level one piece exactly as serving would (length not checked yet)."""
    try:
        return prepare_waveform(samples, CONFIG, check_length=False).samples
    except AudioError:
        return None  # silent or shorter than one frame


def _chunks(text: str, rng: np.random.Generator) -> list[str]:
    """Split a text into chunks of 1-3 words (mirrors single-word genuine recordings)."""
    words = [w for w in re.split(r"\s+", text) if w]
    out, i = [], 0
    while i < len(words):
        n = int(rng.integers(1, 4))
        out.append(" ".join(words[i:i + n]))
        i += n
    return out


def _collect(job: Job, renderer: Renderer | None, voices: dict[str, Voice], rng: np.random.Generator) -> list[np.ndarray]:
    """Prepared pieces until their total reaches the job's target."""
    pieces: list[np.ndarray] = []
    total = 0.0
    if job.kind in ("genuine", "vocoder"):
        sources = ((Path(p), None) for p in job.inputs)
    else:
        voice = voices[job.voice]
        texts: list[str] = []
        for text in job.inputs:
            if job.words and voice.engine != "festival":
                texts += _chunks(text, rng)
            elif job.words:  # one festival call per chunk is slow: pauses between chunks instead
                texts.append(". ".join(_chunks(text, rng)))
            else:
                texts.append(text)
        sources = ((None, t) for t in texts)
    for i, (path, text) in enumerate(sources):
        if total >= job.target_s:
            break
        try:
            if path is not None:
                samples = load_audio(path, RATE).samples
            else:
                samples = load_audio(renderer.render(voices[job.voice], text, job.seed + i), RATE).samples
        except (AudioError, RuntimeError, OSError):  # a text a synthesiser cannot speak: skip it
            continue
        piece = _prepared_piece(samples)
        if piece is None:
            continue
        pieces.append(piece)
        total += len(piece) / RATE
    return pieces


def _assemble(pieces: list[np.ndarray], target_s: float, rng: np.random.Generator) -> np.ndarray:
    """Join pieces with 0.1-0.35 s gaps, then crop a random ``target_s`` window."""
    parts: list[np.ndarray] = []
    for i, piece in enumerate(pieces):
        if i:
            parts.append(np.zeros(int(rng.uniform(0.1, 0.35) * RATE), dtype=np.float32))
        parts.append(piece)
    x = np.concatenate(parts)
    need = int(target_s * RATE)
    if len(x) > need:
        start = int(rng.integers(0, len(x) - need + 1))
        x = x[start:start + need].copy()
        ramp = np.linspace(0.0, 1.0, _FADE, dtype=np.float32)
        x[:_FADE] *= ramp  # a crop mid-word would otherwise click
        x[-_FADE:] *= ramp[::-1]
    return x


def _to_wav_bytes(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_clip(job: Job, out_dir: Path, renderer: Renderer | None, voices: dict[str, Voice]) -> float:
    """Render ``job`` to ``out_dir / job.file``; returns the stored duration in seconds.

    Raises
    ------
    AudioError
        The result has less than ``min_speech_s`` of sound or is silent.
    """
    crop_rng = np.random.default_rng([job.seed, 1])  # shared by a genuine clip and its vocoder copy
    cond_rng = np.random.default_rng([job.seed, 2, ("genuine", "tts", "vocoder").index(job.kind)])
    pieces = _collect(job, renderer, voices, crop_rng)
    if not pieces:
        raise AudioError("no usable audio in the job's inputs", "empty")
    x = _assemble(pieces, job.target_s, crop_rng)
    if job.kind == "tts" and job.channel:
        # The format a genuine clip of this language was shipped in (copies inherit theirs).
        x = imitate(x, job.channel, np.random.default_rng([job.seed, 3]))
    if job.kind == "vocoder":
        # Through a PCM16 WAV and load_audio, like every synthesiser's output.
        x = load_audio(_to_wav_bytes(copy_synthesis(x, job.voice, job.seed)), RATE).samples
        x = _prepared_piece(x)
        if x is None:
            raise AudioError("vocoder produced silence", "silent")
    if job.narrow:
        x = narrowband(x)
    x = noise_floor(x, cond_rng)
    x = apply_condition(x, job.condition, cond_rng)
    final = prepare_waveform(x, CONFIG, check_length=True)
    path = out_dir / job.file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    sf.write(str(tmp), final.samples, RATE, format="WAV", subtype="PCM_16")
    tmp.replace(path)  # atomic: an interrupted build never leaves a half-written clip
    return final.duration_s
