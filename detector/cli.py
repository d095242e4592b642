"""Command line: ``python -m detector score PATH... | models | promote VERSION | rollback | seal VERSION``.

Exit codes: 0 every file scored, 1 some file failed (its row carries the error),
2 usage error or no model. Bad input never prints a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Iterator, Sequence

from detector.errors import AudioError, ModelError
from detector.spreadsheet import spreadsheet_safe
from detector.vocabulary import AUDIO_EXTENSIONS

# ``probability`` and the two edges are written as the app writes them for the same clip (detector.clip_edges):
# "0.4 %" against "1.1 %"; an edge is empty where the clip could not get that band.
CSV_COLUMNS = ("path", "p_synthetic", "verdict", "duration_s", "error", "probability", "likely_genuine_below",
               "likely_synthetic_from")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, never a traceback
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m detector", description="Deepfake voice detector.")
    parser.add_argument("--store", help="model store folder (default: model_store/ or $DETECTOR_MODEL_STORE)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    score = commands.add_parser("score", help="score audio files or folders (recursively)")
    score.add_argument("paths", nargs="+", help="audio files or folders")
    score.add_argument("--out", help="write results here instead of standard output")
    score.add_argument("--format", choices=("csv", "json"), default="csv")
    score.add_argument("--model", help="model version to use instead of the active one")
    commands.add_parser("models", help="list model versions (active marked with *)")
    promote = commands.add_parser("promote", help="make a model version the active one (atomic)")
    promote.add_argument("version")
    commands.add_parser("rollback", help="re-activate the previously active version")
    seal = commands.add_parser("seal", help="record a version's file hashes and reference scores (integrity.json); "
                                            "only for a version you have checked")
    seal.add_argument("version")
    return parser


def iter_audio_files(paths: Sequence[str]) -> Iterator[Path]:
    """Files named directly (whatever their extension), and audio files inside folders, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS]
            yield from sorted(found)
        else:
            yield path


def score_paths(detector, paths: Sequence[str]) -> list[dict]:
    """One result row per file; failures keep an empty score and the error sentence."""
    from detector.clip_edges import clip_edges

    rows = []
    for path in iter_audio_files(paths):
        row = {"path": str(path), "p_synthetic": "", "verdict": "", "duration_s": "", "error": "", "probability": "",
               "likely_genuine_below": "", "likely_synthetic_from": ""}
        try:
            analysis = detector.analyse(path)
        except AudioError as exc:
            row["error"] = exc.message
        except MemoryError:
            row["error"] = "The file is too large to analyse in memory."
        else:
            text = clip_edges(analysis, detector.calibration).text
            row.update(p_synthetic=f"{analysis.p_synthetic:.6f}", verdict=analysis.verdict,
                       duration_s=f"{analysis.duration_s:.3f}", probability=text.value,
                       likely_genuine_below=text.genuine_below or "", likely_synthetic_from=text.synthetic_above or "")
            row["warnings"] = [w.message for w in analysis.warnings]
        rows.append(row)
    return rows


def format_rows(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)
    return buffer.getvalue()


def _cmd_score(args: argparse.Namespace) -> int:
    from detector import trust
    from detector.inference import Detector
    from detector.registry import ModelRegistry

    registry = ModelRegistry(args.store)
    if args.model:
        detector = Detector(trust.check(registry, args.model))   # the same checks as promotion: intact, or refused
    else:
        version, notice = trust.serving_version(registry)   # a broken active model falls back to its history
        if notice:
            print(f"warning: {notice}", file=sys.stderr)
        detector = Detector(version)
    rows = score_paths(detector, args.paths)
    if not rows:
        print("error: no audio files found in the given folders", file=sys.stderr)
        return 2
    text = format_rows(rows, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    failed = sum(1 for row in rows if row["error"])
    print(f"{len(rows) - failed} scored, {failed} failed (model {detector.name})", file=sys.stderr)
    return 1 if failed else 0


def _cmd_models(args: argparse.Namespace) -> int:
    from detector import trust
    from detector.model_facts import facts_of
    from detector.registry import ModelRegistry

    registry = ModelRegistry(args.store)
    try:
        active = registry.active_name()
    except ModelError as exc:   # still list the versions: one of them is the repair
        active = None
        print(f"warning: {exc}", file=sys.stderr)
    names = registry.versions()
    if not names:
        print(f"No model versions in {registry.root}.")
        return 0
    for name in names:
        try:
            version = trust.check(registry, name)   # builds the model and scores a probe: broken ones show here
            eer = f"test EER {facts_of(version).test_eer.text(2)}"   # with the corpus it was measured on
            detail = f"{version.features.feature}, {eer}"
        except ModelError as exc:
            detail = f"broken: {exc}"
        print(f"{'*' if name == active else ' '} {name}  {detail}")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from detector import trust
    from detector.registry import ModelRegistry

    registry = ModelRegistry(args.store)
    unreadable = _unreadable_pointer(registry)
    trust.promote(registry, args.version)
    if unreadable:
        print(f"warning: {unreadable} It was rewritten; its rollback history could not be read and starts empty.",
              file=sys.stderr)
    print(f"Active model: {args.version}")
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from detector import trust
    from detector.registry import ModelRegistry

    registry = ModelRegistry(args.store)
    unreadable = _unreadable_pointer(registry)
    name = trust.rollback(registry)
    if unreadable:   # no history to go back through: the newest good version, as the app already serves
        print(f"warning: {unreadable} It now names {name}, the newest version in the store that passes its checks.",
              file=sys.stderr)
    print(f"Active model: {name}")
    return 0


def _unreadable_pointer(registry) -> str | None:
    """The pointer's error sentence when it cannot be read, else ``None``."""
    try:
        registry.pointer()
    except ModelError as exc:
        return str(exc)
    return None


def _cmd_seal(args: argparse.Namespace) -> int:
    from detector.integrity import seal
    from detector.model_probe import probe_version
    from detector.registry import ModelRegistry

    version = ModelRegistry(args.store).load(args.version)
    probe_version(version)   # never vouch for a model that cannot serve
    record = seal(version)
    scores = ", ".join(f"{r['clip']} {r['p_synthetic']:.6f}" for r in record["references"])
    print(f"Sealed {version.name}: {len(record['files'])} files; reference scores {scores}")
    return 0


COMMANDS = {"score": _cmd_score, "models": _cmd_models, "promote": _cmd_promote, "rollback": _cmd_rollback,
            "seal": _cmd_seal}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '')}", file=sys.stderr)
        return 2
