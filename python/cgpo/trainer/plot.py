"""Training curves from ``metrics.jsonl``: per task, the calibrated reward next to the judges'
pass rates, so reward hacking (reward up, pass rate down) is visible at a glance. Where the run
wrote ``eval.json``, the held-out pass rate before (step 0) and after (last step) is drawn in the
same panel, with the paired 95% interval of the rise in the legend."""

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
    heldout = _heldout(run)

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
        if task in heldout:
            h = heldout[task]
            lo, hi = h["delta_ci95"]
            ax.plot(
                [0, steps[-1]],
                [h["before"], h["after"]],
                "D:",
                color="black",
                ms=7,
                label=f"held-out pass rate, greedy (n={h['n']}): {h['before']:.2f} -> "
                f"{h['after']:.2f}, rise 95% CI [{lo:+.2f}, {hi:+.2f}]",
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


def _heldout(run: Path) -> dict[str, Any]:
    """``eval.json``'s per-task results, or nothing when the run has none."""
    import json

    path = run / "eval.json"
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("tasks", {}))
