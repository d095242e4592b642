"""Fetch Debian packages into a private cache and unpack them without installing.

Every genuine recording and every classic synthesiser (espeak-ng, flite,
festival and its voices) comes from Debian's archive. ``apt-get download``
fetches a ``.deb`` as an ordinary user-level file and ``dpkg-deb`` unpacks it
into ``<cache>/root``; the binaries then run with ``LD_LIBRARY_PATH`` pointed
there, so no system installation (and no root) is needed once lists exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterable

from detector.paths import CORPUS_CACHE_DIR

DEFAULT_CACHE = CORPUS_CACHE_DIR

# Genuine speech: package -> short source name used in the manifest.
GENUINE_PACKAGES: dict[str, list[str]] = {
    "asterisk": [f"asterisk-core-sounds-{lang}-wav" for lang in ("en", "es", "fr", "it", "ru")],
    "festvox-ru": ["festvox-ru"],
    "tuxpaint": ["tuxpaint-stamps-default"],
    "fillets": ["fillets-ng-data-cs"],
    "klettres": ["klettres-data"],
    "ktuberling": ["ktuberling-data"],
    "gcin": ["gcin-voice"],
    "queen": ["flight-of-the-amazon-queen"],
    "sky": ["beneath-a-steel-sky"],
    "warzone": ["warzone2100-data"],
    "codec2": ["codec2-examples"],
}

# Shared libraries the synthesisers need that a minimal Debian may lack.
# Downloading one that is already installed is harmless.
_LIBS = [
    "libasound2", "libasound2-data", "libfftw3-single3", "libsamplerate0", "libasyncns0", "libogg0",
    "libflac12", "libmp3lame0", "libmpg123-0", "libopus0", "libvorbis0a", "libvorbisenc2",
    "libsndfile1", "libpulse0", "libpcaudio0", "libsonic0",
]
TOOL_PACKAGES: dict[str, list[str]] = {
    "espeak-ng": ["espeak-ng", "espeak-ng-data", "libespeak-ng1"],
    "flite": ["flite", "libflite1"],
    "festival": ["festival", "libestools2.5", "festlex-cmu", "festlex-poslex", "festvox-kallpc16k",
                 "festvox-kdlpc16k", "festvox-us-slt-hts", "festival-ca", "festvox-ca-ona-hts",
                 "festlex-ifd", "festvox-italp16k", "festvox-itapc16k", "festvox-suopuhe-common",
                 "festvox-suopuhe-lj", "festvox-suopuhe-mv", "festival-czech", "festvox-czech-dita",
                 "festvox-czech-machac", "festvox-czech-krb", "festvox-czech-ph"],
    "lpcnet": ["libcodec2-1.0"],  # the LPCNet neural vocoder ships inside codec2's library
    "libs": _LIBS,
}
# Only these members of big data packages are needed; skipping the rest
# (images, mostly) keeps unpacking fast.
_MEMBER_FILTERS: dict[str, list[str]] = {
    "tuxpaint-stamps-default": ["*.ogg", "*.txt"],
    "warzone2100-data": ["*/base.wz"],
    "codec2-examples": ["*/codec2/wav/*", "*/codec2/raw/speech_orig_16k.wav"],
}


class PackageError(RuntimeError):
    """A Debian package could not be fetched or unpacked."""


def cache_root(cache: Path | None = None) -> Path:
    """Return the unpack root ``<cache>/root`` (created if needed)."""
    root = Path(cache or DEFAULT_CACHE) / "root"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _download(packages: list[str], deb_dir: Path) -> None:
    """``apt-get download`` the packages not yet in ``deb_dir``."""
    missing = [p for p in packages if not list(deb_dir.glob(f"{p}_*.deb"))]
    if not missing:
        return
    deb_dir.mkdir(parents=True, exist_ok=True)
    cmd = ["apt-get", "download", *missing]
    proc = subprocess.run(cmd, cwd=deb_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        # Missing or stale package lists are the usual cause on a fresh machine.
        if os.geteuid() == 0:
            subprocess.run(["apt-get", "update"], capture_output=True, text=True)
            proc = subprocess.run(cmd, cwd=deb_dir, capture_output=True, text=True)
        if proc.returncode != 0:
            hint = "" if os.geteuid() == 0 else " (run `sudo apt-get update` once, then retry)"
            raise PackageError(f"apt-get download {' '.join(missing)} failed{hint}: {proc.stderr.strip()[-400:]}")


def _extract(deb: Path, root: Path, package: str) -> None:
    patterns = _MEMBER_FILTERS.get(package)
    if patterns is None:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
    else:
        shell = (f"dpkg-deb --fsys-tarfile {shlex_quote(deb)} | tar -x -C {shlex_quote(root)} --wildcards "
                 + " ".join(shlex_quote(p) for p in patterns))
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(f"unpacking {deb.name} failed: {proc.stderr.strip()[-400:]}")


def shlex_quote(value: object) -> str:
    import shlex

    return shlex.quote(str(value))


def ensure_packages(packages: Iterable[str], cache: Path | None = None) -> Path:
    """Download and unpack ``packages`` into the cache; return the unpack root.

    Already unpacked packages are skipped (a marker file per package), so a
    second build costs nothing here.
    """
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise PackageError("apt-get and dpkg-deb are required (Debian or Ubuntu) to fetch the corpus sources")
    base = Path(cache or DEFAULT_CACHE)
    root = cache_root(base)
    marks = base / "unpacked"
    marks.mkdir(parents=True, exist_ok=True)
    todo = [p for p in dict.fromkeys(packages) if not (marks / p).exists()]
    if not todo:
        return root
    _download(todo, base / "debs")
    for package in todo:
        debs = sorted((base / "debs").glob(f"{package}_*.deb"))
        if not debs:
            raise PackageError(f"{package}: no .deb after download")
        _extract(debs[-1], root, package)
        (marks / package).write_text(debs[-1].name + "\n")
    return root


def tool_env(root: Path) -> dict[str, str]:
    """Environment for running the unpacked binaries."""
    root = Path(root).resolve()
    # Multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu, ...) of the unpacked libraries.
    libdirs = sorted((root / "usr" / "lib").glob("*-linux-gnu*")) or [root / "usr/lib/x86_64-linux-gnu"]
    paths = [str(d) for base in libdirs for d in (base, base / "pulseaudio")]
    old = os.environ.get("LD_LIBRARY_PATH")
    if old:
        paths.append(old)
    return dict(os.environ, LD_LIBRARY_PATH=":".join(paths))
