"""Random-weight Whisper encoders named as in CTranslate2's file: the suite needs no 145 MB download for them."""

from __future__ import annotations

import struct

import numpy as np


def random_variables(blocks: int, seed: int = 0, width: int = 512, mlp: int = 2048) -> dict[str, np.ndarray]:
    """Encoder variables of ``blocks`` blocks with small seeded random values."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.02):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    v = {"encoder/conv1/weight": r(width, 80, 3, scale=0.05), "encoder/conv1/bias": r(width),
         "encoder/conv2/weight": r(width, width, 3), "encoder/conv2/bias": r(width),
         "encoder/position_encodings/encodings": r(1500, width, scale=0.5),
         "encoder/layer_norm/gamma": 1 + r(width), "encoder/layer_norm/beta": r(width)}
    for i in range(blocks):
        p = f"encoder/layer_{i}"
        for norm in ("self_attention/layer_norm", "ffn/layer_norm"):
            v[f"{p}/{norm}/gamma"], v[f"{p}/{norm}/beta"] = 1 + r(width), r(width)
        for name, shape in (("self_attention/linear_0", (3 * width, width)), ("self_attention/linear_1", (width, width)),
                            ("ffn/linear_0", (mlp, width)), ("ffn/linear_1", (width, mlp))):
            v[f"{p}/{name}/weight"], v[f"{p}/{name}/bias"] = r(*shape), r(shape[0])
    return v


def ct2_bytes(variables: dict[str, np.ndarray], version: int = 6) -> bytes:
    """A CTranslate2 ``model.bin`` holding ``variables`` as float16 (the shipped weights' dtype)."""
    def string(text: str) -> bytes:
        return struct.pack("<H", len(text) + 1) + text.encode() + b"\0"

    out = [struct.pack("<I", version), string("WhisperSpec"), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        raw = np.asarray(value, dtype=np.float16)
        out += [string(name), struct.pack("<B", raw.ndim), *(struct.pack("<I", d) for d in raw.shape),
                struct.pack("<B", 4), struct.pack("<I", raw.nbytes), raw.tobytes()]
    out.append(struct.pack("<I", 0))
    return b"".join(out)
