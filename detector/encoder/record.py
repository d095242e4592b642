"""``encoder.json``: what an encoder model version says about the shared speech encoder it runs on.

An encoder version's ``model.tflite`` is only the head; the encoder itself is the one
shared file ``<store>/encoders/whisper-base-N.tflite`` (:mod:`detector.encoder.runtime`),
never copied into a version. The record pins that file by name, SHA-256 and fingerprint
and says which encoder outputs the head reads::

    {"file": "whisper-base-4.tflite", "sha256": "...", "blocks": 4,
     "head": {"kind": "pooled", "outputs": [0, 1, 2, 3, 4], "temporal_outputs": [],
              "c_grid": [0.001, 0.003, 0.01, 0.03, 0.1], "per_output": false},
     "pooling": "mean and standard deviation over encoder frames",
     "fingerprint": [[[0.12345, ...], ...], ...]}

``head`` is the version's :class:`~detector.encoder.head_spec.HeadSpec`. Records written
before specs hold ``"outputs": [...]`` and optionally ``"head": "pooled+temporal"``
instead; they read as :meth:`HeadSpec.legacy <detector.encoder.head_spec.HeadSpec.legacy>`.

``fingerprint`` is :meth:`~detector.encoder.runtime.WhisperEncoder.fingerprint`: the
encoder's outputs on a fixed input, (frames, blocks + 1, channels). A rebuild of the
encoder (``make encoder`` after a TensorFlow or LiteRT upgrade) can change the file's
bytes while its outputs agree; :func:`serving_encoder` serves the file with the recorded
SHA-256, or another whose fingerprint agrees within
:data:`~detector.encoder.runtime.FINGERPRINT_TOLERANCE`. Records written before
fingerprints have none and accept the recorded SHA-256 only.

The head's input is ``pooled_stats(frames)[outputs].reshape(-1)``: for each listed output
in order, the 512 means over time, then the 512 standard deviations. A fused head
(kind ``pooled+temporal``) also reads :func:`~detector.encoder.runtime.step_sequence` of the
frames and a mask (all ones): inputs ``pooled_stats``, ``sequence`` and ``mask``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.encoder.head_spec import FUSED, POOLED, HeadSpec
from detector.encoder.runtime import (
    ENCODERS_FOLDER,
    FINGERPRINT_CHANNEL_STEP,
    FINGERPRINT_FRAMES,
    FINGERPRINT_TOLERANCE,
    WhisperEncoder,
    fingerprint_difference,
)
from detector.errors import ModelError
from detector.files import sha256_file
from detector.frontends import ENCODER_FRONT_ENDS

ENCODER_RECORD_FILE = "encoder.json"
# A fine-tuned version's own blocks (train.encoder.tuned_export): `make encoder` builds its encoder file from them.
TUNED_BLOCKS_FILE = "tuned_blocks.npz"


def tuned_block_numbers(folder: str | Path) -> tuple[int, ...]:
    """The encoder blocks (1-based, as the card and docs count them) a version fine-tuned; () when none.

    Read from the names in its ``tuned_blocks.npz`` (CTranslate2's ``encoder/layer_<i>/...``, 0-based).
    """
    path = Path(folder) / TUNED_BLOCKS_FILE
    if not path.exists():
        return ()
    with np.load(path) as tuned:
        return tuple(sorted({int(k.split("/")[1].removeprefix("layer_")) + 1 for k in tuned.files}))
POOLING = "mean and standard deviation over encoder frames"
ENCODER_WIDTH = 512            # Whisper base
STATS_PER_OUTPUT = 2           # mean, standard deviation
_digests: dict[tuple, str] = {}   # (path, device, inode, size, mtime, ctime) -> SHA-256: hash a large file once
_digests_lock = threading.Lock()


@dataclass(frozen=True)
class EncoderRecord:
    """The parsed ``encoder.json`` of one version.

    Attributes
    ----------
    file : str
        Name of the shared encoder file in ``<store>/encoders/``.
    sha256 : str
        SHA-256 of that file when the version was published.
    blocks : int
        Transformer blocks the encoder keeps; it returns ``blocks + 1`` outputs.
    spec : HeadSpec
        The head: its kind, the encoder outputs it reads (in its order), its regularisation.
    pooling : str
        How frames become one vector (only :data:`POOLING` exists).
    fingerprint : tuple, optional
        The encoder's outputs on the fixed input when the version was published, nested
        (frames, blocks + 1, channels); ``None`` in records written before fingerprints.
    """

    file: str
    sha256: str
    blocks: int
    spec: HeadSpec
    pooling: str = POOLING
    fingerprint: Any = None   # given as nested lists or an array, kept as nested tuples of floats

    def __post_init__(self) -> None:
        if not self.file or Path(self.file).name != self.file or self.file.startswith("."):
            raise ValueError(f"the encoder file must be a plain file name, got {self.file!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError("the encoder's sha256 must be 64 lower-case hex digits")
        if not 1 <= self.blocks <= 6:
            raise ValueError(f"blocks must be 1-6 (Whisper base), got {self.blocks}")
        read = (*self.spec.outputs, *self.spec.temporal_outputs)
        if any(not 0 <= o <= self.blocks for o in read):
            raise ValueError(f"the head reads outputs 0-{self.blocks} of this encoder, got {sorted(set(read))}")
        if self.pooling != POOLING:
            raise ValueError(f"pooling must be {POOLING!r}, got {self.pooling!r}")
        if self.fingerprint is None:
            return
        # Stored as nested tuples of floats, so records compare and hash; an array or JSON's lists are accepted.
        given = self.fingerprint.tolist() if isinstance(self.fingerprint, np.ndarray) else self.fingerprint
        object.__setattr__(self, "fingerprint", _nested_numbers(given))
        shape = (FINGERPRINT_FRAMES, self.blocks + 1, ENCODER_WIDTH // FINGERPRINT_CHANNEL_STEP)
        if np.shape(self.fingerprint) != shape or not np.all(np.isfinite(self.fingerprint_values)):
            raise ValueError(f"the fingerprint must be {shape[0]} frames of {shape[1]} outputs of {shape[2]} finite "
                             "numbers")

    @property
    def fingerprint_values(self) -> np.ndarray:
        """:attr:`fingerprint` as an array (float64); empty when the record has none."""
        return np.asarray(self.fingerprint if self.fingerprint is not None else [], dtype=np.float64)

    @property
    def outputs(self) -> tuple[int, ...]:
        """The encoder outputs the head's pooled part reads (its spec's)."""
        return self.spec.outputs

    @property
    def head(self) -> str:
        """The head's kind (its spec's): ``pooled`` or ``pooled+temporal`` (:mod:`detector.encoder.head_spec`)."""
        return self.spec.kind

    @property
    def head_inputs(self) -> int:
        """Length of the head's input vector: mean and deviation of 512 values per output."""
        return len(self.outputs) * STATS_PER_OUTPUT * ENCODER_WIDTH

    def to_dict(self) -> dict[str, Any]:
        data = {"file": self.file, "sha256": self.sha256, "blocks": self.blocks, "head": self.spec.to_dict(),
                "pooling": self.pooling}
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint_values.tolist()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "EncoderRecord":
        if isinstance(data, dict) and isinstance(data.get("head"), dict):   # a record with its head spec
            keys, optional = {"file", "sha256", "blocks", "head", "pooling"}, {"fingerprint"}
        else:                                                                # a record from before specs
            keys, optional = {"file", "sha256", "blocks", "outputs", "pooling"}, {"head", "fingerprint"}
        if not isinstance(data, dict) or not keys <= set(data) <= keys | optional:
            raise ValueError(f"encoder.json must hold exactly {', '.join(sorted(keys))} (and optionally "
                             f"{' and '.join(sorted(optional))})")
        if not isinstance(data["blocks"], int) or not all(isinstance(data[k], str) for k in ("file", "sha256")):
            raise ValueError("file and sha256 must be text and blocks an integer")
        if "outputs" in keys:
            outputs, kind = data["outputs"], data.get("head", POOLED)
            if not isinstance(outputs, list) or not all(isinstance(o, int) and not isinstance(o, bool)
                                                        for o in outputs):
                raise ValueError("outputs must be a list of integers")
            if kind not in (POOLED, FUSED):
                raise ValueError(f"head must be {POOLED!r} or {FUSED!r}, got {kind!r}")
            spec = HeadSpec.legacy(kind, tuple(outputs))
        else:
            spec = HeadSpec.from_dict(data["head"])
        return cls(file=data["file"], sha256=data["sha256"], blocks=data["blocks"], spec=spec,
                   pooling=data["pooling"], fingerprint=data.get("fingerprint"))

    def save(self, folder: str | Path) -> None:
        # One line per innermost list: the fingerprint's 480 numbers one per line would be ~10 KB and unreadable.
        text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]",
                      json.dumps(self.to_dict(), indent=2))
        (Path(folder) / ENCODER_RECORD_FILE).write_text(text + "\n")


def _nested_numbers(value: Any) -> Any:
    """``value`` as nested tuples of floats; ValueError when a leaf is not a number (a bool is not one)."""
    if isinstance(value, (list, tuple)):
        return tuple(_nested_numbers(item) for item in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("the fingerprint must hold numbers only")
    return float(value)


def read_encoder_record(folder: str | Path) -> EncoderRecord | None:
    """The record in a version folder, or ``None`` when the version has none (a CNN version).

    Raises
    ------
    ModelError
        When the record exists but cannot be read or has the wrong shape.
    """
    path = Path(folder) / ENCODER_RECORD_FILE
    if not path.is_file():
        return None
    try:
        return EncoderRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:   # JSONDecodeError is a ValueError
        raise ModelError(f"Model version {Path(folder).name!r} has an unreadable {ENCODER_RECORD_FILE}: {exc}") from exc


def version_record(folder: str | Path, feature: str) -> EncoderRecord | None:
    """The record of the version in ``folder`` whose ``features.json`` names ``feature``, its encoder checked.

    Encoder versions (their feature is an encoder's front end) and only they carry a
    record; the shared encoder file it names must be in the version's store, with the
    recorded SHA-256 unless the record has a fingerprint (:func:`shared_encoder_file`).

    Raises
    ------
    ModelError
        When the record is unreadable, missing from an encoder version or present in
        another, or the shared encoder file is missing or different.
    """
    folder = Path(folder)
    record = read_encoder_record(folder)
    if (record is None) == (feature in ENCODER_FRONT_ENDS):
        raise ModelError(f"Model version {folder.name!r} is inconsistent: its features.json names the {feature!r} "
                         f"front end, but it {'lacks' if record is None else 'has'} {ENCODER_RECORD_FILE}, which encoder "
                         "versions and only they carry.")
    if record is not None:
        shared_encoder_file(folder.name, folder.parent, record)
    return record


def cached_sha256(path: Path) -> str:
    """SHA-256 of ``path``, remembered while the file's identity and status times stay the same.

    The encoder is tens of megabytes and every load, probe and check asks for its digest.
    The key holds the inode and the status-change time as well as size and modification
    time: an in-place edit that restores the modification time still changes ``ctime``,
    which no user can set, so it is hashed again.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = sha256_file(path)
    with _digests_lock:
        _digests[key] = digest
    return digest


def shared_encoder_file(version: str, store: str | Path, record: EncoderRecord) -> Path:
    """The shared encoder file ``record`` names in ``store``, once it is present and may be the recorded one.

    A record without a fingerprint accepts only the recorded SHA-256. With a fingerprint,
    a file with other bytes passes here: whether its outputs agree is judged on the
    interpreter that will serve (:func:`serving_encoder`), when the scorer is built.

    Parameters
    ----------
    version : str
        The version's name, for the sentences.
    store : str or Path
        The model store holding the version (``encoders/`` is inside it).
    record : EncoderRecord
        The version's record.

    Raises
    ------
    ModelError
        When the file is missing or unreadable, or (for a record without a fingerprint) is
        not the file the version was published with; the sentence names the file and the
        repair (``make encoder``).
    """
    path = Path(store) / ENCODERS_FOLDER / record.file
    where = f"{ENCODERS_FOLDER}/{record.file}"
    if not path.is_file():
        raise ModelError(f"Model version {version!r} runs on the shared speech encoder {where}, which is missing "
                         f"from the model store: run `make encoder ENCODER_BLOCKS={record.blocks}` to build it.")
    try:
        digest = cached_sha256(path)
    except OSError as exc:
        raise ModelError(f"Model version {version!r} runs on the shared speech encoder {where}, which cannot be "
                         "read: check the file's permissions.") from exc
    if digest != record.sha256 and record.fingerprint is None:
        raise ModelError(_replaced(version, record))
    return path


def serving_encoder(version: str, store: str | Path, record: EncoderRecord, num_threads: int = 2) -> WhisperEncoder:
    """The shared encoder ``record`` names, built once and accepted by what it serves.

    The interpreter is built from the file's bytes read once; it is accepted when those
    bytes have the recorded SHA-256, or else when the record has a fingerprint and this
    interpreter's own fingerprint agrees within
    :data:`~detector.encoder.runtime.FINGERPRINT_TOLERANCE` (a rebuild whose converter
    wrote other bytes for the same computation). The instance checked is the one returned.

    Raises
    ------
    ModelError
        When the file is missing, unreadable or not a LiteRT model, has other bytes and no
        fingerprint to compare, or gives outputs that differ from the recorded ones.
    """
    encoder = WhisperEncoder(shared_encoder_file(version, store, record), num_threads)
    if encoder.sha256 == record.sha256:
        return encoder
    if record.fingerprint is None:   # the file was replaced after the version was loaded
        raise ModelError(_replaced(version, record))
    recorded, served = record.fingerprint_values, encoder.fingerprint()
    difference = fingerprint_difference(recorded, served)
    if difference <= FINGERPRINT_TOLERANCE:
        return encoder
    how = (f"max difference {difference:.3g}, tolerance {FINGERPRINT_TOLERANCE:g}" if served.shape == recorded.shape
           else f"values shaped {served.shape} on the test input where {recorded.shape} were recorded")
    raise ModelError(f"Model version {version!r} was published with the speech encoder "
                     f"{ENCODERS_FOLDER}/{record.file} whose SHA-256 is {record.sha256[:12]}…; the file in the model "
                     "store differs (rebuilt or damaged), and its outputs differ from the ones this version was "
                     f"published with ({how}), so its scores would be wrong: delete it and run `make encoder "
                     f"ENCODER_BLOCKS={record.blocks}` with the packages requirements.txt pins, or serve the version "
                     "with the encoder it was published with.")


def _replaced(version: str, record: EncoderRecord) -> str:
    """The sentence for an encoder file whose bytes differ from a record that has no fingerprint."""
    return (f"Model version {version!r} was published with the speech encoder {ENCODERS_FOLDER}/{record.file} whose "
            f"SHA-256 is {record.sha256[:12]}…, but the file in the model store differs, so its scores would be "
            f"wrong: delete it and run `make encoder ENCODER_BLOCKS={record.blocks}` to rebuild it from the installed "
            "weights, or serve the version with the encoder it was published with.")
