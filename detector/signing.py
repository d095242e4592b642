"""The server's key for integrity records: HMAC-SHA256, kept outside the model store.

A record that only lists hashes can be rewritten by whoever can write the store: change
``model.tflite``, write its new hash, and the record agrees. So the records this server
writes (publishing, Admin retraining, ``python -m detector seal``) carry an HMAC-SHA256
over their content with a key the store does not hold:

* ``$DETECTOR_STORE_KEY``: the key itself (at least 32 characters), for deployments
  that keep secrets in the environment; else
* the file ``$DETECTOR_KEY_FILE`` (default ``~/.config/voice-detector/store.key``),
  created with 32 random bytes and mode 0600 the first time a record is sealed.

The versions the repository ships are trusted by the digests of their records, written
in :mod:`detector.shipped` (package code, not the store). Anything else needs a valid
signature. What this does not stop: someone who can read the key (the server's own user,
or root) can sign anything, and someone who can write the package code can change the
shipped digests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from detector.errors import ModelError

KEY_ENV = "DETECTOR_STORE_KEY"
KEY_FILE_ENV = "DETECTOR_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/voice-detector/store.key")
MIN_KEY_CHARS = 32
ALGORITHM = "hmac-sha256"


def key_file() -> Path:
    """Where the key file is (it may not exist yet)."""
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()


def _read_key_file(path: Path) -> bytes:
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ModelError(f"The model store's signing key ({path.name}) can be read or written by other users; "
                         f"only the server's user may: run `chmod 600` on it.")
    key = path.read_bytes().strip()
    if len(key) < MIN_KEY_CHARS:
        raise ModelError(f"The model store's signing key ({path.name}) is shorter than {MIN_KEY_CHARS} characters, "
                         "so it is damaged; restore it, or delete it and re-seal the versions this server made.")
    return key


def load_key(create: bool = False, store: str | Path | None = None) -> bytes | None:
    """The signing key, or ``None`` when there is none yet and ``create`` is false.

    Parameters
    ----------
    create : bool
        Create the key file (32 random bytes, hex, mode 0600) when it is missing.
    store : str or Path, optional
        The model store; a key file inside it is refused (whoever writes the store would hold the key).

    Raises
    ------
    ModelError
        When the key is too short, its file is readable by others, or it lies in the store.
    """
    value = os.environ.get(KEY_ENV)
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise ModelError(f"${KEY_ENV} is shorter than {MIN_KEY_CHARS} characters: use a longer random key.")
        return value.encode("utf-8")
    path = key_file()
    if store is not None and path.resolve().is_relative_to(Path(store).resolve()):
        raise ModelError("The model store's signing key must live outside the model store: set "
                         f"${KEY_FILE_ENV} to a path elsewhere.")
    if path.is_file():
        return _read_key_file(path)
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:   # another process created it first: use theirs
        return _read_key_file(path)
    with os.fdopen(handle, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    return _read_key_file(path)


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the record without its signature, keys sorted, no spaces."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def key_id(key: bytes) -> str:
    """A short public name of the key (not the key): which key signed a record."""
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:12]


def sign(record: dict[str, Any], key: bytes) -> dict[str, str]:
    """The signature entry for ``record``: algorithm, key id and the HMAC in hex."""
    return {"algorithm": ALGORITHM, "key": key_id(key),
            "mac": hmac.new(key, canonical(record), hashlib.sha256).hexdigest()}


def signature_valid(record: dict[str, Any], key: bytes) -> bool:
    """Whether ``record`` carries a valid signature made with ``key``."""
    signature = record.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return False
    expected = hmac.new(key, canonical(record), hashlib.sha256).hexdigest()
    return isinstance(signature.get("mac"), str) and hmac.compare_digest(signature["mac"], expected)
