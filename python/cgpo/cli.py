"""The ``cgpo`` command line.

Subcommands are registered in :data:`COMMANDS`; each lives next to the code it drives and is
imported lazily, so ``cgpo --help`` stays fast and a bad config fails before torch is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cgpo.errors import CgpoError

# name -> (module, help). The module defines `add_arguments(parser)` and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "judge": ("cgpo.commands.judge", "judge a JSONL file of samples with a named judge"),
    "bench": (
        "cgpo.commands.bench",
        "benchmark the math judge against Math-Verify on real responses",
    ),
    "train": ("cgpo.commands.train", "post-train a model with CGPO (default: the built-in run)"),
    "train-rm": ("cgpo.commands.train_rm", "train a Bradley-Terry reward model"),
    "plot": ("cgpo.commands.plot", "plot a run's reward and judge pass-rate curves"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cgpo",
        description="Constrained Generative Policy Optimization: judges, benchmarks and training.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args))
    except CgpoError as e:
        for line in str(e).splitlines() or [""]:  # a config reports each problem on its line
            print(f"cgpo {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cgpo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
