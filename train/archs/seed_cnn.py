"""The seeds' baseline CNN: three conv blocks (32/64/128, ReLU, max-pooling), dense 128, dropout 0.5.

Kept faithful to the seed notebook (including the flatten before the dense layer)
so it is an honest baseline; it is large (about 11 M parameters on a 198x257
log-spectrogram) and slow, which is what the efficient default has to beat.
"""

from __future__ import annotations

from typing import Sequence

DEFAULT_FILTERS = (32, 64, 128)
DEFAULT_KERNEL = 3
DEFAULT_DENSE = 128
DEFAULT_DROPOUT = 0.5


def build(
    input_shape: tuple[int, int, int],
    filters: Sequence[int] = DEFAULT_FILTERS,
    kernel_size: int = DEFAULT_KERNEL,
    dense_units: int = DEFAULT_DENSE,
    dropout: float = DEFAULT_DROPOUT,
):
    """Build the baseline.

    Parameters
    ----------
    input_shape : tuple of int
        ``(frames, bins, 1)``.
    filters : sequence of int
        Filters of the conv blocks, one block each.
    kernel_size : int
        Square convolution kernel.
    dense_units : int
        Width of the hidden dense layer.
    dropout : float
        Dropout before the output layer.

    Returns
    -------
    keras.Model
        Output: one raw logit per window.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="window")
    x = inputs
    for width in filters:
        x = layers.Conv2D(int(width), kernel_size, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(int(dense_units), activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    logit = layers.Dense(1, name="logit")(x)  # raw logit: the sigmoid lives in calibration
    return keras.Model(inputs, logit, name="seed_cnn")
