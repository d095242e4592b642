"""The seed notebook's pipeline, rebuilt for a fair comparison on the same clips.

Seed pipeline: render each clip's spectrogram to a PNG with matplotlib, load it
back as a 224x224 RGB image, and classify the image with a small CNN. Ours: the
served feature windows and the LiteRT model. Both are timed per clip on the same
test clips, and both EERs come from the same labels.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

IMAGE_SIZE = 224
EPOCHS = 6
BATCH = 16


def render_png(samples: np.ndarray, rate: int) -> bytes:
    """The seed's rendering: a dB spectrogram drawn with matplotlib and saved as PNG."""
    import librosa
    import librosa.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spectrum = librosa.amplitude_to_db(np.abs(librosa.stft(samples)), ref=np.max)
    figure = plt.figure(figsize=(4, 4), dpi=72)
    axes = figure.add_axes([0, 0, 1, 1])
    axes.set_axis_off()
    librosa.display.specshow(spectrum, sr=rate, ax=axes)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def png_to_array(png: bytes) -> np.ndarray:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE))
    return np.asarray(image, dtype=np.float32) / 255.0


def clip_image(path: Path, rate: int = 16000) -> np.ndarray:
    from detector.audio import load_audio

    decoded = load_audio(path, rate)
    return png_to_array(render_png(decoded.samples, rate))


def seed_model():
    """The seed's CNN on images: three conv blocks 32/64/128, dense 128, dropout 0.5."""
    import keras

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = inputs
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def compare(corpus: Path, store: Path | None, train_clips: int = 800, test_clips: int = 300, seed: int = 0) -> dict:
    """Train the seed pipeline on a sample of the train split, then score the same test clips with both."""
    import keras

    from detector.inference import Detector
    from detector.metrics import compute_eer

    manifest = pd.read_csv(corpus / "manifest.csv")
    train = manifest[manifest.split == "train"].groupby("label").sample(train_clips // 2, random_state=seed, replace=False)
    test = manifest[manifest.split == "test"].groupby("label").sample(test_clips // 2, random_state=seed, replace=False)
    keras.utils.set_random_seed(seed)

    started = time.perf_counter()
    x_train = np.stack([clip_image(corpus / f) for f in train.file])
    y_train = (train.label == "synthetic").to_numpy(np.float32)
    model = seed_model()
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=0, shuffle=True)
    seed_train_s = time.perf_counter() - started

    labels = (test.label == "synthetic").to_numpy(int)
    seed_scores, seed_times = [], []
    for file in test.file:
        start = time.perf_counter()
        image = clip_image(corpus / file)
        seed_scores.append(float(model.predict(image[np.newaxis], verbose=0)[0, 0]))
        seed_times.append(time.perf_counter() - start)

    detector = Detector.from_store(store)
    our_scores, our_times = [], []
    for file in test.file:
        start = time.perf_counter()
        our_scores.append(detector.analyse(corpus / file).p_synthetic)
        our_times.append(time.perf_counter() - start)

    return {
        "clips": {"train": len(train), "test": len(test)},
        "seed_pipeline": {"eer": compute_eer(labels, seed_scores)[0], "ms_per_clip": 1000 * float(np.median(seed_times)),
                          "train_s": seed_train_s},
        "ours": {"eer": compute_eer(labels, our_scores)[0], "ms_per_clip": 1000 * float(np.median(our_times)),
                 "model": detector.name},
    }
