"""The Whisper encoder front end: log-mel, the weight file reader, Keras and LiteRT parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from encoder_helpers import ct2_bytes, random_variables

from detector.encoder.ct2_file import encoder_depth, read_variables
from detector.encoder.logmel import log_mel
from detector.errors import AudioError, ModelError

FIXTURES = Path(__file__).parent / "fixtures"


def test_log_mel_matches_whisper_reference_recipe():
    reference = np.load(FIXTURES / "whisper_logmel.npz")
    ours = log_mel(reference["signal"])
    assert ours.shape == reference["log_mel"].shape == (150, 80)
    np.testing.assert_allclose(ours, reference["log_mel"], atol=1e-4)


def test_log_mel_noise_floor_only_lifts_quiet_bins():
    # About the level of a loudness-normalised clip (-23 dBFS), with digital silence inside it.
    signal = 0.05 * np.load(FIXTURES / "whisper_logmel.npz")["signal"]
    signal[8000:12000] = 0.0
    plain, floored = log_mel(signal), log_mel(signal, noise_floor_dbfs=-75.0)
    silent = slice(55, 70)
    assert floored[silent].mean() > plain[silent].mean() + 0.2
    loud = plain > plain.max() - 0.5            # within 2 decades of the loudest bin
    assert loud.sum() > 100
    np.testing.assert_allclose(floored[loud], plain[loud], atol=0.01)


def test_log_mel_refuses_what_it_cannot_frame():
    with pytest.raises(AudioError):
        log_mel(np.zeros((2, 16000), np.float32))
    with pytest.raises(AudioError):
        log_mel(np.zeros(100, np.float32))


def test_weight_file_round_trip_and_damage():
    variables = random_variables(2, seed=3)
    payload = ct2_bytes(variables)
    read = read_variables(payload)
    assert encoder_depth(read) == 2
    assert set(read) == set(variables)
    np.testing.assert_allclose(read["encoder/layer_1/ffn/linear_0/weight"],
                               variables["encoder/layer_1/ffn/linear_0/weight"], atol=1e-3)
    assert read["encoder/conv1/weight"].dtype == np.float32
    with pytest.raises(ModelError):
        read_variables(payload[: len(payload) // 2])
    with pytest.raises(ModelError):
        read_variables(b"\x63\x00\x00\x00" + payload[4:])


@pytest.fixture(scope="module")
def random_encoder_file(tmp_path_factory):
    """A 2-block random-weight encoder converted to LiteRT through the shipped export path."""
    from train.encoder.export import export_encoder

    path = tmp_path_factory.mktemp("encoder") / "whisper-random-2.tflite"
    return export_encoder(2, path, variables=random_variables(2, seed=11))


def test_litert_encoder_matches_keras(random_encoder_file):
    from detector.encoder.runtime import WhisperEncoder
    from train.encoder.keras_whisper import build_encoder, load_weights

    mel = log_mel(np.load(FIXTURES / "whisper_logmel.npz")["signal"])
    keras_outputs = load_weights(build_encoder(2), random_variables(2, seed=11))(mel[None])
    expected = np.stack([np.asarray(o)[0] for o in keras_outputs], axis=1)
    got = WhisperEncoder(random_encoder_file).encode_mel(mel)
    assert got.shape == expected.shape == (75, 3, 512)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    # Any length works: the position table is sliced, never padded to 30 s.
    assert WhisperEncoder(random_encoder_file).encode_mel(mel[:64]).shape == (32, 3, 512)


def test_encoder_features_fingerprint(random_encoder_file):
    """Golden numbers of the front end on a fixed signal: a change to log-mel, the encoder or pooling shows here."""
    from detector.encoder.runtime import WhisperEncoder, pooled_stats

    frames = WhisperEncoder(random_encoder_file).encode(np.load(FIXTURES / "whisper_logmel.npz")["signal"])
    stats = pooled_stats(frames)
    assert stats.shape == (3, 2, 512)
    np.testing.assert_allclose(stats[:, :, :4], GOLDEN_STATS, atol=2e-3)


# pooled_stats(...)[:, :, :4] of the 2-block seed-11 encoder on the fixture signal (LiteRT, this code).
GOLDEN_STATS = np.array([
    [[-0.002, 0.046, -0.030, 0.106], [1.066, 0.985, 1.078, 0.809]],
    [[-0.150, 0.073, -0.105, 0.120], [1.086, 0.895, 1.118, 0.749]],
    [[-0.201, 0.332, -0.058, 0.096], [1.096, 0.968, 1.092, 0.860]],
])


@pytest.mark.slow
def test_keras_encoder_matches_ctranslate2_on_30s_and_4s_inputs(tmp_path):
    """The installed Whisper base weights in our Keras encoder against CTranslate2's own ``encode``."""
    ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 is a test requirement (requirements-dev.txt)")
    from detector.encoder.ct2_file import installed_parts, read_parts
    from train.encoder.keras_whisper import pretrained_encoder

    parts = installed_parts()
    with open(tmp_path / "model.bin", "wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    for name in ("config.json", "vocabulary.txt", "tokenizer.json"):
        (tmp_path / name).write_bytes((parts[0].parent / name).read_bytes())
    whisper = ctranslate2.models.Whisper(str(tmp_path), compute_type="float32", intra_threads=2)
    encoder = pretrained_encoder(6, variables=read_parts())
    rng = np.random.default_rng(5)
    for seconds in (30, 4):
        t = np.arange(16_000 * seconds) / 16_000
        audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 2 * t))
                 + 0.03 * rng.standard_normal(len(t))).astype(np.float32)
        mel = log_mel(audio)
        reference = np.asarray(whisper.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel.T[None])),
                                              to_cpu=True))[0]
        ours = np.asarray(encoder(mel[None])[-1])[0]
        assert ours.shape == reference.shape == (50 * seconds, 512)
        # float32 arithmetic in another order: measured 3e-4 on values up to ~25
        np.testing.assert_allclose(ours, reference, atol=5e-3)
