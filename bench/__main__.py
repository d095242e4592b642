"""``python -m bench``: print serving (and optionally training) figures and append them to RESULTS.md.

Usage::

    python -m bench                 # serving: warm latency, cold start, batch throughput
    python -m bench --training DIR  # also training clips/s and the seed-pipeline comparison on corpus DIR
    python -m bench --sessions 20   # load: 20 concurrent Detect sessions, p50/p95 time to verdict, peak RSS
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
    parser.add_argument("--sessions", type=int, metavar="N",
                        help="run only the load benchmark: N concurrent sessions of the Detect page")
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args(argv)
    store = Path(args.store) if args.store else None
    if args.sessions is not None and args.sessions < 1:
        parser.error("--sessions must be at least 1")

    figures: dict[str, dict] = {}
    if args.sessions:
        from bench import load

        figures["load"] = load.run(args.sessions, store)
        print(f"{args.sessions} concurrent sessions:", json.dumps(figures["load"]), flush=True)
        complete = figures["load"]["verdicts"] == args.sessions
        _save(figures, argv, args.no_save or not complete)   # a broken run is printed, never recorded
        return 0 if complete else 1
    figures["warm_10s_clip"] = serving.warm_latency(store)
    print("10-s clip, warm:", json.dumps(figures["warm_10s_clip"]), flush=True)
    figures["cold_start"] = serving.cold_start(store)
    print("fresh process to first verdict:", json.dumps(figures["cold_start"]), flush=True)
    figures["batch"] = serving.batch_throughput(store)
    print("batch scoring:", json.dumps(figures["batch"]), flush=True)
    if args.training:
        from bench import training

        figures.update(training.run(Path(args.training), store))
    _save(figures, argv, args.no_save)
    return 0


def _save(figures: dict[str, dict], argv: list[str] | None, no_save: bool) -> None:
    """Append the figures to RESULTS.md with the command and the machine, unless told not to."""
    if not no_save:
        command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        lines = [f"\n## {stamp}\n", f"- command: `{command.strip()}`", f"- machine: {machine()}"]
        lines += [f"- {name}: `{json.dumps(values)}`" for name, values in figures.items()]
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by `python -m bench`; newest last.\n")
        with RESULTS.open("a") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
