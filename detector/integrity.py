"""A model version proves it is intact: file hashes and reference scores recorded when it is sealed.

A probe that only asks for one finite score let a damaged model through: three flipped
bits in a shipped ``model.tflite`` still gave finite scores, 0.94 *likely synthetic* for
every clip. So each version carries ``integrity.json``, written when it is published
(or sealed later with ``python -m detector seal VERSION``):

* the version's name, and the SHA-256 of every file in the version folder;
* the clip logit and calibrated probability of each committed reference recording
  (``assets/reference/``, genuine and synthetic) under the version's own features and
  calibration;
* an HMAC-SHA256 over all of it with this server's key (:mod:`detector.signing`), which
  lives outside the store. The versions the repository ships carry no signature: the
  digests of their records are in the package code (:mod:`detector.shipped`).

:func:`verify` checks the record is genuine (shipped or signed), names this version,
and that every hash and reference score still holds. What that guarantees: whoever can
write the store but not read the key cannot change a version's files, rename a version,
or make a record of their own that passes. The reference scores add a check that the
model still listens to its input; they are no defence against a forger on their own (a
head can be changed so that four recordings keep their scores). A version without a
record is refused too: deleting the record must not switch the check off.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from detector.encoder.record import cached_sha256, shared_encoder_file
from detector.errors import ModelError
from detector.files import atomic_write_text, sha256_file
from detector.inference import Detector
from detector.paths import ASSETS_DIR
from detector.registry import ModelVersion, load_folder, valid_version_name
from detector.shipped import SHIPPED_RECORDS
from detector.signing import canonical, load_key, sign, signature_valid

INTEGRITY_FILE = "integrity.json"
RECORD_FORMAT = 1
REFERENCE_DIR = ASSETS_DIR / "reference"
REFERENCE_LABELS = ("genuine", "synthetic")
# Scores are recomputed on the same CPU kind with the same code: they agree to ~1e-6; a damaged
# model moves them by far more. A change too small to show here is the hashes' job.
LOGIT_TOLERANCE = 1e-3
_passed: set[str] = set()   # digests of records whose reference scores were reproduced in this process
_passed_lock = threading.Lock()


def file_digests(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder`` except the record, keyed by POSIX relative path.

    Hidden names (``.``-prefixed: atomic writes' temporary files) are not part of a version.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"Model version {folder.name!r} does not exist in the model store.")
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and relative.as_posix() != INTEGRITY_FILE \
                and not any(part.startswith(".") for part in relative.parts):
            files[relative.as_posix()] = sha256_file(path)
    return files


def reference_clips(reference_dir: str | Path | None = None) -> list[Path]:
    """The reference recordings, sorted; each file name starts with its label (``genuine-``/``synthetic-``).

    Raises
    ------
    ModelError
        When the folder lacks a genuine or a synthetic recording.
    """
    folder = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    clips = sorted(p for p in folder.glob("*.flac") if p.is_file()) if folder.is_dir() else []
    labels = {clip.name.split("-", 1)[0] for clip in clips}
    if not set(REFERENCE_LABELS) <= labels:
        raise ModelError("The reference recordings (assets/reference) are missing: the installation is incomplete, "
                         "so no model version can prove it is intact.")
    return clips


def reference_scores(version: ModelVersion, clips: list[Path]) -> list[dict[str, Any]]:
    """Score each clip with ``version`` (its own features and calibration): one entry per clip.

    Through :meth:`Detector.analyse`, the public path every verdict takes: a CNN version's
    windows, or an encoder version's one pass of the shared encoder (whose file the
    version's ``encoder.json`` pins by SHA-256, so the reference scores vouch for it too).
    """
    detector = Detector(version, num_threads=1)
    entries = []
    for clip in clips:
        analysis = detector.analyse(clip)
        entries.append({"clip": clip.name, "label": clip.name.split("-", 1)[0], "sha256": sha256_file(clip),
                        "clip_logit": float(analysis.clip_logit), "p_synthetic": float(analysis.p_synthetic)})
    return entries


def seal(version: ModelVersion, reference_dir: str | Path | None = None, name: str | None = None) -> dict[str, Any]:
    """Write ``integrity.json`` into ``version``'s folder and return its content.

    ``name`` is the name the record binds (default: the folder's); a version assembled in
    ``.tmp-<name>`` is sealed for the name it is published under.

    Raises
    ------
    ModelError
        When a reference score is not finite, or every reference recording gets the same
        score (a model that does not listen to its input must not be vouched for).
    """
    name = name or version.name
    if not valid_version_name(name):
        raise ModelError(f"{name!r} cannot name a model version: names use letters, digits, '.', '_' and '-' only.")
    references = reference_scores(version, reference_clips(reference_dir))
    logits = [entry["clip_logit"] for entry in references]
    if not all(math.isfinite(value) for value in logits):
        raise ModelError(f"Model version {version.name!r} cannot be sealed: a reference recording got no finite score.")
    if max(logits) - min(logits) <= LOGIT_TOLERANCE:
        raise ModelError(f"Model version {version.name!r} cannot be sealed: it gives every reference recording the "
                         "same score, so it does not respond to its input.")
    key = load_key(create=True, store=version.path.parent)
    record = {"format": RECORD_FORMAT, "version": name,
              "sealed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "files": file_digests(version.path), "references": references,
              "tolerance": {"clip_logit": LOGIT_TOLERANCE}}
    record["signature"] = sign(record, key)
    # Atomic writes start private; the server may run as another user.
    atomic_write_text(version.path / INTEGRITY_FILE, json.dumps(record, indent=2) + "\n", mode=0o644)
    return record


def seal_folder(folder: str | Path, reference_dir: str | Path | None = None, name: str | None = None) -> dict[str, Any]:
    """Load the version in ``folder`` (e.g. one still being published as ``name``) and :func:`seal` it."""
    return seal(load_folder(folder), reference_dir, name)


def read_integrity_record(version: ModelVersion) -> dict[str, Any]:
    """The version's record, validated in shape.

    Raises
    ------
    ModelError
        When the record is missing or malformed; the sentence names the repair.
    """
    name, path = version.name, version.path / INTEGRITY_FILE
    repair = f"Check the version, then record it with `python -m detector seal {name}`."
    if not path.is_file():
        raise ModelError(f"Model version {name!r} has no integrity record ({INTEGRITY_FILE}), so nothing shows that its "
                         f"files are the ones that were published. {repair}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if not _valid_record(record):
        raise ModelError(f"Model version {name!r} has an unreadable integrity record ({INTEGRITY_FILE}). {repair}")
    return record


def verify(version: ModelVersion, reference_dir: str | Path | None = None) -> None:
    """Check ``version`` against its record: every file's hash, then the reference scores.

    Raises
    ------
    ModelError
        Naming the version and what failed (a missing or changed file, a changed reference
        recording, or a reference score that moved).
    """
    name = version.name
    record = read_integrity_record(version)
    recorded, present = record["files"], file_digests(version.path)
    covered = ("model.tflite", "features.json", "calibration.json") + (("encoder.json",) if version.encoder else ())
    missing = [f for f in covered if f not in recorded]
    if missing:
        raise ModelError(f"Model version {name!r} failed its integrity check: its record does not cover "
                         f"{', '.join(missing)}.")
    for file, expected in recorded.items():
        if file not in present:
            raise ModelError(f"Model version {name!r} failed its integrity check: {file} is missing.")
        if present[file] != expected:
            raise ModelError(f"Model version {name!r} failed its integrity check: {file} is not the file recorded "
                             f"when the version was sealed (its SHA-256 differs), so it is damaged or was changed. "
                             f"If it was changed on purpose, check the version and run "
                             f"`python -m detector seal {name}`.")
    _check_authentic(version, record)   # after the hashes: damage gets the plainer sentence, forgery this one
    # The reference scores depend on the version's files (the record covers them) and on the shared encoder,
    # which lives outside the version: its digest, hashed again whenever the file's inode or ctime changed,
    # is part of the key, so an encoder edited in place is checked again instead of trusted from memory, and a
    # rebuilt one that its fingerprint let through (other bytes) reproduces the reference scores before it is trusted.
    encoder = "" if version.encoder is None else \
        cached_sha256(shared_encoder_file(name, version.path.parent, version.encoder))
    key = hashlib.sha256((json.dumps(record, sort_keys=True) + encoder).encode("utf-8")).hexdigest()
    with _passed_lock:
        if key in _passed:   # same bytes as a record already reproduced here: the scores cannot differ
            return
    _check_references(version, record["references"], reference_dir)
    with _passed_lock:
        _passed.add(key)


def record_digest(record: dict[str, Any]) -> str:
    """The SHA-256 that :mod:`detector.shipped` lists for a shipped version's record."""
    return hashlib.sha256(canonical(record)).hexdigest()


def _check_authentic(version: ModelVersion, record: dict[str, Any]) -> None:
    """Refuse a record that is neither a shipped one under its own name nor signed by this server for this name."""
    name = version.name
    if "signature" not in record and SHIPPED_RECORDS.get(name) == record_digest(record):
        return
    if record.get("version") != name and "version" in record:
        raise ModelError(f"Model version {name!r} failed its integrity check: its record was sealed for "
                         f"{record['version']!r}, so the folder was copied or renamed. Seal it under this name "
                         f"with `python -m detector seal {name}` once you have checked it.")
    key = load_key(create=False, store=version.path.parent)
    if key is None or not signature_valid(record, key) or "version" not in record:
        why = "this server has no signing key yet" if key is None else "its signature does not match this " \
            "server's key"
        raise ModelError(f"Model version {name!r} failed its integrity check: its record is not one this project "
                         f"shipped and {why}, so anyone who can write the model store could have written it. If "
                         f"you made this version, check it and run `python -m detector seal {name}` as the "
                         "server's user.")


def _check_references(version: ModelVersion, expected: list[dict[str, Any]],
                      reference_dir: str | Path | None) -> None:
    folder = Path(reference_dir) if reference_dir is not None else REFERENCE_DIR
    clips = []
    for entry in expected:
        clip = folder / entry["clip"]
        if not clip.is_file() or sha256_file(clip) != entry["sha256"]:
            raise ModelError(f"Model version {version.name!r} cannot be checked: the reference recording "
                             f"{entry['clip']} is missing or has changed (assets/reference), so the installation "
                             "is damaged.")
        clips.append(clip)
    for entry, got in zip(expected, reference_scores(version, clips)):
        if not abs(got["clip_logit"] - entry["clip_logit"]) <= LOGIT_TOLERANCE:
            raise ModelError(f"Model version {version.name!r} failed its integrity check: it scores the "
                             f"{entry.get('label', 'reference')} reference recording {entry['clip']} {got['p_synthetic']:.6f} "
                             f"(logit {got['clip_logit']:.4f}) where {entry['p_synthetic']:.6f} (logit "
                             f"{entry['clip_logit']:.4f}) was recorded, so its model is damaged.")


def _valid_record(record: Any) -> bool:
    """Whether ``record`` has the shape :func:`seal` writes."""
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        return False
    if not isinstance(record.get("version", ""), str) or not isinstance(record.get("signature", {}), dict):
        return False
    files, references = record.get("files"), record.get("references")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return False
    if not isinstance(references, list) or not references:
        return False
    for entry in references:
        if not isinstance(entry, dict) or not isinstance(entry.get("clip"), str) or "/" in entry["clip"] \
                or "\\" in entry["clip"] or entry["clip"].startswith(".") or not isinstance(entry.get("sha256"), str):
            return False
        if not all(isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)
                   for k in ("clip_logit", "p_synthetic")):
            return False
    return True
