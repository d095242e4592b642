"""Whisper's audio encoder as a Keras network, loaded from CTranslate2's weights.

Log-mel frames (batch, frames, 80) go through two convolutions (the second halves the
frame rate to 50 per second), the sinusoidal position table sliced to the input's
length (so any length up to 30 s works without padding), and transformer blocks
(pre-norm self-attention with 8 heads, then a 4x GELU MLP). The network returns the
residual stream after the stem and after every block, each passed through the
encoder's final layer norm -- what CTranslate2's ``encode`` returns for a file cut
after that block, and what the pooled probes measured.

Only ``keras.ops`` is used, so the same code runs under TensorFlow here and under
the PyTorch backend on a GPU machine.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from detector.encoder.ct2_file import BLOCK_DENSE, BLOCK_NORMS, encoder_depth

WIDTH = 512
HEADS = 8
MLP = 2048
EPS = 1e-5
MAX_FRAMES = 1500   # encoder frames in the position table: 30 s


def gelu(x):
    return ops.gelu(x, approximate=False)


class PositionAdd(layers.Layer):
    """Adds the first ``frames`` rows of the fixed position table."""

    def __init__(self, table: np.ndarray | None = None, max_frames: int = MAX_FRAMES, width: int = WIDTH,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_frames, self.width = max_frames, width
        self.table = self.add_weight(shape=(max_frames, width), trainable=False, name="encodings",
                                     initializer="zeros")
        if table is not None:
            self.table.assign(table.astype(np.float32))

    def call(self, x):
        return x + self.table[: ops.shape(x)[1]][None]

    def get_config(self):
        return {**super().get_config(), "max_frames": self.max_frames, "width": self.width}


class EncoderBlock(layers.Layer):
    """One pre-norm transformer block with Whisper's fused q/k/v projection."""

    def __init__(self, width: int = WIDTH, heads: int = HEADS, mlp: int = MLP, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width, self.heads, self.mlp = width, heads, mlp
        self.attention_norm = layers.LayerNormalization(epsilon=EPS, name="attention_norm")
        self.qkv = layers.Dense(3 * width, name="qkv")
        self.attention_out = layers.Dense(width, name="attention_out")
        self.mlp_norm = layers.LayerNormalization(epsilon=EPS, name="mlp_norm")
        self.mlp_in = layers.Dense(mlp, name="mlp_in")
        self.mlp_out = layers.Dense(width, name="mlp_out")

    def build(self, input_shape):
        for layer, size in ((self.attention_norm, self.width), (self.qkv, self.width),
                            (self.attention_out, self.width), (self.mlp_norm, self.width),
                            (self.mlp_in, self.width), (self.mlp_out, self.mlp)):
            layer.build((None, None, size))
        super().build(input_shape)

    def call(self, x):
        batch, frames = ops.shape(x)[0], ops.shape(x)[1]
        head = self.width // self.heads
        qkv = ops.reshape(self.qkv(self.attention_norm(x)), (batch, frames, 3, self.heads, head))
        q, k, v = (ops.transpose(qkv[:, :, i], (0, 2, 1, 3)) for i in range(3))
        weights = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(head), axis=-1)
        attended = ops.reshape(ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3)), (batch, frames, self.width))
        x = x + self.attention_out(attended)
        return x + self.mlp_out(gelu(self.mlp_in(self.mlp_norm(x))))

    def get_config(self):
        return {**super().get_config(), "width": self.width, "heads": self.heads, "mlp": self.mlp}


def build_encoder(blocks: int, frames: int | None = None, n_mels: int = 80) -> keras.Model:
    """An encoder of ``blocks`` transformer blocks with random weights.

    Returns a model from log-mel (batch, frames, n_mels) to ``blocks + 1`` outputs,
    each (batch, frames // 2, 512): the final layer norm of the stream after the stem
    and after each block.
    """
    mel = keras.Input((frames, n_mels), name="log_mel")
    x = layers.Conv1D(WIDTH, 3, padding="same", activation=gelu, name="conv1")(mel)
    x = layers.ZeroPadding1D(1, name="pad2")(x)   # PyTorch's padding=1 at stride 2, not Keras's "same"
    x = layers.Conv1D(WIDTH, 3, strides=2, padding="valid", activation=gelu, name="conv2")(x)
    x = PositionAdd(name="positions")(x)
    final_norm = layers.LayerNormalization(epsilon=EPS, name="final_norm")
    outputs = [final_norm(x)]
    for index in range(blocks):
        x = EncoderBlock(name=f"block_{index}")(x)
        outputs.append(final_norm(x))
    return keras.Model(mel, outputs, name=f"whisper_encoder_{blocks}")


def load_weights(model: keras.Model, variables: dict[str, np.ndarray]) -> keras.Model:
    """Copy CTranslate2 encoder variables (see :mod:`detector.encoder.ct2_file`) into ``model``.

    Raises
    ------
    ValueError
        When the file has fewer blocks than the model.
    """
    blocks = sum(1 for layer in model.layers if isinstance(layer, EncoderBlock))
    if encoder_depth(variables) < blocks:
        raise ValueError(f"the weights hold {encoder_depth(variables)} blocks, the model needs {blocks}")
    v = variables
    for name in ("conv1", "conv2"):   # (out, in, kernel) -> (kernel, in, out)
        model.get_layer(name).set_weights([v[f"encoder/{name}/weight"].transpose(2, 1, 0),
                                           v[f"encoder/{name}/bias"]])
    model.get_layer("positions").table.assign(v["encoder/position_encodings/encodings"])
    model.get_layer("final_norm").set_weights([v["encoder/layer_norm/gamma"], v["encoder/layer_norm/beta"]])
    for index in range(blocks):
        load_block(model.get_layer(f"block_{index}"), variables, index)
    return model


def load_block(block: EncoderBlock, variables: dict[str, np.ndarray], index: int) -> EncoderBlock:
    """Copy block ``index`` of CTranslate2 encoder variables into a built Keras block (dense kernels transposed)."""
    prefix, v = f"encoder/layer_{index}", variables
    for attr, key in BLOCK_NORMS.items():
        getattr(block, attr).set_weights([v[f"{prefix}/{key}/gamma"], v[f"{prefix}/{key}/beta"]])
    for attr, key in BLOCK_DENSE.items():
        getattr(block, attr).set_weights([v[f"{prefix}/{key}/weight"].T, v[f"{prefix}/{key}/bias"]])
    return block


def pretrained_block(index: int, variables: dict[str, np.ndarray]) -> EncoderBlock:
    """Block ``index`` (0-based) of Whisper's encoder as a fresh Keras block with the given variables."""
    block = EncoderBlock(name=f"block_{index}")
    block.build((None, None, WIDTH))
    return load_block(block, variables, index)


def pretrained_norm(variables: dict[str, np.ndarray]) -> layers.LayerNormalization:
    """The encoder's final layer norm as a fresh Keras layer."""
    norm = layers.LayerNormalization(epsilon=EPS, name="final_norm")
    norm.build((None, None, WIDTH))
    norm.set_weights([variables["encoder/layer_norm/gamma"], variables["encoder/layer_norm/beta"]])
    return norm


def pretrained_encoder(blocks: int, frames: int | None = None,
                       variables: dict[str, np.ndarray] | None = None) -> keras.Model:
    """Whisper base's first ``blocks`` blocks with the installed weights (or ``variables``)."""
    from detector.encoder.ct2_file import read_parts

    return load_weights(build_encoder(blocks, frames), variables if variables is not None else read_parts())
