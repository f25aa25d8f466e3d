"""Runs the code judge's hostile battery and prints one JSON line (used as `nobody`).

Usage: run_code_battery.py <directory holding the cgpo package>
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from code_battery import (
    CASES,
    FILESYSTEM_CASES,
    FORGERY_CASES,
    make_context,
    run_case,
    zygote_processes,
)

from cgpo.judges import CodeJudge


def main() -> None:
    report: dict = {"uid": os.getuid(), "wrong": [], "breaches": []}
    with make_context() as ctx:
        judge = CodeJudge(
            timeout_s=1.5, memory_mb=256, excerpt_chars=1 << 20, python=sys.executable
        )
        report["isolation"] = judge.isolation
        report["run_memory_cap"] = judge.run_memory_cap
        mine = set()
        for case in CASES + FILESYSTEM_CASES + FORGERY_CASES:
            status, detail, found = run_case(judge, case, ctx)
            mine |= set(zygote_processes(os.getuid()))
            if status not in case.expected:
                report["wrong"].append([case.name, status, detail])
            report["breaches"].extend(f"{case.name}: {b}" for b in found)
        report["workers_seen"] = len(mine)
        judge.close()
        report["left_after_close"] = sorted(mine & set(zygote_processes(os.getuid())))
    print(json.dumps(report))


main()
