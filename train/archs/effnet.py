"""The default architecture: a small residual depthwise-separable CNN with global pooling.

Why this shape: serving scores every 2-s window of a clip on two CPU cores, so
the network shrinks the 198x257 input at once: the stem convolution strides 2
in time and 4 in frequency with a (3, 5) kernel, so every bin is still seen but
the first activation is 8x smaller than the input (on two CPU cores a
full-resolution stem alone cost most of the training step). Then come cheap
depthwise-separable residual stages. Global average + max pooling makes
the head independent of the input size and keeps parameters far below 1 M
(about 114 k with the defaults). The net was narrower (stem 16, stages 32/48/64/96: 60 k) until the
training loop stopped paying ``model.fit``'s overhead: the wider net then costs
only ~20 % more per epoch, and had the lower validation EER (docs/experiments.md).
"""

from __future__ import annotations

from typing import Sequence

DEFAULT_STEM = 24
STEM_KERNEL = (3, 5)
STEM_STRIDES = (2, 4)
BN_MOMENTUM = 0.9  # PyTorch's default; 0.99 needs thousands of steps before inference statistics settle
DEFAULT_WIDTHS = (48, 64, 96, 128)
DEFAULT_KERNEL = 3
DEFAULT_DENSE = 96
DEFAULT_DROPOUT = 0.3
# Stage strides (time, frequency); TF depthwise convolutions need equal strides.
STAGE_STRIDES = ((2, 2), (2, 2), (2, 2), (2, 2))


def _separable_block(x, width: int, stride: tuple[int, int], kernel_size: int, name: str):
    """Two depthwise-separable convolutions with a residual shortcut."""
    from keras import layers

    shortcut = x
    if stride != (1, 1) or x.shape[-1] != width:
        # Cheap projection: average-pool the stride away, then a 1x1 conv.
        if stride != (1, 1):
            shortcut = layers.AveragePooling2D(stride, padding="same", name=f"{name}_pool")(shortcut)
        shortcut = layers.Conv2D(width, 1, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_proj_bn")(shortcut)
    y = x
    for i, step in enumerate((stride, (1, 1))):
        y = layers.DepthwiseConv2D(kernel_size, strides=step, padding="same", use_bias=False, name=f"{name}_dw{i}")(y)
        y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_dw{i}_bn")(y)
        y = layers.ReLU(name=f"{name}_dw{i}_relu")(y)
        y = layers.Conv2D(width, 1, use_bias=False, name=f"{name}_pw{i}")(y)
        y = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_pw{i}_bn")(y)
        if i == 0:
            y = layers.ReLU(name=f"{name}_pw{i}_relu")(y)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))


def build(
    input_shape: tuple[int, int, int],
    stem_filters: int = DEFAULT_STEM,
    widths: Sequence[int] = DEFAULT_WIDTHS,
    kernel_size: int = DEFAULT_KERNEL,
    dense_units: int = DEFAULT_DENSE,
    dropout: float = DEFAULT_DROPOUT,
    output: str = "logit",
    freq_stride: int | None = None,
    head: str = "global",
):
    """Build the efficient CNN.

    Parameters
    ----------
    input_shape : tuple of int
        ``(frames, bins, 1)``.
    stem_filters : int
        Filters of the strided stem convolution.
    widths : sequence of int
        Output channels of the residual stages (at most four; see ``STAGE_STRIDES``).
    kernel_size : int
        Kernel of the depthwise convolutions.
    dense_units : int
        Width of the hidden dense layer (0 = none).
    dropout : float
        Dropout before the output layer.
    freq_stride : int, optional
        Frequency stride of the stem; by default 4 for spectrograms of more
        than 128 bins, 2 for mel-sized inputs and 1 for 48 bins or fewer (LFCC).
    head : {"global", "freq"}
        ``global`` averages and max-pools over time and frequency; ``freq`` pools
        over time only and keeps the (few) remaining frequency rows.

    output : {"logit", "cosine"}
        ``logit``: a dense layer's raw logit; ``cosine``: the cosine between the unit
        embedding and a unit weight vector, for the OC-Softmax loss (:mod:`train.losses`).

    Returns
    -------
    keras.Model
        Output: one raw score per window (a logit or a cosine; calibration makes it a probability).
    """
    import keras
    from keras import layers

    if output not in ("logit", "cosine"):
        raise ValueError(f"output must be 'logit' or 'cosine', got {output!r}")
    if head not in ("global", "freq"):
        raise ValueError(f"head must be 'global' or 'freq', got {head!r}")
    if len(widths) > len(STAGE_STRIDES):
        raise ValueError(f"at most {len(STAGE_STRIDES)} stages are supported")
    if freq_stride is None:
        bins = input_shape[1]
        freq_stride = STEM_STRIDES[1] if bins > 128 else 2 if bins > 48 else 1
    inputs = keras.Input(shape=input_shape, name="window")
    x = layers.Conv2D(int(stem_filters), STEM_KERNEL, strides=(STEM_STRIDES[0], int(freq_stride)), padding="same",
                      use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for index, (width, stride) in enumerate(zip(widths, STAGE_STRIDES)):
        # Never stride below one cell: small inputs (LFCC) keep their last rows.
        if min(d for d in x.shape[1:3] if d is not None) <= 1:
            stride = (1, 1)
        x = _separable_block(x, int(width), stride, kernel_size, name=f"stage{index + 1}")
    if head == "freq":
        # Pool over time only: where in the spectrum a cue sits stays visible to the classifier.
        frames = int(x.shape[1])
        pooled = layers.Concatenate(name="pool")([
            layers.Flatten(name="avg_flat")(layers.AveragePooling2D((frames, 1), name="avg")(x)),
            layers.Flatten(name="max_flat")(layers.MaxPooling2D((frames, 1), name="max")(x)),
        ])
    else:
        pooled = layers.Concatenate(name="pool")([
            layers.GlobalAveragePooling2D(name="avg")(x),
            layers.GlobalMaxPooling2D(name="max")(x),
        ])
    if dense_units:
        pooled = layers.Dense(int(dense_units), activation="relu", name="dense")(pooled)
    pooled = layers.Dropout(dropout, name="dropout")(pooled)
    if output == "cosine":
        # A unit embedding against a weight vector kept at unit length: the output is their cosine.
        embedding = layers.UnitNormalization(name="unit_embedding")(pooled)
        logit = layers.Dense(1, use_bias=False, kernel_constraint=keras.constraints.UnitNorm(axis=0),
                             name="logit")(embedding)
    else:
        logit = layers.Dense(1, name="logit")(pooled)  # raw logit: the sigmoid lives in calibration
    return keras.Model(inputs, logit, name="effnet")
