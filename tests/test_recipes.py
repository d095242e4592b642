"""Committed training recipes (train/recipes/*.json) and the one-class softmax option."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from train.config import RECIPES_DIR, TrainConfig, available_recipes, load_recipe


def _args(**options) -> argparse.Namespace:
    from train.fit import build_parser

    argv = ["--corpus", "c"]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return build_parser().parse_args(argv)


def test_the_committed_recipes_exist_and_quick_is_the_trainconfig_default() -> None:
    assert {"quick", "full", "fold"} <= set(available_recipes())
    assert load_recipe("quick") == TrainConfig()   # the Admin retrain is the defaults, defined once
    assert not (RECIPES_DIR / "quick.json").exists()
    for name in available_recipes():
        assert load_recipe(name).recipe == name


def test_full_fits_the_90_minute_budget_and_fold_is_shorter() -> None:
    full, fold, quick = load_recipe("full"), load_recipe("fold"), load_recipe("quick")
    assert full.max_minutes is not None and full.max_minutes <= 90
    assert quick.max_minutes is not None and quick.max_minutes <= 15
    assert fold.epochs < full.epochs
    # A fold retrains the shipped recipe, shorter: everything but the length matches.
    same = {k: v for k, v in full.to_dict().items() if k not in ("epochs", "max_minutes", "patience", "recipe")}
    assert same == {k: v for k, v in fold.to_dict().items() if k in same}


def test_fit_options_override_a_recipe_and_mark_it_changed() -> None:
    from train.fit import config_from_args

    assert config_from_args(_args(recipe="full")).recipe == "full"
    changed = config_from_args(_args(recipe="full", epochs=3))
    assert changed.epochs == 3 and changed.recipe == "full+changes"
    assert config_from_args(_args()).recipe == "quick"
    assert config_from_args(_args(epochs=load_recipe("quick").epochs)).recipe == "quick"   # no real change


def test_an_unknown_or_broken_recipe_is_refused_with_a_clear_message(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown recipe 'fast'.*full"):
        load_recipe("fast")
    broken = tmp_path / "r.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read a training recipe"):
        TrainConfig.load(broken)


def test_oc_softmax_pulls_genuine_in_and_pushes_synthetic_out() -> None:
    from train.losses import M_GENUINE, M_SYNTHETIC, oc_softmax

    scores = np.array([[-1.0], [0.0], [-1.0], [0.0]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1], dtype=np.float32)
    loss = np.asarray(oc_softmax(labels, scores))
    assert loss[0] < 0.2 < loss[1]       # genuine: fine near -1 (inside the margin), punished at 0
    assert loss[3] < 0.2 < loss[2]       # synthetic: fine at 0 (past -M_SYNTHETIC), punished at -1
    # Genuine must sit within acos(M_GENUINE) of its direction; synthetic only outside acos(M_SYNTHETIC).
    assert float(oc_softmax(np.zeros(1), np.array([[-M_GENUINE]], "float32"))[0]) == pytest.approx(np.log(2), abs=1e-4)
    assert float(oc_softmax(np.ones(1), np.array([[-M_SYNTHETIC]], "float32"))[0]) == pytest.approx(np.log(2), abs=1e-4)


def test_the_cosine_head_outputs_a_cosine_and_keeps_a_unit_weight() -> None:
    import keras

    from train.archs import build_model
    from train.losses import make_loss

    model = build_model("effnet", (32, 24, 1), stem_filters=4, widths=(8, 8), dense_units=8, output="cosine")
    loss, threshold = make_loss("ocsoftmax")
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(16, 32, 24, 1)).astype("float32")
    model.train_on_batch(windows, rng.integers(0, 2, 16).astype("float32"))
    out = model.predict(windows, verbose=0)
    assert np.all(np.abs(out) <= 1.0 + 1e-5) and -1 < threshold < 0
    assert np.linalg.norm(model.get_layer("logit").kernel.numpy()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="output must be"):
        build_model("effnet", (32, 24, 1), output="softmax")


def test_fit_refuses_a_recipe_and_a_config_together(capsys) -> None:
    from train.fit import main

    with pytest.raises(SystemExit):
        main(["--corpus", "c", "--recipe", "full", "--config", "x.json"])
    assert "not both" in capsys.readouterr().err
