"""detector/vocabulary.py: the corpus's families, protocols and audio extensions are listed once, and kept in step."""

from __future__ import annotations

from detector.vocabulary import AUDIO_EXTENSIONS, FAMILIES, NEURAL_VOCODER_FAMILY, PROTOCOLS, SYNTHETIC_FAMILIES


def test_every_per_family_table_covers_exactly_the_listed_families() -> None:
    from train.corpus.plan import FAMILY_SHARE
    from webapp.model_sentences import FAMILY_WORDS

    assert set(FAMILY_SHARE) == set(SYNTHETIC_FAMILIES)   # the corpus plans a share for every family
    assert set(FAMILY_WORDS) == set(SYNTHETIC_FAMILIES)   # and the app has plain words for each
    assert FAMILIES[0] == "genuine" and NEURAL_VOCODER_FAMILY in SYNTHETIC_FAMILIES


def test_protocols_and_extensions_are_the_ones_every_reader_uses() -> None:
    from detector.cli import AUDIO_EXTENSIONS as CLI_EXTENSIONS
    from train.corpus.adapters import AUDIO_EXTENSIONS as DATASET_EXTENSIONS
    from train.heldout import Fold

    assert all(Fold.parse(f"{protocol}:x").protocol == protocol for protocol in PROTOCOLS)
    assert CLI_EXTENSIONS is DATASET_EXTENSIONS is AUDIO_EXTENSIONS
    assert all(extension.startswith(".") and extension == extension.lower() for extension in AUDIO_EXTENSIONS)
