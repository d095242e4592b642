"""One head spec (issue 30, item 3): the names, the Admin list, the card and the trainer derive from it."""

from __future__ import annotations

import pytest

from detector.encoder.head_spec import FUSED, POOLED, SERVABLE_HEADS, SERVABLE_NAMES, HeadSpec, servable
from webapp.job_commands import ENCODER_HEADS


def test_a_name_says_what_the_head_reads():
    assert HeadSpec(POOLED, (0, 1, 2, 3, 4)).name == "linear-01234"
    assert HeadSpec(FUSED, (0, 1, 2, 3, 4), (0, 1, 2, 3)).name == "fused-01234-temporal-0123"
    assert HeadSpec(POOLED, (0, 1, 2, 3, 4), c_grid=(0.001,)).name == "linear-01234-c0.001"
    assert HeadSpec(POOLED, (1, 2, 3), per_output=True).name == "linear-123-each"


def test_the_words_name_the_layers_read():
    words = HeadSpec(FUSED, (0, 1, 2, 3, 4), (0, 1, 2, 3)).words()
    assert "the stem, block 1, block 2, block 3 and block 4" in words
    assert "0.1-second averages of the stem, block 1, block 2 and block 3" in words


@pytest.mark.parametrize("fields", [dict(kind="attention", outputs=(0,)), dict(kind=POOLED, outputs=()),
                                    dict(kind=POOLED, outputs=(1, 1)), dict(kind=FUSED, outputs=(0,)),
                                    dict(kind=POOLED, outputs=(0,), temporal_outputs=(0, 1, 2, 3)),
                                    dict(kind=FUSED, outputs=(0,), temporal_outputs=(1, 2)),
                                    dict(kind=FUSED, outputs=(0,), temporal_outputs=(0, 1, 2, 3, 4)),
                                    dict(kind=POOLED, outputs=(0,), c_grid=(0.0,))])
def test_impossible_heads_are_refused(fields):
    with pytest.raises(ValueError):
        HeadSpec(**fields)


def test_the_admin_list_and_the_trainer_use_the_same_specs():
    from train.encoder.heads import CANDIDATES, SERVABLE, head_for, spec_of

    assert ENCODER_HEADS == SERVABLE_NAMES == SERVABLE and len(set(SERVABLE_NAMES)) == len(SERVABLE_HEADS)
    assert ENCODER_HEADS[0] == "fused-01234-temporal-0123"   # the shipped kind first
    for spec in SERVABLE_HEADS:
        assert spec_of(head_for(spec)) == spec and spec.name in CANDIDATES and servable(spec.name) == spec
    with pytest.raises(ValueError, match="not a head the app can serve"):
        servable("temporal-0123")


def test_the_admin_label_says_what_the_head_reads():
    from app_pages.admin_encoder import head_label

    assert head_label("fused-01234-temporal-0123") == ("linear on the stem and blocks 1-4, fused with a temporal head "
                                                       "on the stem and blocks 1-3 (shipped)")
    assert head_label("linear-123") == "linear on blocks 1-3"
    assert head_label("linear-01234-c0.001") == "linear on the stem and blocks 1-4, C = 0.001"
