"""An encoder version accepts a rebuilt shared encoder by its outputs on a fixed input, not only by its bytes.

One temporary store holds a 2-block random-weight encoder (weights rounded to float16, the
precision the Whisper weights ship in) and the sealed version ``enc-v1`` written on it by
:func:`train.encoder.version.write_encoder_version`. Other encoder files take its place:
the same computation in other bytes (its description string changed; the same weights
converted with float16 storage) must keep serving; other weights, one other block or
another block count must be refused with a sentence; a record without a fingerprint keeps
accepting its own bytes only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from encoder_helpers import random_variables

from detector import trust
from detector.calibration import Calibration
from detector.encoder.record import ENCODER_RECORD_FILE, EncoderRecord, read_encoder_record, serving_encoder
from detector.encoder.runtime import FINGERPRINT_TOLERANCE, WhisperEncoder, fingerprint_difference
from detector.encoder.scorer import EncoderScorer
from detector.errors import ModelError
from detector.inference import Detector
from detector.registry import ModelRegistry

REPO = Path(__file__).resolve().parent.parent
SPOKEN = REPO / "tests" / "clips" / "ru-nsh" / "genuine.flac"
ENCODER = Path("encoders") / "whisper-base-2.tflite"
SHIPPED_ENCODER_VERSIONS = ("20261204-1945-whisper-linear-01234", "20261204-2200-whisper-fused-01234-temporal")
CALIBRATION = Calibration(scale=1.3, bias=0.2, genuine_below=0.3, synthetic_above=0.7, method="platt")
DESCRIPTION = b"MLIR Converted."   # the converter's description string in every flatbuffer it writes
REFUSED = (r"encoders/whisper-base-2\.tflite whose SHA-256 is .*the file in the model store differs \(rebuilt or "
           r"damaged\), and its outputs differ from the ones this version was published with \((.*)\), so its scores "
           r"would be wrong: delete it and run `make encoder ENCODER_BLOCKS=2` with the packages requirements\.txt "
           r"pins, or serve the version with the encoder it was published with\.")


def float16_weights(blocks: int, seed: int) -> dict[str, np.ndarray]:
    """Random encoder variables rounded to float16, as the shipped Whisper weights are."""
    return {k: v.astype(np.float16).astype(np.float32) for k, v in random_variables(blocks, seed).items()}


@pytest.fixture(scope="module")
def fingerprint_store(tmp_path_factory):
    """A store with the sealed ``enc-v1`` on its encoder, and a folder of other encoder files by name."""
    from train.encoder.export import export_encoder
    from train.encoder.heads import PooledLinear
    from train.encoder.version import write_encoder_version

    store, others = tmp_path_factory.mktemp("fingerprint-store"), tmp_path_factory.mktemp("other-encoders")
    weights = float16_weights(2, seed=7)
    encoder = export_encoder(2, store / ENCODER, variables=weights)
    rng = np.random.default_rng(24)
    labels = np.arange(60) % 2
    stats = rng.normal(size=(60, 3, 2, 512)).astype(np.float32)
    stats[:, 1, 0, :8] += 0.8 * labels[:, None]
    head = PooledLinear((0, 1, 2)).fit(stats[:40], labels[:40], stats[40:], labels[40:])
    write_encoder_version(store / "enc-v1", head, encoder, 2, CALIBRATION, seal=True)

    content = encoder.read_bytes()
    assert content.count(DESCRIPTION) == 1
    (others / "description").write_bytes(content.replace(DESCRIPTION, b"Rebuilt by hand"))   # same length
    export_encoder(2, others / "float16", variables=weights, float16_weights=True)
    export_encoder(2, others / "reseeded", variables=float16_weights(2, seed=8))
    one_block = {k: v for k, v in weights.items()}
    one_block.update({k: v for k, v in float16_weights(2, seed=8).items() if k.startswith("encoder/layer_1/")})
    export_encoder(2, others / "one block", variables=one_block)
    # random_variables draws in order, so the 3-block encoder's first two blocks are the 2-block one's.
    export_encoder(3, others / "three blocks", variables=float16_weights(3, seed=7))
    return store, others


def store_with(fingerprint_store, tmp_path: Path, encoder: str | None, record: EncoderRecord | None = None) -> Path:
    """A fresh store holding ``enc-v1`` (with ``record`` as its encoder.json if given) and one encoder file."""
    source, others = fingerprint_store
    store = tmp_path / "store"
    shutil.copytree(source / "enc-v1", store / "enc-v1")
    (store / ENCODER).parent.mkdir()
    shutil.copyfile(source / ENCODER if encoder is None else others / encoder, store / ENCODER)
    if record is not None:
        record.save(store / "enc-v1")
    return store


def test_the_version_records_the_fingerprint_of_the_encoder_it_names(fingerprint_store):
    store, _ = fingerprint_store
    record = read_encoder_record(store / "enc-v1")
    encoder = WhisperEncoder(store / ENCODER, num_threads=1)
    assert record.sha256 == hashlib.sha256((store / ENCODER).read_bytes()).hexdigest() == encoder.sha256
    assert record.fingerprint_values.shape == (6, 3, 16)   # 6 frames x the stem and 2 blocks x 16 of 512 channels
    assert fingerprint_difference(record.fingerprint_values, encoder.fingerprint()) <= 1e-5   # rounded to 5 decimals
    assert EncoderRecord.from_dict(json.loads((store / "enc-v1" / ENCODER_RECORD_FILE).read_text())) == record
    assert (store / "enc-v1" / ENCODER_RECORD_FILE).stat().st_size < 20_000


@pytest.mark.parametrize("rebuilt, logit_tolerance", [("description", 1e-6), ("float16", 1e-4)])
def test_a_rebuild_whose_outputs_agree_keeps_serving(fingerprint_store, tmp_path, rebuilt, logit_tolerance):
    """Other bytes, the same computation: trusted, and it scores as the published encoder does.

    The description swap computes exactly the same; float16 storage of float16 weights moves
    outputs by float rounding only, so the logits agree to 1e-4 (the served-parity tolerance).
    """
    store = store_with(fingerprint_store, tmp_path, rebuilt)
    record = read_encoder_record(store / "enc-v1")
    assert hashlib.sha256((store / ENCODER).read_bytes()).hexdigest() != record.sha256
    served = WhisperEncoder(store / ENCODER, num_threads=1).fingerprint()
    assert fingerprint_difference(record.fingerprint_values, served) <= FINGERPRINT_TOLERANCE / 5
    version = trust.check(ModelRegistry(store), "enc-v1")
    published = Detector(trust.check(ModelRegistry(fingerprint_store[0]), "enc-v1"), num_threads=1).analyse(SPOKEN)
    analysis = Detector(version, num_threads=1).analyse(SPOKEN)
    assert analysis.clip_logit == pytest.approx(published.clip_logit, abs=logit_tolerance)
    assert analysis.verdict == published.verdict


@pytest.mark.parametrize("other", ["reseeded", "one block"])
def test_an_encoder_whose_outputs_differ_is_refused_with_a_sentence(fingerprint_store, tmp_path, other):
    """Other weights, even in one block only, move the fingerprint far past the tolerance: refused, not served."""
    store = store_with(fingerprint_store, tmp_path, other)
    registry = ModelRegistry(store)
    version = registry.load("enc-v1")   # loading defers to the outputs: the scorer judges them
    with pytest.raises(ModelError, match=REFUSED) as refused:
        trust.check(registry, "enc-v1")
    how = re.search(REFUSED, str(refused.value)).group(1)
    difference, tolerance = map(float, re.fullmatch(r"max difference (\S+), tolerance (\S+)", how).groups())
    assert tolerance == FINGERPRINT_TOLERANCE and difference >= 20 * FINGERPRINT_TOLERANCE
    with pytest.raises(ModelError, match=REFUSED):
        Detector(version)
    with pytest.raises(ModelError, match=REFUSED):
        trust.promote(registry, "enc-v1")
    assert registry.pointer()["version"] is None


def test_an_encoder_of_another_block_count_is_refused(fingerprint_store, tmp_path):
    store = store_with(fingerprint_store, tmp_path, "three blocks")
    with pytest.raises(ModelError, match=REFUSED) as refused:
        trust.check(ModelRegistry(store), "enc-v1")
    assert "values shaped (6, 4, 16) on the test input where (6, 3, 16) were recorded" in str(refused.value)


def test_a_record_without_a_fingerprint_accepts_its_own_bytes_only(fingerprint_store, tmp_path):
    """Records written before fingerprints keep the old rule: the recorded SHA-256 or a refusal."""
    record = dataclasses.replace(read_encoder_record(fingerprint_store[0] / "enc-v1"), fingerprint=None)
    assert "fingerprint" not in record.to_dict()
    own = store_with(fingerprint_store, tmp_path / "own", None, record)
    version = ModelRegistry(own).load("enc-v1")
    assert EncoderScorer(version, num_threads=1).probe(5) == pytest.approx(
        Detector(ModelRegistry(fingerprint_store[0]).load("enc-v1"), num_threads=1).scorer.probe(5), abs=1e-6)
    replaced = (r"encoders/whisper-base-2\.tflite whose SHA-256 is [0-9a-f]{12}…, but the file in the model store "
                r"differs, so its scores would be wrong: delete it and run `make encoder ENCODER_BLOCKS=2`")
    with pytest.raises(ModelError, match=replaced):
        ModelRegistry(store_with(fingerprint_store, tmp_path / "rebuilt", "description", record)).load("enc-v1")
    # The file replaced after the version loaded: the scorer, which builds from the bytes it reads, refuses too.
    shutil.copyfile(fingerprint_store[1] / "description", own / ENCODER)
    with pytest.raises(ModelError, match=replaced):
        EncoderScorer(version, num_threads=1)


def test_the_encoder_that_serves_is_the_one_whose_fingerprint_was_checked(fingerprint_store, tmp_path):
    """The accepted interpreter is returned: a file swapped on disk afterwards changes nothing it computes."""
    store = store_with(fingerprint_store, tmp_path, "float16")
    record = read_encoder_record(store / "enc-v1")
    encoder = serving_encoder("enc-v1", store, record, num_threads=1)
    checked = encoder.fingerprint()
    shutil.copyfile(fingerprint_store[1] / "reseeded", store / ENCODER)
    assert encoder.sha256 == hashlib.sha256((fingerprint_store[1] / "float16").read_bytes()).hexdigest()
    np.testing.assert_array_equal(encoder.fingerprint(), checked)
    with pytest.raises(ModelError, match=REFUSED):
        serving_encoder("enc-v1", store, record, num_threads=1)


@pytest.mark.parametrize("change", ["short", "text", "boolean", "not finite", "other outputs"])
def test_a_malformed_fingerprint_makes_the_record_unreadable(fingerprint_store, tmp_path, change):
    data = json.loads((fingerprint_store[0] / "enc-v1" / ENCODER_RECORD_FILE).read_text())
    fingerprint = data["fingerprint"]
    if change == "short":
        fingerprint = fingerprint[:5]
    elif change == "text":
        fingerprint[0][0][0] = "0.5"
    elif change == "boolean":
        fingerprint[0][0][0] = True
    elif change == "not finite":
        fingerprint[0][0][0] = float("nan")
    else:
        data["blocks"], data["outputs"] = 3, [0, 1, 2, 3]   # a 2-block fingerprint under a 3-block record
    with pytest.raises(ValueError, match="fingerprint"):
        EncoderRecord.from_dict({**data, "fingerprint": fingerprint})
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / ENCODER_RECORD_FILE).write_text(json.dumps({**data, "fingerprint": fingerprint}))
    with pytest.raises(ModelError, match="unreadable encoder.json.*fingerprint"):
        read_encoder_record(tmp_path / "v")


@pytest.mark.parametrize("name", SHIPPED_ENCODER_VERSIONS)
def test_the_shipped_versions_carry_a_fingerprint_the_current_encoder_matches(name):
    """`make encoder` on this machine's packages gives an encoder the shipped versions accept by bytes or outputs."""
    store = REPO / "model_store"
    record = read_encoder_record(store / name)
    assert record.fingerprint_values.shape == (6, record.blocks + 1, 16)
    encoder = serving_encoder(name, store, record, num_threads=1)
    assert fingerprint_difference(record.fingerprint_values, encoder.fingerprint()) <= FINGERPRINT_TOLERANCE
