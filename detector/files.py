"""Files the store writes and checks: atomic text writes and SHA-256 digests.

One place for both, at the bottom of :mod:`detector`'s layers, so the registry, the
report, the integrity record, the encoder record and the trainer write and hash files
the same way.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_CHUNK = 1 << 20


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half of either.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created when missing.
    text : str
        The content, written as UTF-8.
    mode : int, optional
        Permission bits for the new file. Temporary files start private (0600), so a file
        the app must read as another user needs e.g. ``0o644``.

    Returns
    -------
    Path
        The path written.
    """
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_text`); returns the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
