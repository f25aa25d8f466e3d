"""``cgpo plot RUN_DIR``: PNG curves of a run's metrics.jsonl (reward vs judge pass rate)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a `cgpo train` output directory (with metrics.jsonl)")
    parser.add_argument("--output", help="PNG path (default: RUN_DIR/curves.png)")


def run(args: argparse.Namespace) -> int:
    from cgpo.trainer.plot import plot_run

    print(f"wrote {plot_run(args.run_dir, args.output)}")
    return 0
