"""``python -m bench``: print serving (and optionally training) figures and append them to RESULTS.md.

Usage::

    python -m bench                 # serving: warm latency, cold start, batch throughput
    python -m bench --training DIR  # also training clips/s and the seed-pipeline comparison on corpus DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import serving

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--store", help="model store (default: model_store/)")
    parser.add_argument("--training", metavar="CORPUS", help="also benchmark training and the seed pipeline")
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)
    store = Path(args.store) if args.store else None

    figures: dict[str, dict] = {}
    figures["warm_10s_clip"] = serving.warm_latency(store)
    print("10-s clip, warm:", json.dumps(figures["warm_10s_clip"]), flush=True)
    figures["cold_start"] = serving.cold_start(store)
    print("fresh process to first verdict:", json.dumps(figures["cold_start"]), flush=True)
    figures["batch"] = serving.batch_throughput(store)
    print("batch scoring:", json.dumps(figures["batch"]), flush=True)
    if args.training:
        from bench import training

        figures.update(training.run(Path(args.training), store))

    if not args.no_save:
        command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        lines = [f"\n## {stamp}\n", f"- command: `{command.strip()}`", f"- machine: {machine()}"]
        lines += [f"- {name}: `{json.dumps(values)}`" for name, values in figures.items()]
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by `python -m bench`; newest last.\n")
        with RESULTS.open("a") as out:
            out.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
