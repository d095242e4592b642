"""One genuine recording as shipped, and how a scanner turns a file into one.

Shared by the scanners of packaged recordings (:mod:`train.corpus.genuine`) and of
game archives (:mod:`train.corpus.genuine_games`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from train.corpus.channels import describe


@dataclass
class SourceClip:
    """One genuine recording as shipped."""

    path: str
    source: str
    speaker: str
    language: str
    text: str | None
    native_rate: int
    duration_s: float
    channel: str = ""  # format as shipped, ``codec:rate`` (see train.corpus.channels)


def _info(path: Path) -> tuple[int, float, str] | None:
    try:
        info = sf.info(str(path))
        return int(info.samplerate), float(info.duration), describe(info.subtype, info.samplerate)
    except Exception:  # unreadable by libsndfile: detector.audio falls back to PyAV; rate unknown here
        return None


def source_clip(path: Path, source: str, speaker: str, language: str, text: str | None) -> SourceClip | None:
    """The clip at ``path`` with its format as shipped, or ``None`` when unreadable or empty."""
    info = _info(path)
    if info is None or info[1] <= 0.05:
        return None
    return SourceClip(str(path), source, speaker, language, text, info[0], info[1], info[2])
