"""Command line: ``python -m train.corpus {build,audit,summary,adapt}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.corpus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build or resume a corpus")
    b.add_argument("--size", choices=["small", "default", "full"], default="default")
    b.add_argument("--out", default=None, help="output folder (default data/corpus, data/corpus-small for small)")
    b.add_argument("--seed", type=int, default=1234)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--cache", default=None, help="download cache (default .cache/corpus)")
    b.add_argument("--no-audit", action="store_true")
    a = sub.add_parser("audit", help="re-run the shortcut audit of a built corpus")
    a.add_argument("corpus")
    s = sub.add_parser("summary", help="print (and rewrite) summary.json of a corpus")
    s.add_argument("corpus")
    d = sub.add_parser("adapt", help="write manifest.csv for a user's dataset")
    d.add_argument("dataset")
    d.add_argument("--out", default=None, help="CSV path (default: print)")
    args = parser.parse_args(argv)

    if args.command == "build":
        from train.corpus.builder import build

        out = args.out or ("data/corpus-small" if args.size == "small" else "data/corpus")
        summary = build(out, args.size, seed=args.seed, workers=args.workers, cache=args.cache, audit=not args.no_audit)
        print(json.dumps({k: summary[k] for k in ("clips", "hours", "by_label", "by_family", "build_s") if k in summary}))
        return 0
    if args.command == "audit":
        from train.corpus.audit import run_audit

        result = run_audit(args.corpus)
        return 0 if result["passed"] else 1
    if args.command == "summary":
        from train.corpus.manifest import format_summary, summarise, write_summary
        from train.schema import read_manifest_table as read_manifest

        existing = Path(args.corpus) / "summary.json"
        # Keep what only the build knows (timings, audit EER, narrow share).
        kept = json.loads(existing.read_text()) if existing.exists() else {}
        summary = {**kept, **summarise(read_manifest(args.corpus))}
        write_summary(summary, Path(args.corpus))
        print(format_summary(summary))
        return 0
    from train.corpus.adapters import manifest_from_dataset

    manifest = manifest_from_dataset(args.dataset)
    if args.out:
        manifest.to_csv(args.out, index=False)
    else:
        manifest.to_csv(sys.stdout, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
