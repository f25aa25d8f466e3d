"""Training curves from ``metrics.jsonl``: per task, the calibrated reward next to the judges'
pass rates, so reward hacking (reward up, pass rate down) is visible at a glance."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from cgpo.errors import ConfigError


def plot_run(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Writes one PNG with a row of panels per task; returns its path."""
    from cgpo.trainer.metrics import read_metrics

    run = Path(run_dir)
    if not (run / "metrics.jsonl").is_file():
        raise ConfigError(
            f"run_dir: {str(run)!r} has no metrics.jsonl (is it a cgpo train output?)"
        )
    records = read_metrics(run)
    if not records:
        raise ConfigError(f"run_dir: {str(run / 'metrics.jsonl')!r} is empty")

    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_task[str(r["task"])].append(r)
    fig, axes = plt.subplots(len(by_task), 2, figsize=(11, 3.2 * len(by_task)), squeeze=False)
    for row, (task, recs) in zip(axes, by_task.items(), strict=True):
        recs.sort(key=lambda r: r["step"])
        steps = [r["step"] for r in recs]
        ax = row[0]
        ax.plot(
            steps, [r.get("calibrated_reward") for r in recs], marker="o", label="calibrated reward"
        )
        ax.plot(
            steps, [r.get("satisfied") for r in recs], marker="s", label="satisfied (all judges)"
        )
        for key in sorted({k for r in recs for k in r if k.endswith("/pass_rate")}):
            ax.plot(
                steps,
                [r.get(key) for r in recs],
                linestyle="--",
                label=key.removeprefix("judge/").removesuffix("/pass_rate") + " pass rate",
            )
        ax.set_title(f"{task}: reward vs judge pass rate")
        ax.set_xlabel("step")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=7)
        ax = row[1]
        ax.plot(steps, [r.get("reward") for r in recs], marker="o", label="reward")
        ax.plot(steps, [r.get("kl") for r in recs], marker="^", label="KL to reference")
        ax.set_title(f"{task}: raw reward and KL")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(output) if output else run / "curves.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
