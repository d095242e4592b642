"""A fine-tuned version's encoder: its tuned blocks committed small, the whole LiteRT file built by ``make``.

A version whose top blocks were fine-tuned (:mod:`train.encoder.finetune`) keeps those
blocks' weights in its own folder as ``tuned_blocks.npz`` (float16, CTranslate2's names
and layout: about 6 MB a block). The encoder it serves on, ``<store>/encoders/tuned-<version>.tflite``,
is the installed Whisper weights with those blocks replaced, converted exactly as the
shared encoder (:func:`train.encoder.export.export_encoder`); at 55 MB it is never committed.
``python -m train.encoder.tuned_export --store model_store`` (part of ``make encoder``)
builds every missing one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from detector.encoder.ct2_file import BLOCK_DENSE, BLOCK_NORMS
from detector.encoder.record import TUNED_BLOCKS_FILE as TUNED_FILE
from detector.encoder.record import tuned_block_numbers
from detector.encoder.runtime import ENCODERS_FOLDER
from detector.paths import model_store


def tuned_encoder_name(version: str) -> str:
    """The file name of a tuned version's encoder in ``<store>/encoders/``."""
    return f"tuned-{version}.tflite"


def block_variables(block, index: int) -> dict[str, np.ndarray]:
    """A Keras :class:`~train.encoder.keras_whisper.EncoderBlock`'s weights under CTranslate2's names, float16."""
    prefix, out = f"encoder/layer_{index}", {}
    for attr, key in BLOCK_NORMS.items():
        gamma, beta = (np.asarray(w) for w in getattr(block, attr).get_weights())
        out[f"{prefix}/{key}/gamma"], out[f"{prefix}/{key}/beta"] = gamma, beta
    for attr, key in BLOCK_DENSE.items():
        kernel, bias = (np.asarray(w) for w in getattr(block, attr).get_weights())
        out[f"{prefix}/{key}/weight"], out[f"{prefix}/{key}/bias"] = kernel.T, bias
    return {k: v.astype(np.float16) for k, v in out.items()}


def write_tuned_blocks(folder: str | Path, blocks: list, first_index: int) -> Path:
    """Save ``blocks`` (Keras blocks ``first_index``, ``first_index + 1``, ...) as the version's ``tuned_blocks.npz``."""
    variables: dict[str, np.ndarray] = {}
    for offset, block in enumerate(blocks):
        variables.update(block_variables(block, first_index + offset))
    path = Path(folder) / TUNED_FILE
    np.savez_compressed(path, **variables)
    return path


def build_tuned_encoder(version_folder: str | Path, store: str | Path, version: str | None = None,
                        blocks: int = 4) -> Path:
    """Build ``<store>/encoders/tuned-<version>.tflite`` from the installed weights and the version's tuned blocks.

    ``version`` names the file when ``version_folder`` is a temporary folder renamed afterwards.
    """
    from detector.encoder.ct2_file import read_parts
    from train.encoder.export import export_encoder

    folder = Path(version_folder)
    variables = dict(read_parts())
    with np.load(folder / TUNED_FILE) as tuned:
        unknown = [k for k in tuned.files if k not in variables]
        if unknown:
            raise ValueError(f"{folder / TUNED_FILE} names weights Whisper base does not have: {unknown[:3]}")
        variables.update({k: tuned[k] for k in tuned.files})
    target = Path(store) / ENCODERS_FOLDER / tuned_encoder_name(version or folder.name)
    path = export_encoder(blocks, target, variables=variables)
    record_file = path.with_suffix(".json")   # the record export wrote says what the weights are: say which changed
    record = json.loads(record_file.read_text())
    blocks_tuned = tuned_block_numbers(folder)
    record["weights"] += (f", with block{'s' if len(blocks_tuned) > 1 else ''} "
                          f"{' and '.join(map(str, blocks_tuned))} fine-tuned by version {version or folder.name}")
    record_file.write_text(json.dumps(record, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.encoder.tuned_export", description=__doc__)
    parser.add_argument("--store", default=None)
    args = parser.parse_args(argv)
    store = Path(args.store or model_store())
    for folder in sorted(p.parent for p in store.glob(f"*/{TUNED_FILE}")):
        target = store / ENCODERS_FOLDER / tuned_encoder_name(folder.name)
        if target.exists():
            print(f"{target} exists")
            continue
        print(build_tuned_encoder(folder, store))
    return 0


if __name__ == "__main__":
    sys.exit(main())
