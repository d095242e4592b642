"""Multi-condition copies of the clean training clips (train.encoder.copies) and how a fold trains on them.

The clips are made up (the toy corpus's genuine voice); audio is compared by band energy
and with stated tolerances, never sample by sample across machines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from train.encoder import copies, features
from train.toy_corpus import genuine_clip

RATE = 16000


def _frame(paths, splits, conditions) -> pd.DataFrame:
    return pd.DataFrame({"path": paths, "split": splits, "condition": conditions,
                         "y": np.arange(len(paths)) % 2})


def _clip(tmp_path, name: str, seed: int, seconds: float = 2.0) -> str:
    path = tmp_path / name
    sf.write(path, 0.3 * genuine_clip(140.0 + 20 * seed, seconds, np.random.default_rng(seed)), RATE)
    return str(path)


def test_only_clean_training_clips_are_copied_each_through_distinct_degraded_conditions():
    frame = _frame([f"/corpus/clip{i}.flac" for i in range(8)],
                   ["train", "train", "val", "test", "train", "train", "train", "val"],
                   ["clean", "mp3", "clean", "clean", "clean", "telephone", "clean", "clean"])
    plan = copies.plan(frame)
    assert sorted(set(plan["owner"])) == [0, 4, 6]
    assert (plan.groupby("owner").size() == copies.COPIES_PER_CLIP).all()
    for _, rows in plan.groupby("owner"):
        assert rows["condition"].nunique() == copies.COPIES_PER_CLIP
        assert set(rows["condition"]) <= set(copies.COPY_CONDITIONS) and "clean" not in set(rows["condition"])
    assert (plan["path"].to_numpy() == frame["path"].to_numpy()[plan["owner"]]).all()


def test_a_clip_draws_the_same_conditions_wherever_it_is_listed():
    paths = [f"/corpus/clip{i}.flac" for i in range(30)]
    frame = _frame(paths, ["train"] * 30, ["clean"] * 30)
    first = copies.plan(frame).set_index(["path", "copy"])["condition"]
    shuffled = copies.plan(frame.iloc[::-1].reset_index(drop=True)).set_index(["path", "copy"])["condition"]
    assert first.sort_index().equals(shuffled.sort_index())
    assert first.nunique() == len(copies.COPY_CONDITIONS), "30 clips reach every degraded condition"


def _band_share(x: np.ndarray, above_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    return float(spectrum[np.fft.rfftfreq(len(x), 1 / RATE) > above_hz].sum() / spectrum.sum())


def test_a_telephone_copy_loses_the_band_above_4_khz_and_is_reproducible(tmp_path):
    path = _clip(tmp_path, "a.wav", 1)
    original = features.prepared_samples(path)
    phone = copies.copy_samples(path, "telephone", 0)
    assert _band_share(original, 4000) > 0.01
    assert _band_share(phone, 4000) < 1e-4
    assert abs(len(phone) - len(original)) < RATE // 10
    again = copies.copy_samples(path, "telephone", 0)
    assert np.allclose(again, phone, atol=1e-6)
    noisy_a, noisy_b = copies.copy_samples(path, "noise", 0), copies.copy_samples(path, "noise", 1)
    assert not np.allclose(noisy_a, noisy_b, atol=1e-3), "each copy of a clip draws its own noise"


def test_loading_copies_that_were_never_made_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "CACHE_ROOT", tmp_path / "cache")
    encoder = tmp_path / "encoder.tflite"
    encoder.write_bytes(b"not a model: only its digest names the cache")
    frame = _frame([_clip(tmp_path, "a.wav", 1)], ["train"], ["clean"])
    with pytest.raises(FileNotFoundError, match="python -m train.encoder.copies"):
        copies.load(frame, encoder)


def test_no_copies_to_make_loads_as_an_empty_set(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "CACHE_ROOT", tmp_path / "cache")
    encoder = tmp_path / "encoder.tflite"
    encoder.write_bytes(b"x")
    loaded = copies.load(_frame([_clip(tmp_path, "a.wav", 1)], ["val"], ["clean"]), encoder)
    assert len(loaded["owner"]) == 0 and loaded["stats"].shape == (0, 5, 2, 512) and loaded["frames"] == []


def test_a_fold_trains_on_the_copies_of_the_clips_it_keeps_and_none_of_the_held_out():
    from train.encoder.bakeoff import _with_copies

    n = 6
    data = {"y": np.array([0, 1, 0, 1, 0, 1]), "copies": {
        "owner": np.array([0, 0, 1, 1, 5, 5]), "stats": np.arange(6, dtype=np.float32)[:, None] + 100,
        "frames": [np.full((3, 2), k) for k in range(6)], "condition": np.array(["mp3", "noise"] * 3)}}
    rows = np.array([0, 1, 2, 3])    # clip 5 is held out, so are its copies
    stats = np.arange(n, dtype=np.float32)[rows, None]
    extra = {"frames": [np.zeros((3, 2))] * len(rows), "conditions": np.array(["clean"] * len(rows))}
    stats, labels, extra = _with_copies(data, rows, stats, data["y"][rows], extra)
    assert stats[:, 0].tolist() == [0, 1, 2, 3, 100, 101, 102, 103]
    assert labels.tolist() == [0, 1, 0, 1, 0, 0, 1, 1]
    assert extra["groups"].tolist() == [0, 1, 2, 3, 0, 0, 1, 1]
    assert len(extra["frames"]) == 8 and extra["frames"][-1][0, 0] == 3
    assert extra["conditions"].tolist()[4:] == ["mp3", "noise", "mp3", "noise"]


def test_a_copys_cached_stream_gives_its_cached_statistics_through_the_pretrained_block(tmp_path, monkeypatch):
    from detector.encoder.runtime import encoder_path, pooled_stats
    from train.encoder.keras_whisper import pretrained_encoder

    monkeypatch.setattr(features, "CACHE_ROOT", tmp_path / "cache")
    encoder = encoder_path(4)
    assert encoder.exists(), "run `make encoder` first: copies are keyed on the shared Whisper encoder"
    frame = _frame([_clip(tmp_path, "a.wav", 1), _clip(tmp_path, "b.wav", 2, 1.5)], ["train", "train"],
                   ["clean", "clean"])
    assert copies.extract(copies.plan(frame), encoder) == {}
    loaded = copies.load(frame, encoder)
    assert loaded["owner"].tolist() == [0, 0, 1, 1] and loaded["stats"].shape == (4, 5, 2, 512)
    assert all(f.dtype == np.float16 and f.shape[1] == 512 for f in loaded["frames"])
    whisper = pretrained_encoder(4)
    block, norm = whisper.get_layer("block_3"), whisper.get_layer("final_norm")
    for stream, stats in zip(loaded["frames"], loaded["stats"]):
        out4 = np.asarray(norm(block(stream.astype(np.float32)[None])))[0]
        # float16 storage of the stream is the only difference
        assert np.allclose(pooled_stats(out4[:, None])[0], stats[4], atol=2e-2)
    # two conditions of one clip give two different encodings
    assert not np.allclose(loaded["stats"][0], loaded["stats"][1], atol=1e-3)


def test_the_card_of_a_version_trained_with_copies_says_so_in_its_data_section(tmp_path):
    card = tmp_path / "card.md"
    card.write_text("# Model card\n\n## Data\n- Languages: en.\n- Channel conditions (applied to both classes): clean, "
                    "mp3.\n- Splits are speaker-disjoint.\n\n## How well it works\n", encoding="utf-8")
    copies.add_to_card(card, 3552)
    lines = card.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("- Channel conditions"))
    assert lines[at + 1].startswith("- Multi-condition training: 3552 copies")
    assert lines[at + 2] == "- Splits are speaker-disjoint." and lines[-1] == "## How well it works"


def test_a_card_without_a_line_on_channel_conditions_is_refused_not_left_unsaid(tmp_path):
    card = tmp_path / "card.md"
    card.write_text("# Model card\n\n## Data\n- Languages: en.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no line on channel conditions"):
        copies.add_to_card(card, 10)


def test_the_copies_cache_is_keyed_on_the_channel_code(tmp_path, monkeypatch):
    encoder = tmp_path / "encoder.tflite"
    encoder.write_bytes(b"x")
    before = copies.copies_folder(encoder)
    edited = tmp_path / "conditions.py"
    edited.write_text(open(copies.conditions.__file__, encoding="utf-8").read() + "\n# an edit\n", encoding="utf-8")
    monkeypatch.setattr(copies.conditions, "__file__", str(edited))
    assert copies.copies_folder(encoder) != before
