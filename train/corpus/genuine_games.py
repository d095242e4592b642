"""Genuine English voices added in corpus v2: two games, a strategy game and codec2's test speech.

* ``queen``: Flight of the Amazon Queen dialogue (many actors, MP3 16 kbit/s at 11.025 kHz).
  Speaker = Joe, or the character of a dialogue file.
* ``sky``: Beneath a Steel Sky (many actors, 8-bit PCM at 11.025 kHz). The archive does
  not say who speaks; clips are grouped into voice clusters (k-means on MFCC means and
  median pitch), a speaker proxy that keeps similar voices in one split.
* ``warzone``: Warzone 2100 announcer, tutorial and extra lines (Ogg, 11.025-22.05 kHz);
  radio-processed folders (Nexus, VTOL, "coltive") are left out.
* ``codec2``: the clean reference recordings of codec2-examples (8 kHz, one at 16 kHz);
  codec outputs (``f2400``, ``m2400``) and off-air radio recordings are left out.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from train.corpus.game_audio import extract_queen, extract_sky
from train.corpus.source_clip import SourceClip, source_clip

SKY_CLUSTERS = 24
WARZONE_ARCHIVE = "usr/share/games/warzone2100/base.wz"
# folder prefix inside base.wz -> speaker proxy (the announcer reads the memressp and countdown lines)
WARZONE_FOLDERS = {"audio/tutorial/": "warzone:tutorial", "audio/extra/": "warzone:extra",
                   "audio/countdown/": "warzone:announcer", "audio/memressp/": "warzone:announcer",
                   "sequenceaudio/": "warzone:sequences"}
WARZONE_DROP = ("vtols", "nexus", "coltive", "vtoltalk")
CODEC2_DIR = "usr/share/codec2"
# Clean reference speech only; the speaker of each file is unknown, so each file (hts1a and
# hts2a share a prefix and probably a talker) is its own speaker.
CODEC2_FILES = {"wav/all.wav": "all", "wav/big_dog.wav": "big_dog", "wav/cross.wav": "cross",
                "wav/david4.wav": "david", "wav/forig.wav": "forig", "wav/hts1a.wav": "hts",
                "wav/hts2a.wav": "hts", "wav/mmt1.wav": "mmt1", "wav/morig.wav": "morig",
                "wav/wia_16kHz.wav": "wia", "raw/speech_orig_16k.wav": "speech_orig"}


def _extracted(root: Path, source: str) -> Path:
    return Path(root).parent / "extracted" / source


def scan_queen(root: Path, limit: int | None = None) -> list[SourceClip]:
    found = extract_queen(root, _extracted(root, "queen"), limit)
    clips = [source_clip(path, "queen", speaker, "en", None) for path, speaker in found]
    return [c for c in clips if c]


def voice_clusters(paths: list[Path], k: int, seed: int = 0) -> list[int]:
    """Cluster clips by voice: MFCC means plus median log pitch, k-means.

    A speaker proxy for archives that do not name their speakers: similar voices
    land in one cluster, so one actor rarely ends up in two splits.
    """
    import librosa
    from sklearn.cluster import KMeans

    from detector.audio import load_audio

    rows = []
    for path in paths:
        x = load_audio(path, 16000).samples
        mfcc = librosa.feature.mfcc(y=x, sr=16000, n_mfcc=20)
        f0 = librosa.yin(x, fmin=60, fmax=500, sr=16000, frame_length=1024)
        rows.append(np.concatenate([mfcc.mean(axis=1), [12.0 * np.log2(np.median(f0) / 100.0)]]))
    table = np.asarray(rows)
    table = (table - table.mean(axis=0)) / (table.std(axis=0) + 1e-9)
    k = max(1, min(k, len(paths) // 5))
    return [int(c) for c in KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(table)]


def scan_sky(root: Path, limit: int | None = None) -> list[SourceClip]:
    paths = extract_sky(root, _extracted(root, "sky"), limit)
    clips = [source_clip(p, "sky", "", "en", None) for p in paths]
    clips = [c for c in clips if c and c.duration_s >= 0.3]
    for clip, cluster in zip(clips, voice_clusters([Path(c.path) for c in clips], SKY_CLUSTERS)):
        clip.speaker = f"sky:voice{cluster:02d}"
    return clips


def scan_warzone(root: Path, limit: int | None = None) -> list[SourceClip]:
    out_dir = _extracted(root, "warzone")
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    with zipfile.ZipFile(Path(root) / WARZONE_ARCHIVE) as archive:
        for name in sorted(archive.namelist()):
            speaker = next((s for prefix, s in WARZONE_FOLDERS.items() if name.startswith(prefix)), None)
            if speaker is None or not name.endswith(".ogg") or any(d in name.lower() for d in WARZONE_DROP):
                continue
            path = out_dir / name.replace("/", "_")
            if not path.exists():
                path.write_bytes(archive.read(name))
            clip = source_clip(path, "warzone", speaker, "en", None)
            if clip:
                clips.append(clip)
            if limit and len(clips) >= limit:
                break
    return clips


def scan_codec2(root: Path, limit: int | None = None) -> list[SourceClip]:
    base = Path(root) / CODEC2_DIR
    clips = [source_clip(base / rel, "codec2", f"codec2:{speaker}", "en", None) for rel, speaker in CODEC2_FILES.items()]
    return [c for c in clips if c]


GAME_SCANNERS = {"queen": scan_queen, "sky": scan_sky, "warzone": scan_warzone, "codec2": scan_codec2}
