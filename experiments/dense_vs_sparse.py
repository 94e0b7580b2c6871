"""Dense vs sparse: PPO and GRPO with the sparse success reward and with Similar's reward.

Every (algorithm, reward, task, seed) is one run of ``similar train-agent`` in
``OUT/runs/<algo>-<reward>-<task>-s<seed>`` (TensorBoard logs inside). From the runs' episode
logs the study draws success rate against env steps (mean over seeds, 95% t-interval band) and
measures sample efficiency: the sparse run's final success rate (mean over seeds, last quarter of
the budget) and the env steps the Similar run needs to reach it (its seed-mean curve); the
target is reaching it in at most half the budget (>= 2x). Where the sparse runs never succeed
there is nothing to reach and the study says so instead of printing a ratio. Where the sparse
runs never rise above their first bin (they did not learn), any Similar run reaches their final
rate at once: the ratio is printed but marked as a floor and not counted as meeting 2x.
Each cell also compares the per-seed final rates with Welch's t-test (``welch``: t, degrees of
freedom, two-sided p).

Writes ``results.json``, ``table.md`` and ``curves.png`` in ``OUT``. Interrupted runs resume
(finished runs are skipped), so the same command continues a study.

    python -m experiments.dense_vs_sparse --out runs/dense_vs_sparse
    similar study dense-vs-sparse --total-timesteps 4096 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reward_model.config_base import JsonConfig, help_field
from similar_gym.files import write_text_atomic


@dataclass
class DenseVsSparseConfig(JsonConfig):
    """What the study runs."""

    tasks: tuple[str, ...] = help_field(
        (
            "miniwob/enter-text",
            "miniwob/click-tab",
            "miniwob/click-button-sequence",
            "settings/privacy-setting",
        ),
        "Multi-step tasks, one set of runs each.",
    )
    algos: tuple[str, ...] = help_field(("ppo", "grpo"), "Learners: ppo and/or grpo.")
    rewards: tuple[str, ...] = help_field(
        ("sparse", "similar"), "Rewards compared (agents.env_config.REWARDS)."
    )
    seeds: tuple[int, ...] = help_field((0, 1, 2), "Seeds of each (algorithm, reward, task).")
    total_timesteps: int = help_field(1024, "Env steps of every run.")
    similar_model: str = help_field("default", "Reward model: 'default' or a checkpoint folder.")
    similar_scale: float = help_field(0.1, "Factor on the Similar reward.")
    similar_shaping: str = help_field(
        "none",
        "none or potential: the Similar reward as a potential difference "
        "(AgentEnvConfig.similar_shaping).",
    )
    grpo_process_weight: float = help_field(
        1.0,
        "GRPO with the Similar reward: w x process + (1 - w) x outcome advantage "
        "(1 = process supervision alone; GRPOConfig.process_weight).",
    )
    grpo_process_to_go: bool = help_field(
        True, "GRPO's process advantage summed to the end (GRPOConfig.process_to_go)."
    )
    grpo_process_decay_steps: int = help_field(
        0,
        "GRPO: env steps over which the process weight falls to 0 "
        "(GRPOConfig.process_decay_steps; 0: constant).",
    )
    ppo_similar_decay_steps: int = help_field(
        0,
        "PPO: env steps over which the Similar reward's scale falls to 0 "
        "(PPOConfig.similar_decay_steps; 0: constant).",
    )
    bin_steps: int = help_field(128, "Width of the curves' step bins.")
    out: str = help_field("runs/dense_vs_sparse", "Study folder.")


def run_folder(config: DenseVsSparseConfig, algo: str, reward: str, task: str, seed: int) -> Path:
    """The folder of one run."""
    return Path(config.out) / "runs" / f"{algo}-{reward}-{task.replace('/', '_')}-s{seed}"


def agent_config(config: DenseVsSparseConfig, algo: str, reward: str, task: str, seed: int) -> Any:
    """The PPO or GRPO config of one run."""
    from agents.grpo_config import GRPOConfig
    from agents.ppo_config import PPOConfig

    if algo == "grpo":
        extra: dict[str, Any] = {
            "process_weight": config.grpo_process_weight,
            "process_to_go": config.grpo_process_to_go,
            "process_decay_steps": config.grpo_process_decay_steps,
        }
    else:
        extra = {"similar_decay_steps": config.ppo_similar_decay_steps}
    cls = PPOConfig if algo == "ppo" else GRPOConfig
    return cls(
        **extra,
        task=task,
        reward=reward,
        similar_model=config.similar_model,
        similar_scale=config.similar_scale,
        similar_shaping=config.similar_shaping,
        total_timesteps=config.total_timesteps,
        seed=seed,
        output_dir=str(run_folder(config, algo, reward, task, seed)),
    )


def run_all(config: DenseVsSparseConfig, progress: bool = True) -> None:
    """Trains every run of the study that is not finished yet (resuming interrupted ones)."""
    from agents.checkpoint import has_checkpoint, is_finished
    from agents.grpo import train_grpo
    from agents.ppo import train_ppo
    from wrappers.similar_reward import load_model

    grid = [
        (a, r, t, s)
        for t in config.tasks
        for s in config.seeds
        for a in config.algos
        for r in config.rewards
    ]
    todo = [g for g in grid if not is_finished(run_folder(config, *g), config.total_timesteps)]
    model = load_model(config.similar_model) if any(g[1] != "sparse" for g in todo) else None
    for i, (algo, reward, task, seed) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {algo} {reward} {task} seed {seed}", flush=True)
        train = train_ppo if algo == "ppo" else train_grpo
        cfg = agent_config(config, algo, reward, task, seed)
        scorer = model if reward != "sparse" else None
        train(cfg, resume=has_checkpoint(cfg.output_dir), model=scorer, progress=progress)


def success_curve(episodes: list[dict[str, Any]], total: int, bin_steps: int) -> np.ndarray:
    """Success share of the episodes that ended in each step bin (NaN where none ended)."""
    bins = math.ceil(total / bin_steps)
    hits, counts = np.zeros(bins), np.zeros(bins)
    for ep in episodes:
        b = min(max(int(ep["step"]) - 1, 0) // bin_steps, bins - 1)
        hits[b] += float(ep["success"])
        counts[b] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def final_rate(episodes: list[dict[str, Any]], total: int) -> float:
    """Success share of the episodes that ended in the last quarter of the budget."""
    last = [float(e["success"]) for e in episodes if int(e["step"]) > 0.75 * total]
    return float(np.mean(last)) if last else float("nan")


def _band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed mean and 95% t-interval of curves shaped (seeds, bins), ignoring NaNs."""
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curves, 0)
        n = np.sum(~np.isnan(curves), 0)
        sd = np.nanstd(curves, 0, ddof=1) if curves.shape[0] > 1 else np.zeros_like(mean)
    t = np.array([stats.t.ppf(0.975, k - 1) if k > 1 else 0.0 for k in n])
    half = np.nan_to_num(t * sd / np.sqrt(np.maximum(n, 1)))
    return mean, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1)


def welch(dense: Sequence[float | None], sparse: Sequence[float | None]) -> dict[str, float] | None:
    """Welch's t-test of the per-seed final rates, dense against sparse (two-sided).

    Returns ``{"t", "df", "p"}``, or ``None`` with fewer than two finished seeds on a side or
    no spread on either (every seed the same, where the test says nothing).
    """
    from scipy import stats

    a = [float(v) for v in dense if v is not None and not math.isnan(v)]
    b = [float(v) for v in sparse if v is not None and not math.isnan(v)]
    if len(a) < 2 or len(b) < 2 or (np.var(a) == 0 and np.var(b) == 0):
        return None
    res = stats.ttest_ind(a, b, equal_var=False)
    return {
        "t": round(float(res.statistic), 3),
        "df": round(float(res.df), 2),
        "p": round(float(res.pvalue), 4),
    }


def steps_to_reach(curve: np.ndarray, target: float, bin_steps: int) -> int | None:
    """Env steps (end of the first bin) at which a curve first reaches ``target``."""
    for i, v in enumerate(curve):
        if not np.isnan(v) and v >= target:
            return (i + 1) * bin_steps
    return None


def summarize(config: DenseVsSparseConfig) -> dict[str, Any]:
    """Curves, final rates and sample efficiency of every (algorithm, task) from the run logs.

    Only finished runs count (``seeds`` says how many); a study stopped half-way summarises
    what it has and the same command resumes it.
    """
    from agents.checkpoint import is_finished
    from agents.episode_log import load_episodes

    out: dict[str, Any] = {"config": config.to_dict(), "cells": []}
    total, width = config.total_timesteps, config.bin_steps
    for algo in config.algos:
        for task in config.tasks:
            cell: dict[str, Any] = {"algo": algo, "task": task, "rewards": {}}
            for reward in config.rewards:
                eps = [
                    load_episodes(run_folder(config, algo, reward, task, seed) / "episodes.jsonl")
                    for seed in config.seeds
                    if is_finished(run_folder(config, algo, reward, task, seed), total)
                ]
                if not eps:
                    cell["rewards"][reward] = _no_runs(total, width)
                    continue
                curves = np.array([success_curve(e, total, width) for e in eps])
                mean, lo, hi = _band(curves)
                finals = [final_rate(e, total) for e in eps]
                cell["rewards"][reward] = {
                    "seeds": len(eps),
                    "episodes": sum(map(len, eps)),
                    "final_success": _nan_none(float(np.nanmean(finals))),
                    "final_success_per_seed": [_nan_none(f) for f in finals],
                    "curve_mean": [_nan_none(v) for v in mean],
                    "curve_lo": [_nan_none(v) for v in lo],
                    "curve_hi": [_nan_none(v) for v in hi],
                }
            dense = dense_reward(config.rewards)
            cell.update(_efficiency(cell["rewards"], total, width, dense))
            cell["welch"] = welch(
                cell["rewards"].get(dense, {}).get("final_success_per_seed", []),
                cell["rewards"].get("sparse", {}).get("final_success_per_seed", []),
            )
            out["cells"].append(cell)
    ratios = [c for c in out["cells"] if c.get("efficiency") is not None and not c.get("floor")]
    out["cells_with_ratio"] = len(ratios)
    out["cells_meeting_2x"] = int(sum(c["efficiency"] >= 2 for c in ratios))
    out["cells_floor"] = sum(bool(c.get("floor")) for c in out["cells"])
    out["cells_meeting_2x_head_to_head"] = int(
        sum((c.get("head_to_head") or 0) >= 2 for c in out["cells"])
    )
    return out


def _no_runs(total: int, width: int) -> dict[str, Any]:
    """The entry of a reward none of whose runs has finished."""
    empty = [None] * math.ceil(total / width)
    return {
        "seeds": 0,
        "episodes": 0,
        "final_success": None,
        "final_success_per_seed": [],
        "curve_mean": empty,
        "curve_lo": empty,
        "curve_hi": empty,
    }


def dense_reward(rewards: Sequence[str]) -> str:
    """The reward compared with the sparse one: the first other in ``rewards``."""
    return next((r for r in rewards if r != "sparse"), "similar")


def _as_curve(values: list[float | None]) -> np.ndarray:
    """A curve from ``results.json`` (``None`` where no episode ended) as floats with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _efficiency(rewards: dict[str, Any], total: int, width: int, dense: str) -> dict[str, Any]:
    if not all(rewards.get(r, {}).get("seeds") for r in ("sparse", dense)):
        return {"efficiency": None, "note": f"needs finished sparse and {dense} runs"}
    target = rewards["sparse"]["final_success"]
    if not target:
        return {"efficiency": None, "note": "sparse runs never succeeded late: nothing to reach"}
    steps = steps_to_reach(_as_curve(rewards[dense]["curve_mean"]), target, width)
    if steps is None:
        return {"efficiency": 0.0, "steps_to_sparse_final": None, "note": "never reached"}
    out = {"efficiency": round(total / steps, 2), "steps_to_sparse_final": steps, "note": ""}
    # Head to head: when the sparse curve itself first reached its final rate, against the
    # dense one. Where sparse plateaus early the budget ratio above flatters the dense reward.
    own = _as_curve(rewards["sparse"]["curve_mean"])
    own_steps = steps_to_reach(own, target, width) or total
    out["sparse_steps_to_final"] = own_steps
    out["head_to_head"] = round(own_steps / steps, 2)
    sparse_curve = own[~np.isnan(own)]
    if sparse_curve.size and sparse_curve[0] >= target:
        out["floor"] = True
        out["note"] = (
            f"floor: sparse's first bin ({100 * sparse_curve[0]:.1f} %) is already its final "
            "rate (it did not learn), so the ratio measures no speed-up"
        )
    return out


def _nan_none(v: float) -> float | None:
    return None if v is None or math.isnan(v) else round(float(v), 4)


def markdown_table(results: dict[str, Any]) -> str:
    """The study's table: final success rates and sample efficiency per (algorithm, task)."""
    cfg = results["config"]
    dense = dense_reward(cfg["rewards"])
    lines = [
        f"{cfg['total_timesteps']} env steps per run, seeds {cfg['seeds']} (column seeds: "
        "finished runs per reward); final = success rate of the episodes in the last quarter "
        "of the budget (mean over seeds).",
        "",
        "efficiency = budget / steps the dense curve needs to reach the sparse final (the "
        "target's measure); head to head = steps the sparse curve itself first reached it / "
        "the same. p = two-sided Welch t-test of the per-seed final rates.",
        "",
        f"| algo | task | seeds | sparse final % | {dense} final % | steps to sparse final "
        f"({dense}) | efficiency | sparse reached it at | head to head | p | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f}"

    for c in results["cells"]:
        sparse = c["rewards"].get("sparse", {}).get("final_success")
        dense_final = c["rewards"].get(dense, {}).get("final_success")
        eff = "-" if c.get("efficiency") is None else f"{c['efficiency']:.2f}x"
        reach = c.get("steps_to_sparse_final") or "-"
        own = c.get("sparse_steps_to_final") or "-"
        h2h = "-" if c.get("head_to_head") is None else f"{c['head_to_head']:.2f}x"
        test = c.get("welch")
        p = "-" if not test else f"{test['p']:.3f}"
        seeds = "/".join(str(c["rewards"].get(r, {}).get("seeds", 0)) for r in cfg["rewards"])
        lines.append(
            f"| {c['algo']} | {c['task']} | {seeds} | {pct(sparse)} | {pct(dense_final)} | {reach} "
            f"| {eff} | {own} | {h2h} | {p} | {c.get('note', '')} |"
        )
    lines.append("")
    lines.append(
        f"Cells with a ratio: {results['cells_with_ratio']}; meeting >= 2x: "
        f"{results['cells_meeting_2x']}; at the floor (not counted): "
        f"{results.get('cells_floor', 0)}; meeting >= 2x head to head: "
        f"{results.get('cells_meeting_2x_head_to_head', 0)}."
    )
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Success rate against env steps, one panel per (algorithm, task), seed bands shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = results["config"]
    algos, tasks = cfg["algos"], cfg["tasks"]
    # At least 5.4 inches wide: the title fits over a single panel too.
    width = max(3.6 * len(tasks), 5.4)
    fig, axes = plt.subplots(len(algos), len(tasks), figsize=(width, 3 * len(algos)), squeeze=False)
    colors = {"sparse": "#7f7f7f", "similar": "#1f77b4", "similar-only": "#2ca02c"}
    for cell in results["cells"]:
        ax = axes[algos.index(cell["algo"])][tasks.index(cell["task"])]
        for reward, r in cell["rewards"].items():
            mean = np.array([np.nan if v is None else v for v in r["curve_mean"]])
            lo = np.array([np.nan if v is None else v for v in r["curve_lo"]])
            hi = np.array([np.nan if v is None else v for v in r["curve_hi"]])
            x = (np.arange(len(mean)) + 1) * cfg["bin_steps"]
            color = colors.get(reward)
            ax.plot(x, 100 * mean, label=reward, color=color)
            ax.fill_between(x, 100 * lo, 100 * hi, alpha=0.2, color=color)
        ax.set_title(f"{cell['algo']} · {cell['task'].split('/')[-1]}", fontsize=9)
        ax.set_ylim(-2, 102)
        ax.set_xlabel("env steps")
        ax.set_ylabel("success %")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        f"success rate vs env steps (mean of {len(cfg['seeds'])} seeds, 95% band)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(config: DenseVsSparseConfig, progress: bool = True) -> dict[str, Any]:
    """Runs (or resumes) the study and writes ``results.json``, ``table.md``, ``curves.png``."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = out / "settings.json"
    if settings.exists():
        old = DenseVsSparseConfig.load(settings)
        keys = (
            "total_timesteps",
            "similar_model",
            "similar_scale",
            "similar_shaping",
            "grpo_process_weight",
            "grpo_process_to_go",
            "grpo_process_decay_steps",
            "ppo_similar_decay_steps",
        )
        if any(getattr(old, k) != getattr(config, k) for k in keys):
            raise FileExistsError(
                f"{out} holds a study with another budget, reward model or reward weighting; "
                "use another --out"
            )
    config.save(settings)
    started = time.monotonic()
    run_all(config, progress=progress)
    results = summarize(config)
    results["seconds_this_invocation"] = round(time.monotonic() - started, 1)
    write_text_atomic(out / "results.json", json.dumps(results, indent=2) + "\n")
    write_text_atomic(out / "table.md", markdown_table(results))
    plot(results, out / "curves.png")
    return results


def build_parser() -> argparse.ArgumentParser:
    """The study's command line: one option per :class:`DenseVsSparseConfig` field."""
    from experiments.config_args import add_config_arguments

    p = argparse.ArgumentParser(
        prog="python -m experiments.dense_vs_sparse",
        description="PPO and GRPO with sparse vs Similar rewards: success against env steps.",
    )
    add_config_arguments(p, DenseVsSparseConfig, "study")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and prints its table."""
    from experiments.config_args import given_fields

    args = build_parser().parse_args(argv)
    config = DenseVsSparseConfig(**given_fields(args, DenseVsSparseConfig))
    results = run(config, progress=not args.quiet)
    print(markdown_table(results), end="")
    print(f"wrote {Path(config.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
