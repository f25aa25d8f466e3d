"""Math judge benchmark (Rust vs pure-Python reference vs Math-Verify) on real responses.

Usage: PYTHONPATH=python python benches/bench_math.py [--limit N] [--no-math-verify]
(the same as `cgpo bench`).
"""

from __future__ import annotations

import argparse
import sys

from cgpo.commands import bench

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    bench.add_arguments(parser)
    sys.exit(bench.run(parser.parse_args()))
