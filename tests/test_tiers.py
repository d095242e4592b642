"""tests/tiers.py: a test's tier follows from what it loads, so the fast tier never needs a list kept by hand."""

from __future__ import annotations

import tiers


def test_what_importing_a_module_loads_is_followed_through_first_party_code() -> None:
    assert "tensorflow" in tiers.loads("train.fit")                   # train.fit imports TensorFlow at its top
    assert "tensorflow" in tiers.loads("train.evaluate.__main__")     # ... and so does whatever imports it
    assert not {"tensorflow", "keras"} & tiers.loads("train.heldout")  # the folds' logic is passed its trainer
    assert not {"tensorflow", "keras", "streamlit"} & tiers.loads("detector.model_report")


def test_a_call_into_a_module_counts_its_lazy_imports_too() -> None:
    assert "tensorflow" not in tiers.loads("train.export")            # imports TensorFlow inside export_tflite
    assert "tensorflow" in tiers._called_loads("train.export")
    assert "streamlit.testing" in tiers.loads("admin_helpers")        # a helper module in tests/ is followed


def test_this_light_test_lands_in_the_fast_tier(request) -> None:
    assert not [marker for marker in tiers.MARKERS if request.node.get_closest_marker(marker)]
