"""Regenerate the Learn page's example clips: ``python -m train.learn_assets``.

For each example a permissively licensed genuine recording (from Debian packages,
fetched with the corpus tools) is copied together with synthetic versions of the
same words: WORLD and Griffin-Lim vocoder copies made exactly as the corpus makes
its fakes (``train.corpus.vocoders.make_copies``: the corpus rate, the corpus methods, seed 0), and
classic text-to-speech (espeak-ng, flite) reading the same sentence. The clips,
``manifest.json`` and ``ATTRIBUTION.md`` go to ``assets/learn/`` and are committed,
so the app never needs the synthesisers at runtime. Output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from detector.audio import resample
from detector.paths import ASSETS_DIR
from detector.speech import MAX_DIGITAL_SILENCE_S, digital_silence_s
from train.corpus.vocoders import RATE, make_copies

OUT_DIR = ASSETS_DIR / "learn"
MAX_TOTAL_BYTES = 2 * 1024 * 1024
PEAK = 0.7
# A genuine example must not hold digital silence (exact zeros, detector.speech.MAX_DIGITAL_SILENCE_S): the page
# teaches that real recordings keep a noise floor between words, and a pupil would see the opposite.


@dataclass(frozen=True)
class Example:
    """One genuine recording and how to say its words with TTS."""

    id: str
    title: str
    language: str
    package: str
    member: str          # path of the recording inside the unpacked package
    text: str
    translation: str
    espeak_voice: str
    flite_voice: str | None
    speaker: str
    license: str
    copyright: str
    note: str
    rate: int | None = None   # resample the recording to this rate (None: keep its own)


EXAMPLES = (
    # Wideband recordings of several seconds without digital silence. The page says what the served model makes
    # of each (webapp.learn_scores). Chosen with model 20261204-2200 among the 510 Tux Paint descriptions of 3 s or
    # more: none had its recording cleared *and* both vocoder copies flagged. The thermometer is one of the 9 whose
    # two copies it flags; Saturn a recording whose copies it misses. Neither recording is in corpus v2 (the
    # speaker's others are; the page says so). Not used: the English Asterisk prompt (8 kHz telephone audio;
    # asterisk sources are kept for independent evaluation), the festvox-ru sentence (its recordings mostly score
    # "uncertain" with the shipped model) and the French menorah (the shipped model misses both of its copies).
    Example(
        id="es-thermometer", title="A Spanish description: a thermometer", language="Spanish",
        package="tuxpaint-stamps-default",
        member="usr/share/tuxpaint/stamps/medical/digitalthermometer_desc_es.ogg",
        text="Un termómetro digital para tomarte la temperatura.",
        translation="A digital thermometer for taking your temperature.",
        espeak_voice="es", flite_voice=None,
        speaker="a Tux Paint contributor (stamp description, Spanish)", license="GPL-2.0-or-later",
        copyright="2002-2022 Bill Kendrick and the Tux Paint contributors; Debian package "
                  "tuxpaint-stamps-default 2022.06.04-1",
        note="A 44.1 kHz recording, resampled to 16 kHz (the rate the model listens at): the full speech band "
             "up to 8 kHz.",
        rate=16000,
    ),
    Example(
        id="es-saturn", title="A Spanish description: Saturn", language="Spanish",
        package="tuxpaint-stamps-default",
        member="usr/share/tuxpaint/stamps/space/planets/6_saturn_desc_es.ogg",
        text="Saturno, el segundo planeta más grande de nuestro sistema solar y uno de los que más anillos tiene.",
        translation="Saturn, the second largest planet in our solar system and one of those with the most rings.",
        espeak_voice="es", flite_voice=None,
        speaker="a Tux Paint contributor (stamp description, Spanish)", license="GPL-2.0-or-later",
        copyright="2002-2022 Bill Kendrick and the Tux Paint contributors; Debian package "
                  "tuxpaint-stamps-default 2022.06.04-1",
        note="A 44.1 kHz recording, resampled to 16 kHz (the rate the model listens at): the full speech band "
             "up to 8 kHz.",
        rate=16000,
    ),
)

VERSION_LABELS = {
    "genuine": "Genuine recording",
    "world": "WORLD vocoder copy",
    "griffin_lim": "Griffin-Lim copy (80-band mel)",
    "espeak": "Text-to-speech: espeak-ng",
    "flite": "Text-to-speech: flite",
}


def source_root() -> Path:
    """Unpack the genuine-source packages and espeak-ng with the corpus tools (cached after the first run)."""
    from train.corpus.debs import TOOL_PACKAGES, ensure_packages

    tools = {*TOOL_PACKAGES["espeak-ng"], *TOOL_PACKAGES["libs"]}   # espeak-ng and the libraries it needs
    return ensure_packages(sorted({e.package for e in EXAMPLES} | tools))


def _binary(name: str, root: Path) -> str | None:
    """The synthesiser unpacked by the corpus tools under ``root``, else an installed one."""
    unpacked = root / "usr" / "bin" / name
    return str(unpacked) if unpacked.is_file() else shutil.which(name)


def _tts_command(tool: str, example: Example, out: Path, root: Path) -> list[str] | None:
    if tool == "espeak" and (binary := _binary("espeak-ng", root)):
        data = next((root / "usr" / "lib").glob("*/espeak-ng-data"), None)
        return [binary, *([f"--path={data}"] if data else []), "-v", example.espeak_voice, "-s", "150",
                "-w", str(out), example.text]
    if tool == "flite" and example.flite_voice and (binary := _binary("flite", root)):
        return [binary, "-voice", example.flite_voice, "-t", example.text, "-o", str(out)]
    return None


def tts(tool: str, example: Example, rate: int, workdir: Path, root: Path) -> np.ndarray | None:
    """The sentence spoken by ``tool`` at ``rate``, or ``None`` when the tool is not available."""
    from train.corpus.debs import tool_env

    out = workdir / f"{example.id}-{tool}.wav"
    command = _tts_command(tool, example, out, root)
    if command is None:
        return None
    subprocess.run(command, check=True, capture_output=True, timeout=120, env=tool_env(root))
    samples, native = sf.read(out, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    # Band-limit to the genuine clip's rate, so bandwidth is not the difference a pupil sees.
    return resample(mono, native, rate)


def _level(samples: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(samples))) or 1.0
    return (samples * (PEAK / peak)).astype(np.float32)


def build_example(example: Example, root: Path, out_dir: Path, workdir: Path) -> dict:
    """Write one example's clips; return its manifest entry."""
    genuine, rate = sf.read(root / example.member, dtype="float32", always_2d=True)
    genuine = genuine.mean(axis=1)
    if example.rate and example.rate < rate:
        genuine, rate = resample(genuine, rate, example.rate), example.rate
    if rate != RATE:
        genuine, rate = resample(genuine, rate, RATE), RATE
    genuine = _level(genuine)
    if digital_silence_s(genuine, rate) > MAX_DIGITAL_SILENCE_S:
        raise SystemExit(f"{example.id}: the genuine recording holds digital silence; choose another example")
    versions = {("genuine" if key == "original" else key): copy for key, _, copy in make_copies(genuine, rate)}
    for tool in ("espeak", "flite"):
        spoken = tts(tool, example, rate, workdir, root)
        if spoken is not None:
            versions[tool] = _level(spoken)
    folder = out_dir / example.id
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for kind, samples in versions.items():
        name = f"{example.id}/{kind}.flac"
        sf.write(out_dir / name, _level(samples), rate, format="FLAC", subtype="PCM_16")
        entries.append({"kind": kind, "label": VERSION_LABELS[kind], "file": name,
                        "duration_s": round(len(samples) / rate, 2)})
    return {"id": example.id, "title": example.title, "language": example.language, "text": example.text,
            "translation": example.translation, "sample_rate": rate, "speaker": example.speaker,
            "license": example.license, "note": example.note, "versions": entries}


def _synthetic_sources(entry: dict) -> str:
    kinds = {v["kind"] for v in entry["versions"]}
    parts = ["WORLD (pyworld) and Griffin-Lim copies of the recording, made as the corpus makes its fakes"]
    tools = [name for kind, name in (("espeak", "espeak-ng (GPL-3.0+)"), ("flite", "flite (BSD-like)"))
             if kind in kinds]
    if tools:
        parts.append(" and ".join(tools) + " reading the same words (synthesiser output carries no "
                     "licence restriction of its own)")
    return "; ".join(parts)


def attribution(examples: list[dict]) -> str:
    """ATTRIBUTION.md text for the committed clips."""
    lines = ["# Attribution of the Learn page's example clips", "",
             "Generated by `python -m train.learn_assets`. Synthetic versions are derivatives of the genuine",
             "recordings (vocoder copies) or new text-to-speech of the same words; modifications are marked",
             "by the file names (`world`, `griffin_lim`, `espeak`, `flite`).", ""]
    for entry, example in zip(examples, EXAMPLES):
        lines += [f"## {entry['id']}/", "",
                  f"- Genuine recording: `{example.member.rsplit('/', 1)[-1]}` from Debian package "
                  f"`{example.package}`, speaker {example.speaker}.",
                  f"- Copyright: {example.copyright}.",
                  f"- Licence: {example.license}. The derived clips in this folder are shared under the same licence.",
                  f"- Words: \"{example.text}\"" + (f" ({example.translation})" if example.translation else ""),
                  f"- Synthetic versions: {_synthetic_sources(entry)}.", ""]
    lines += ["GPL-2.0-or-later: https://www.gnu.org/licenses/old-licenses/gpl-2.0.html . The source of each",
              "recording is the Debian package named above (its copyright file and source package).", ""]
    return "\n".join(lines)


def build(out_dir: Path = OUT_DIR, root: Path | None = None) -> Path:
    """Regenerate every example under ``out_dir``; return the manifest path."""
    root = Path(root) if root else source_root()
    if out_dir.exists():
        for child in out_dir.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        examples = [build_example(e, root, out_dir, Path(workdir)) for e in EXAMPLES]
    manifest = out_dir / "manifest.json"
    manifest.write_text(json.dumps({"examples": examples}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "ATTRIBUTION.md").write_text(attribution(examples), encoding="utf-8")
    total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"assets/learn is {total / 1e6:.2f} MB; the limit is {MAX_TOTAL_BYTES / 1e6:.1f} MB")
    print(f"wrote {sum(len(e['versions']) for e in examples)} clips, {total / 1024:.0f} KiB, to {out_dir}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.learn_assets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder (default assets/learn)")
    parser.add_argument("--root", help="folder where the source packages are already unpacked")
    args = parser.parse_args(argv)
    build(Path(args.out), Path(args.root) if args.root else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
