"""Index the genuine recordings unpacked from Debian packages.

Each source yields :class:`SourceClip` records with the best available speaker
proxy, the language and, where known, the words spoken (used as TTS text so
both classes say the same things in the same languages).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from train.corpus.genuine_games import GAME_SCANNERS
from train.corpus.source_clip import SourceClip, source_clip

ASTERISK_VOICES = {  # folder -> (speaker, language); Allison records en and es: one speaker
    "en_US_f_Allison": ("asterisk:Allison", "en"),
    "es_MX_f_Allison": ("asterisk:Allison", "es"),
    "fr_CA_f_June": ("asterisk:June", "fr"),
    "it_IT_m_Carlo": ("asterisk:Carlo", "it"),
    "ru_RU_f_IvrvoiceRU": ("asterisk:IvrvoiceRU", "ru"),
}
FESTVOX_RU_SPEAKER = "festvox-ru:nsh"
_AUDIO = (".wav", ".ogg", ".opus")   # what the packaged games ship speech in (a subset of AUDIO_EXTENSIONS)


def _lang(code: str) -> str:
    """ISO 639-1 base of a locale-ish folder name (``pt_BR`` -> ``pt``, ``sr@latin`` -> ``sr``)."""
    return re.split(r"[_@.\-]", code)[0].lower()


def _words(stem: str) -> str:
    return re.sub(r"[_\-]+", " ", stem).strip()


def scan_asterisk(root: Path) -> list[SourceClip]:
    base = root / "usr/share/asterisk/sounds"
    out = []
    for folder, (speaker, lang) in ASTERISK_VOICES.items():
        for path in sorted((base / folder).rglob("*.wav")):
            if "silence" in path.relative_to(base / folder).parts:
                continue  # pure silence prompts
            # File names are English prompt ids: usable as text for the English voice only.
            text = _words(path.stem) if lang == "en" and not path.stem.isdigit() else None
            out.append(source_clip(path, "asterisk", speaker, lang, text))
    return [c for c in out if c]


def scan_festvox_ru(root: Path) -> list[SourceClip]:
    voice = root / "usr/share/festival/voices/russian/msu_ru_nsh_clunits"
    texts: dict[str, str] = {}
    done = voice / "etc/txt.done.data"
    if done.exists():
        for line in done.read_text(encoding="utf-8", errors="replace").splitlines():
            match = re.match(r'\(\s*(\S+)\s+"(.*)"\s*\)', line)
            if match:
                texts[match.group(1)] = match.group(2).replace("+", "")
    out = [source_clip(p, "festvox-ru", FESTVOX_RU_SPEAKER, "ru", texts.get(p.stem))
           for p in sorted((voice / "wav").glob("*.wav"))]
    return [c for c in out if c]


def _stamp_texts(txt: Path) -> dict[str, str]:
    """Language -> description from a Tux Paint stamp ``.txt`` (first line is English)."""
    texts: dict[str, str] = {}
    lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
    if lines and "=" not in lines[0].split(" ")[0]:
        texts["en"] = lines[0].strip()
    for line in lines[1:]:
        match = re.match(r"([A-Za-z_@]+)\.utf8=(.*)", line)
        if match and match.group(2).strip():
            texts.setdefault(_lang(match.group(1)), match.group(2).strip())
    return texts


def scan_tuxpaint(root: Path) -> tuple[list[SourceClip], list[tuple[str, str, str | None]]]:
    """Recordings plus the stamp texts (language, text, owner speaker or None)."""
    base = root / "usr/share/tuxpaint/stamps"
    clips, texts = [], []
    for txt in sorted(base.rglob("*.txt")):
        stamp = txt.with_suffix("")
        descs = {_lang(p.stem.rsplit("_desc_", 1)[1]): p for p in sorted(txt.parent.glob(f"{stamp.name}_desc_*.ogg"))}
        stamp_texts = _stamp_texts(txt)
        for lang, text in stamp_texts.items():
            texts.append((lang, text, f"tuxpaint:{lang}" if lang in descs else None))
        for lang, path in descs.items():
            clip = source_clip(path, "tuxpaint", f"tuxpaint:{lang}", lang, stamp_texts.get(lang))
            if clip:
                clips.append(clip)
    return clips, texts


def scan_fillets(root: Path, min_clips: int = 40) -> list[SourceClip]:
    base = root / "usr/share/games/fillets-ng/sound"
    paths = sorted(base.glob("*/cs/*.ogg"))
    # Dialogue files are <level>-<character>-<line>.ogg; the character is the speaker proxy.
    chars = [p.stem.split("-")[1] if p.stem.count("-") >= 2 else "other" for p in paths]
    counts: dict[str, int] = defaultdict(int)
    for c in chars:
        counts[c] += 1
    out = []
    for path, char in zip(paths, chars):
        speaker = f"fillets:{char}" if counts[char] >= min_clips else "fillets:minor"
        out.append(source_clip(path, "fillets", speaker, "cs", None))
    return [c for c in out if c]


def scan_klettres(root: Path) -> list[SourceClip]:
    base = root / "usr/share/klettres"
    out = []
    for xml in sorted(base.glob("*/sounds.xml")):
        names = dict((f, n) for n, f in re.findall(r'<sound\s+name="([^"]*)"\s+file="([^"]*)"', xml.read_text(errors="replace")))
        folder = xml.parent.name
        for path in sorted(xml.parent.glob("*/*.ogg")):
            rel = f"{folder}/{path.parent.name}/{path.name}"
            out.append(source_clip(path, "klettres", f"klettres:{folder}", _lang(folder), names.get(rel)))
    return [c for c in out if c]


def scan_ktuberling(root: Path) -> list[SourceClip]:
    base = root / "usr/share/ktuberling/sounds"
    seen: set[str] = set()
    out = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in _AUDIO:
                continue
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest in seen:  # the Serbian folders share identical files
                continue
            seen.add(digest)
            words = _words(path.stem.split("_", 1)[-1])
            out.append(source_clip(path, "ktuberling", f"ktuberling:{folder.name}", _lang(folder.name), words or None))
    return [c for c in out if c]


def scan_gcin(root: Path) -> list[SourceClip]:
    base = root / "usr/share/gcin-voice/ogg"
    out = [source_clip(p, "gcin", f"gcin:{p.stem}", "zh", None) for p in sorted(base.glob("*/[35].ogg"))]
    return [c for c in out if c]


SCANNERS = {
    "asterisk": scan_asterisk,
    "festvox-ru": scan_festvox_ru,
    "fillets": scan_fillets,
    "klettres": scan_klettres,
    "ktuberling": scan_ktuberling,
    "gcin": scan_gcin,
}


def scan_sources(root: Path, sources: list[str], cache_file: Path | None = None,
                 limit: int | None = None) -> tuple[list[SourceClip], list[tuple[str, str, str | None]]]:
    """Index the given sources; returns clips and a text pool ``(language, text, owner)``.

    The index is cached as JSON (probing 18k headers takes a while on 2 cores).
    ``limit`` caps the lines taken from each game archive (the small corpus).
    """
    key = ",".join(sorted(sources)) + f"|limit={limit}"
    if cache_file and cache_file.exists():
        data = json.loads(cache_file.read_text())
        if data.get("key") == key:
            return [SourceClip(**c) for c in data["clips"]], [tuple(t) for t in data["texts"]]
    clips: list[SourceClip] = []
    texts: list[tuple[str, str, str | None]] = []
    for source in sources:
        if source == "tuxpaint":
            found, stamp_texts = scan_tuxpaint(root)
            clips += found
            texts += stamp_texts
        elif source in GAME_SCANNERS:
            clips += GAME_SCANNERS[source](root, limit)
        else:
            clips += SCANNERS[source](root)
    for clip in clips:
        if clip.text and clip.source != "tuxpaint":
            texts.append((clip.language, clip.text, clip.speaker))
    if cache_file:
        cache_file.write_text(json.dumps({"key": key, "clips": [asdict(c) for c in clips], "texts": texts}))
    return clips, texts
