"""``similar reproduce``: the whole paper in miniature, in one resumable command.

Five stages, each in its own folder of ``--out``:

1. ``collect`` (``data/``): MCTS-P annotates a few own-suite and MiniWoB++ task instances with the
   five dimensions and writes SRMTrain steps and pairs (:mod:`reward_model.collect`).
2. ``train`` (``rm/``): Triple-M trains a small Similar model on them, stage 1 (regression) and
   stage 2 (the gate) (:class:`reward_model.trainer.TripleMTrainer`).
3. ``srmeval`` (``srmeval/``): SRMEval accuracy of that model, the shipped default model and the
   random and heuristic baselines, per type and split, with a bar plot
   (:mod:`experiments.srmeval_study`).
4. ``ppo`` (``ppo/``): two short PPO runs on one task and seed, the sparse reward beside
   Similar's (:func:`agents.ppo.train_ppo`), with their success rate against env steps.
5. ``report``: ``report.md`` with the configs, figures, tables, plots and wall clock.

``stages.json`` keeps every stage's status, settings, wall seconds (summed over the calls that
worked on it) and figures. A stage that is done with the same settings and whose outputs exist
is skipped; an interrupted stage resumes where its tool left off (collect, training and PPO
all resume); a stage whose settings changed starts over in a cleared folder, and so does every
stage after one that ran. The budgets are the fields of :class:`ReproduceConfig`; ``--quick``
starts from :data:`QUICK` instead.

Examples::

    similar reproduce                              # runs/reproduce: 12 min on 2 shared cores
    similar reproduce --out /tmp/rq --quick        # a smoke run of a few minutes
    similar reproduce --reward-model default       # PPO with the shipped model instead
    tensorboard --logdir runs/reproduce
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments.config_args import add_config_arguments, given_fields
from reward_model.config_base import JsonConfig, help_field
from reward_model.dimensions import PAIR_TYPES
from similar_gym.files import write_text_atomic

#: Column order of the SRMEval tables: the six pair types, then their mean.
COLUMNS: tuple[str, ...] = (*PAIR_TYPES, "average")
#: Value of :attr:`ReproduceConfig.reward_model` that names this run's freshly trained model.
FRESH = "fresh"


@dataclass
class ReproduceConfig(JsonConfig):
    """The budgets of ``similar reproduce`` (the full run's; :data:`QUICK` has the smoke run's)."""

    seed: int = help_field(0, "Seed of every stage (MCTS-P, training, SRMEval subsample, PPO).")
    threads: int = help_field(
        1,
        "Torch CPU threads of this process (0 = torch's default). One, because where other jobs "
        "share the cores two threads oversubscribe them: a training step took 7.8 s with 2 "
        "threads and 0.9 s with 1 at a load average of 9 on 2 cores.",
    )
    collect_tasks: tuple[str, ...] = help_field(
        (
            "shop/update-cart",
            "mail/archive-from",
            "calendar/rsvp-invite",
            "settings/update-profile",
            "miniwob/click-tab",
            "miniwob/enter-text",
        ),
        "Stage 1: tasks MCTS-P annotates (SRMTrain tasks only, so that SRMEval stays held out).",
    )
    instances_per_task: int = help_field(2, "Stage 1: instances (seeds) per own-suite task.")
    miniwob_instances_per_task: int = help_field(2, "Stage 1: instances per MiniWoB++ task.")
    max_depth: int = help_field(4, "Stage 1: most steps annotated along one followed path.")
    num_candidates: int = help_field(4, "Stage 1: candidate actions per annotated step.")
    rollouts_per_candidate: int = help_field(2, "Stage 1: rollouts scoring each candidate.")
    root_rollouts: int = help_field(3, "Stage 1: root rollouts per own-suite instance.")
    miniwob_root_rollouts: int = help_field(4, "Stage 1: root rollouts per MiniWoB++ instance.")
    workers: int = help_field(2, "Stage 1: worker processes (one browser each).")
    backbone_layers: int = help_field(3, "Stage 2: MiniLM layers kept in the text backbone.")
    stage1_epochs: int = help_field(4, "Stage 2: epochs of Triple-M stage 1 (regression).")
    stage2_epochs: int = help_field(10, "Stage 2: epochs of Triple-M stage 2 (gate).")
    train_eval_max_pairs: int = help_field(
        300, "Stage 2: SRMEval pairs (seeded subsample) scored after every training epoch."
    )
    srmeval_max_pairs: int = help_field(
        0, "Stage 3: SRMEval pairs scored per model, a seeded subsample (0 = all shipped pairs)."
    )
    ppo_task: str = help_field("miniwob/click-tab", "Stage 4: task of both PPO runs.")
    ppo_timesteps: int = help_field(512, "Stage 4: env steps of each PPO run.")
    ppo_n_steps: int = help_field(128, "Stage 4: env steps per PPO rollout (between updates).")
    ppo_max_steps: int = help_field(10, "Stage 4: step limit of an episode.")
    similar_scale: float = help_field(0.1, "Stage 4: factor on the Similar reward.")
    similar_shaping: str = help_field(
        "potential",
        "Stage 4: 'potential' (the Similar reward as a potential difference, so that a longer "
        "episode earns no more from it) or 'none' (the raw score of each step).",
    )
    reward_model: str = help_field(
        FRESH,
        "Stage 4: reward model of the Similar run: 'fresh' (stage 2's), 'default' (shipped) "
        "or a checkpoint folder.",
    )

    def __post_init__(self) -> None:
        self.collect_tasks = tuple(self.collect_tasks)
        for name in ("ppo_timesteps", "ppo_n_steps", "ppo_max_steps", "stage1_epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ReproduceConfig.{name} must be >= 1")
        for name in ("train_eval_max_pairs", "srmeval_max_pairs", "stage2_epochs"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"ReproduceConfig.{name} must be >= 0")
        from wrappers.similar_reward import SHAPINGS

        if self.similar_shaping not in SHAPINGS:
            raise ValueError(
                f"ReproduceConfig.similar_shaping must be one of {SHAPINGS}, "
                f"got {self.similar_shaping!r}"
            )


#: Overrides of ``--quick``: a smoke run of every stage in a couple of minutes.
QUICK: dict[str, Any] = {
    "collect_tasks": ("settings/update-profile", "miniwob/click-tab"),
    "instances_per_task": 1,
    "miniwob_instances_per_task": 1,
    "max_depth": 2,
    "num_candidates": 2,
    "rollouts_per_candidate": 1,
    "root_rollouts": 2,
    "miniwob_root_rollouts": 3,
    "workers": 1,
    "backbone_layers": 1,
    "stage1_epochs": 1,
    "stage2_epochs": 2,
    "train_eval_max_pairs": 40,
    "srmeval_max_pairs": 120,
    "ppo_timesteps": 96,
    "ppo_n_steps": 48,
    "ppo_max_steps": 6,
}


# ----------------------------------------------------------------------------- stage configs


def mctsp_config(config: ReproduceConfig) -> Any:
    """Returns the :class:`~reward_model.mcts_p_config.MCTSPConfig` of stage 1.

    Args:
        config: The budgets.
    """
    from reward_model.mcts_p_config import MCTSPConfig

    return MCTSPConfig(
        tasks=config.collect_tasks,
        instances_per_task=config.instances_per_task,
        miniwob_instances_per_task=config.miniwob_instances_per_task,
        seed=config.seed,
        num_candidates=config.num_candidates,
        rollouts_per_candidate=config.rollouts_per_candidate,
        root_rollouts=config.root_rollouts,
        miniwob_root_rollouts=config.miniwob_root_rollouts,
        max_depth=config.max_depth,
        workers=config.workers,
    )


def train_config(config: ReproduceConfig, out: Path) -> Any:
    """Returns the :class:`~reward_model.train_config.TrainRMConfig` of stage 2.

    Args:
        config: The budgets.
        out: The run folder (it trains on ``out/data`` and writes ``out/rm``).
    """
    from reward_model.train_config import TrainRMConfig

    return TrainRMConfig(
        train_dir=str(out / "data"),
        out=str(out / "rm"),
        stage1_epochs=config.stage1_epochs,
        stage2_epochs=config.stage2_epochs,
        stage2=config.stage2_epochs > 0,
        eval_max_pairs=config.train_eval_max_pairs,
        backbone_layers=config.backbone_layers,
        seed=config.seed,
    )


def srmeval_models(out: Path) -> dict[str, str]:
    """Returns the scorers of stage 3 by label: this run's model, the shipped one, baselines.

    Args:
        out: The run folder (this run's model is ``out/rm/final``).
    """
    return {
        "Similar (this run)": str(out / "rm" / "final"),
        "Similar (shipped default)": "default",
        "random": "random",
        "heuristic": "heuristic",
    }


def reward_model_path(config: ReproduceConfig, out: Path) -> str:
    """Returns the reward model of stage 4's Similar run: a folder or ``"default"``.

    Args:
        config: The budgets (:attr:`ReproduceConfig.reward_model`).
        out: The run folder.
    """
    return str(out / "rm" / "final") if config.reward_model == FRESH else config.reward_model


def ppo_configs(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    """Returns the :class:`~agents.ppo.PPOConfig` of stage 4's runs by reward.

    Both runs share task, seed and budget; each has its own folder under ``out/ppo``.

    Args:
        config: The budgets.
        out: The run folder.

    Returns:
        ``{"sparse": PPOConfig, "similar": PPOConfig}``.
    """
    from agents.ppo_config import PPOConfig

    common = {
        "task": config.ppo_task,
        "total_timesteps": config.ppo_timesteps,
        "n_steps": config.ppo_n_steps,
        "batch_size": min(64, config.ppo_n_steps),
        "max_steps": config.ppo_max_steps,
        "seed": config.seed,
        "similar_scale": config.similar_scale,
        "similar_shaping": config.similar_shaping,
        "checkpoint_every": config.ppo_n_steps,  # an interrupted run loses one rollout at most
    }
    return {
        "sparse": PPOConfig(reward="sparse", output_dir=str(out / "ppo" / "sparse"), **common),
        "similar": PPOConfig(
            reward="similar",
            similar_model=reward_model_path(config, out),
            output_dir=str(out / "ppo" / "similar"),
            **common,
        ),
    }


# ----------------------------------------------------------------------------- the stages


def _collect(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    from reward_model.collect import collect, finalize

    data = out / "data"
    report = collect(mctsp_config(config), data)
    manifest = finalize(data, command=["similar", "reproduce", "(stage 1)"])
    by_split_type = manifest["pairs_by_split_type"]
    if not (data / "srmtrain" / "pairs.parquet").is_file():
        raise RuntimeError(
            f"stage 1 wrote no SRMTrain pairs ({manifest['steps']} steps); "
            "raise the collect budgets (e.g. --instances-per-task)"
        )
    keys = ("units", "units_done", "units_pruned", "steps", "pairs", "env_steps")
    return {
        **{k: manifest[k] for k in keys},
        "pairs_by_type": _by_type(by_split_type),
        "train_pairs": sum(n for k, n in by_split_type.items() if k.startswith("train/")),
        "annotate_seconds": manifest["annotate_seconds"],
        "collect_seconds_this_call": round(report.seconds, 1),
    }


def _by_type(by_split_type: dict[str, int]) -> dict[str, int]:
    """Sums ``{"split/type": n}`` over the splits."""
    out = dict.fromkeys(PAIR_TYPES, 0)
    for key, n in by_split_type.items():
        out[key.rsplit("/", 1)[-1]] += n
    return out


def _train(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    from reward_model.trainer import TripleMTrainer

    trainer = TripleMTrainer(train_config(config, out))
    result = trainer.train()
    state = json.loads((out / "rm" / "state.json").read_text())
    return {
        "train_seconds": result.get("train_seconds"),
        "eval_pairs_during_training": result["n_pairs"],
        "stage1_average": state.get("stage1_average"),
        "stage2_average": state.get("stage2_average"),
    }


def _srmeval(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    from experiments import srmeval_study
    from similar_gym.srm_data import SHIPPED_SRMEVAL, read_pairs, write_pairs

    folder = out / "srmeval"
    folder.mkdir(parents=True, exist_ok=True)
    shipped = read_pairs(SHIPPED_SRMEVAL)
    data, total = str(SHIPPED_SRMEVAL), shipped.num_rows
    if 0 < config.srmeval_max_pairs < total:
        import numpy as np

        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(total, config.srmeval_max_pairs, replace=False))
        data = str(folder / "pairs.parquet")
        write_pairs(shipped.take(keep).to_pylist(), data)
    specs = [f"{label}={name}" for label, name in srmeval_models(out).items()]
    result = srmeval_study.run(specs, data, folder)
    return {
        "data": data,
        "n_pairs": result["n_pairs"],
        "shipped_pairs": total,
        "subsample": data != str(SHIPPED_SRMEVAL),
        "averages": {
            label: rep["accuracy"]["all"]["average"]["acc"]
            for label, rep in result["models"].items()
        },
    }


def _ppo(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    from agents.checkpoint import has_checkpoint, is_finished
    from agents.ppo import train_ppo
    from wrappers.similar_reward import load_model

    summaries = {}
    for reward, cfg in ppo_configs(config, out).items():
        if is_finished(cfg.output_dir, cfg.total_timesteps):
            summaries[reward] = json.loads((Path(cfg.output_dir) / "summary.json").read_text())
            continue
        model = load_model(cfg.similar_model) if reward != "sparse" else None
        resume = has_checkpoint(cfg.output_dir)
        summaries[reward] = train_ppo(cfg, resume=resume, model=model)
    window = ppo_configs(config, out)["sparse"].log_window
    plot_success(out / "ppo", window, config.ppo_task, out / "ppo" / "success.png")
    return summaries


def _report(config: ReproduceConfig, out: Path) -> dict[str, Any]:
    path = out / "report.md"
    write_text_atomic(path, render_report(config, out, load_state(out)))
    return {"report": str(path)}


@dataclass(frozen=True)
class Stage:
    """One stage of the main job.

    Attributes:
        name: Key in ``stages.json``.
        title: What it does, in a few words.
        folder: Its folder under ``--out`` (cleared when it starts over), or ``None``.
        run: Does (or resumes) the work; returns the stage's figures.
        settings: What the stage's outputs depend on (a JSON-able dict).
        outputs: Files that exist when the stage is complete.
    """

    name: str
    title: str
    folder: str | None
    run: Callable[[ReproduceConfig, Path], dict[str, Any]]
    settings: Callable[[ReproduceConfig, Path], dict[str, Any]]
    outputs: Callable[[Path], list[Path]]


def _without(config: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """A config's dict without the fields that may change while resuming."""
    return {k: v for k, v in config.to_dict().items() if k not in names}


STAGES: tuple[Stage, ...] = (
    Stage(
        "collect",
        "MCTS-P collects and labels SRMTrain data",
        "data",
        _collect,
        lambda c, o: _without(mctsp_config(c), ("workers",)),
        lambda o: [o / "data" / "manifest.json", o / "data" / "srmtrain" / "pairs.parquet"],
    ),
    Stage(
        "train",
        "Triple-M trains a small reward model",
        "rm",
        _train,
        lambda c, o: _without(train_config(c, o), ("threads",)),
        lambda o: [o / "rm" / "final" / "config.json", o / "rm" / "eval.json"],
    ),
    Stage(
        "srmeval",
        "SRMEval accuracy of four scorers",
        "srmeval",
        _srmeval,
        lambda c, o: {
            "models": srmeval_models(o),
            "max_pairs": c.srmeval_max_pairs,
            "seed": c.seed,
        },
        lambda o: [o / "srmeval" / n for n in ("results.json", "table.md", "accuracy.png")],
    ),
    Stage(
        "ppo",
        "PPO with the sparse reward and with Similar's",
        "ppo",
        _ppo,
        lambda c, o: {k: v.to_dict() for k, v in ppo_configs(c, o).items()},
        lambda o: [
            o / "ppo" / "sparse" / "summary.json",
            o / "ppo" / "similar" / "summary.json",
            o / "ppo" / "success.png",
        ],
    ),
    Stage("report", "report.md", None, _report, lambda c, o: {}, lambda o: [o / "report.md"]),
)


# ----------------------------------------------------------------------------- stages.json


def load_state(out: Path) -> dict[str, Any]:
    """Reads ``stages.json``: ``{"command": str, "stages": {name: entry}}`` (empty if none).

    An entry holds ``status`` (``"running"`` or ``"done"``), ``settings``, ``seconds`` (wall
    seconds summed over ``calls``, the calls that worked on the stage), the machine's 1-minute
    load average when the last call started and ended (``load_start``, ``load_end``) and, once
    done, the stage's figures in ``result``.

    Args:
        out: The run folder.
    """
    path = out / "stages.json"
    return json.loads(path.read_text()) if path.exists() else {"command": "", "stages": {}}


def _save_state(out: Path, state: dict[str, Any]) -> None:
    write_text_atomic(out / "stages.json", json.dumps(state, indent=2) + "\n")


def run_stages(config: ReproduceConfig, out: Path, command: str) -> dict[str, Any]:
    """Runs every stage that is not done, in order; returns ``stages.json``'s content.

    Args:
        config: The budgets.
        out: The run folder (created; an existing one is resumed).
        command: The command line, for the report.

    Raises:
        KeyboardInterrupt: Interrupted; the stage stays ``"running"`` and resumes next time.
    """
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "config.json")
    state = load_state(out)
    state["command"] = command
    stages = state["stages"]
    upstream_ran = False
    for number, stage in enumerate(STAGES, 1):
        settings = json.loads(json.dumps(stage.settings(config, out)))
        entry = stages.get(stage.name)
        same = entry is not None and entry["settings"] == settings and not upstream_ran
        head = f"[{number}/{len(STAGES)}] {stage.name}: {stage.title}"
        complete = all(p.exists() for p in stage.outputs(out))
        if same and entry["status"] == "done" and complete:
            print(f"{head}: done ({entry['seconds']:.0f} s), skipped", flush=True)
            continue
        if same:
            print(f"{head}: resuming", flush=True)
            before, calls = entry["seconds"], entry["calls"]
        else:
            if stage.folder is not None:
                shutil.rmtree(out / stage.folder, ignore_errors=True)
            print(head, flush=True)
            before, calls = 0.0, 0
        upstream_ran = True
        entry = {"status": "running", "settings": settings, "seconds": before, "calls": calls + 1}
        entry["load_start"] = round(os.getloadavg()[0], 1)
        stages[stage.name] = entry
        _save_state(out, state)
        start = time.perf_counter()
        try:
            entry["result"] = stage.run(config, out)
            entry["status"] = "done"
        finally:
            entry["seconds"] = round(before + time.perf_counter() - start, 1)
            entry["load_end"] = round(os.getloadavg()[0], 1)
            _save_state(out, state)
    return state


def total_seconds(state: dict[str, Any], names: Sequence[str] | None = None) -> float:
    """Wall seconds of some stages of a run.

    Args:
        state: The content of ``stages.json`` (:func:`load_state`).
        names: The stages to add up; default all of them.
    """
    stages = state["stages"]
    return round(sum(stages[n]["seconds"] for n in names or stages), 1)


# ----------------------------------------------------------------------------- plots


def rolling_success(episodes: list[dict[str, Any]], window: int) -> tuple[list[int], list[float]]:
    """Success rate over the episodes of a run, rolling.

    Args:
        episodes: Rows of ``episodes.jsonl`` (``step``, ``success``), in order.
        window: Episodes in the rolling rate (fewer at the start).

    Returns:
        The env step each episode ended at, and the success share of the last ``window``
        episodes up to it.
    """
    steps, rates = [], []
    for i, ep in enumerate(episodes):
        recent = episodes[max(0, i + 1 - window) : i + 1]
        steps.append(int(ep["step"]))
        rates.append(sum(bool(e["success"]) for e in recent) / len(recent))
    return steps, rates


def plot_success(ppo_dir: Path, window: int, task: str, path: Path) -> None:
    """Rolling success rate against env steps of the PPO runs in ``ppo_dir`` (one PNG).

    Args:
        ppo_dir: Folder of the runs ``sparse/`` and ``similar/``.
        window: Episodes in the rolling success rate.
        task: The runs' task, for the title.
        path: The PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.episode_log import load_episodes

    fig, ax = plt.subplots(figsize=(7, 4))
    for reward, style in (("sparse", "--"), ("similar", "-")):
        log = ppo_dir / reward / "episodes.jsonl"
        episodes = load_episodes(log) if log.exists() else []
        steps, rates = rolling_success(episodes, window)
        label = f"{reward} ({len(episodes)} episodes)"
        ax.plot(steps, [100 * r for r in rates], style, label=label, linewidth=1.5)
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"success % (last {window} episodes)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"PPO, one seed: success rate against env steps ({task})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- the report


def srmeval_tables(result: dict[str, Any]) -> str:
    """Markdown tables of SRMEval accuracy (%): one per split, rows models, columns types.

    Args:
        result: What :func:`experiments.srmeval_study.run` returned.
    """
    from experiments.srmeval_study import split_pairs

    models = result["models"]
    splits = ["all", *sorted({s for r in models.values() for s in r["accuracy"] if s != "all"})]
    parts = []
    for split in splits:
        n = split_pairs(models, split)
        parts.append(f"**{split}** ({n} pairs)\n")
        parts.append("| model | " + " | ".join(COLUMNS) + " |")
        parts.append("| --- |" + " ---: |" * len(COLUMNS))
        for label, rep in models.items():
            cells = rep["accuracy"].get(split, {})
            row = [_fmt_pct(cells.get(k, {}).get("acc")) for k in COLUMNS]
            row[-1] = f"**{row[-1]}**"
            parts.append(f"| {label} | " + " | ".join(row) + " |")
        parts.append("")
    return "\n".join(parts)


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _half_width(cell: dict[str, Any]) -> float:
    return 100 * max(cell["acc"] - cell["low"], cell["high"] - cell["acc"])


def _versus(a: dict[str, Any], b: dict[str, Any], name: str) -> str:
    """Compares accuracy cell ``a`` with ``b`` (called ``name``) by their 95% intervals."""
    if a["low"] > b["high"]:
        word, overlap = "above", "do not overlap"
    elif a["high"] < b["low"]:
        word, overlap = "below", "do not overlap"
    else:
        word, overlap = "not separated from", "overlap"
    return (
        f"{word} {name} ({100 * b['acc']:.1f} ± {_half_width(b):.1f}; the 95% intervals {overlap})"
    )


def _srmeval_reading(result: dict[str, Any]) -> str:
    """What the SRMEval averages do and do not show, from their 95% intervals."""
    avg = {label: rep["accuracy"]["all"]["average"] for label, rep in result["models"].items()}
    lines = [
        f"- {label}: average {100 * cell['acc']:.1f} ± {_half_width(cell):.1f}, "
        f"{_versus(cell, avg['random'], 'random')}."
        for label, cell in avg.items()
        if label != "random"
    ]
    fresh, shipped = avg["Similar (this run)"], avg["Similar (shipped default)"]
    lines.append(
        f"- This run's model is {_versus(fresh, shipped, 'the shipped default')}; the shipped "
        f"model was {_shipped_training()}."
    )
    return "\n".join(lines)


def _shipped_training() -> str:
    """How the shipped default model was trained, from its manifest."""
    from reward_model.modeling import DEFAULT_CHECKPOINT

    path = DEFAULT_CHECKPOINT / "manifest.json"
    if not path.is_file():
        return "its manifest is missing"
    manifest = json.loads(path.read_text())
    data, cfg = manifest.get("srmtrain_manifest") or {}, manifest.get("train_config", {})
    return (
        f"trained on {data.get('steps', '?')} steps and {data.get('pairs', '?')} pairs, "
        f"{cfg.get('stage1_epochs', '?')} + {cfg.get('stage2_epochs', '?')} epochs"
    )


def _ppo_rows(out: Path, config: ReproduceConfig) -> tuple[str, str]:
    """The PPO table and what it shows, from the runs' summaries and episode logs."""
    from agents.episode_log import load_episodes
    from reward_model.evaluation import wilson

    configs = ppo_configs(config, out)
    rows = [
        f"| reward | final success % (last {configs['sparse'].log_window} episodes) | "
        "success % (all episodes) | episodes | env steps | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    finals, paths = {}, {}
    for reward, cfg in configs.items():
        folder = Path(cfg.output_dir)
        summary = json.loads((folder / "summary.json").read_text())
        episodes = load_episodes(folder / "episodes.jsonl")
        paths[reward] = [(e["step"], e["length"], e["success"]) for e in episodes]
        last = episodes[-cfg.log_window :]
        finals[reward] = wilson(sum(bool(e["success"]) for e in last), len(last))
        overall = sum(bool(e["success"]) for e in episodes) / max(len(episodes), 1)
        rows.append(
            f"| {reward} | {_fmt_pct(finals[reward].acc if last else None)} "
            f"(n={len(last)}) | {100 * overall:.1f} | {summary['episodes']} | "
            f"{summary['global_step']} | {summary['seconds']:.0f} |"
        )
    a, b = finals["sparse"], finals["similar"]
    if a.n == 0 or b.n == 0:
        reading = "One of the runs finished no episode: there is nothing to compare."
    elif a.high < b.low or b.high < a.low:
        reading = (
            "The 95% intervals of the final success rates do not overlap "
            f"(sparse {100 * a.low:.0f}-{100 * a.high:.0f}, similar {100 * b.low:.0f}-"
            f"{100 * b.high:.0f}), but this is one seed and a tiny budget: it is not evidence "
            "that either reward trains better."
        )
    else:
        reading = (
            "The 95% intervals of the final success rates overlap "
            f"(sparse {100 * a.low:.0f}-{100 * a.high:.0f}, similar {100 * b.low:.0f}-"
            f"{100 * b.high:.0f}): with one seed and this budget the runs show no difference."
        )
    if paths["sparse"] == paths["similar"]:
        reading += (
            " The two runs ended the same episodes (same end step, length and success, "
            f"all {len(paths['sparse'])} of them): within this budget the PPO updates did not "
            "change which actions the policy sampled, so the reward had no effect on behaviour "
            "yet (the returns differ; see the TensorBoard charts)."
        )
    return "\n".join(rows), reading


def render_report(config: ReproduceConfig, out: Path, state: dict[str, Any]) -> str:
    """Returns ``report.md``: configs, figures, tables, plots, TensorBoard and wall clock.

    Args:
        config: The budgets.
        out: The run folder, with stages 1-4 done.
        state: The content of ``stages.json``.
    """
    stages = state["stages"]
    data = stages["collect"]["result"]
    train = stages["train"]["result"]
    srm = json.loads((out / "srmeval" / "results.json").read_text())
    srm_fig = stages["srmeval"]["result"]
    ppo_table, ppo_reading = _ppo_rows(out, config)
    tcfg = train_config(config, out)
    ppo_cfg = ppo_configs(config, out)["similar"]
    c = config
    collect_lines = [
        "tasks: " + ", ".join(f"`{t}`" for t in c.collect_tasks),
        f"instances: {c.instances_per_task} per own-suite task, "
        f"{c.miniwob_instances_per_task} per MiniWoB++ task",
        f"search: {c.num_candidates} candidates per step, {c.rollouts_per_candidate} "
        f"rollout(s) per candidate, {c.root_rollouts} root rollouts "
        f"({c.miniwob_root_rollouts} on MiniWoB++), max depth {c.max_depth}",
        f"{c.workers} worker(s), seed {c.seed}",
    ]
    train_lines = [
        f"backbone: MiniLM cut to its first {tcfg.backbone_layers} layer(s), with LoRA "
        "adapters; the screenshot through a small ViT",
        f"stage 1 (regression, MSE on the five scaled targets): {tcfg.stage1_epochs} epoch(s), "
        f"batch {tcfg.batch_size}, lr {tcfg.lr}",
        f"stage 2 (gate, Bradley-Terry on the pairs): {tcfg.stage2_epochs} epoch(s), "
        f"lr {tcfg.gate_lr}",
        f"seed {tcfg.seed}",
    ]
    ppo_lines = [
        f"task `{ppo_cfg.task}` (discrete actions), seed {ppo_cfg.seed}, "
        f"{ppo_cfg.total_timesteps} env steps, episodes of at most {ppo_cfg.max_steps} steps",
        f"rollouts of {ppo_cfg.n_steps} steps, minibatch {ppo_cfg.batch_size}, "
        f"{ppo_cfg.n_epochs} epochs per update, lr {ppo_cfg.learning_rate}",
        f"`sparse`: the env's reward (success); `similar`: that plus {ppo_cfg.similar_scale} x "
        f"the Similar reward of `{_rel(ppo_cfg.similar_model, out)}`"
        + (
            " as a potential difference (γΦ(s') − Φ(s), Φ the score of the step that led to "
            "the state, 0 at the start and at every episode end)"
            if ppo_cfg.similar_shaping == "potential"
            else ""
        ),
    ]
    quick = all(getattr(config, k) == v for k, v in QUICK.items())
    stage_rows = "\n".join(
        f"| {i} | {s.name} | {s.title} | {stages[s.name]['seconds']:.0f} | "
        f"{stages[s.name]['calls']} | {stages[s.name]['load_start']} / "
        f"{stages[s.name]['load_end']} |"
        for i, s in enumerate(STAGES[:-1], 1)
    )
    stage_total = total_seconds(state, [s.name for s in STAGES[:-1]])
    sample = (
        f"a fixed subsample of **{srm_fig['n_pairs']} of the {srm_fig['shipped_pairs']} pairs** "
        f"(seed {config.seed}, `{_rel(srm_fig['data'], out)}`)"
        if srm_fig["subsample"]
        else f"all **{srm_fig['n_pairs']} pairs** of the shipped SRMEval-Web v2"
    )
    data_row = {
        "task instances": data["units"],
        "done": data["units_done"],
        "pruned": data["units_pruned"],
        "step records": data["steps"],
        "pairs": data["pairs"],
        "env steps": data["env_steps"],
        "annotate seconds (all workers)": f"{data['annotate_seconds']:.0f}",
    }
    by_type = ", ".join(f"{k} {v}" for k, v in data["pairs_by_type"].items())
    tb_dirs = "\n".join(f"- `{d}`" for d in tensorboard_dirs(out))
    return f"""# Similar-Gym in miniature: `similar reproduce`

Command: `{state["command"]}`{" (the `--quick` smoke budgets)" if quick else ""}

**These are tiny budgets.** Every stage of the paper runs here, on a few task instances, for a
few minutes on a CPU. The figures show that the pipeline works end to end. They are not the
paper's results, and not this project's best (the README reports the shipped model and the
longer studies).

## Wall clock

| # | stage | what | seconds | calls | load average at start / end |
| ---: | --- | --- | ---: | ---: | ---: |
{stage_rows}
| | **total** | | **{stage_total:.0f}** | | |

Seconds are summed over the calls that worked on a stage (an interrupted and resumed stage
counts both); `stages.json` has them, with each stage's settings and status. The machine has
{os.cpu_count()} cores{_threads(config)}; the load average (1 minute) shows how much other
work shared them, and wall-clock times grow with it.

## 1. MCTS-P: collect and label SRMTrain data (`data/`)

Config (`data/config.json`):
{_bullets(collect_lines)}

{_table(data_row)}

Pairs by type: {by_type}. SRMTrain (split `train`, what stage 2 trains on) holds
{data["train_pairs"]} of the pairs.

## 2. Triple-M: train a small Similar model (`rm/`)

Config (`rm/train_config.json`):
{_bullets(train_lines)}

Training took {train["train_seconds"]} s. After every epoch it scored a seeded subsample of
{train["eval_pairs_during_training"]} SRMEval pairs (TensorBoard `eval/accuracy_*`): average
{_fmt_pct(train["stage1_average"])} after stage 1, {_fmt_pct(train["stage2_average"])} after
stage 2. The model is `rm/final`.

## 3. SRMEval accuracy (`srmeval/`)

Scored on {sample}; accuracy in %, ties count 0.5, `average` is the mean of the six types.
`srmeval/results.json` has every cell with its count and 95% interval.

{srmeval_tables(srm)}
![SRMEval accuracy](srmeval/accuracy.png)

What it shows:
{_srmeval_reading(srm)}

## 4. PPO: sparse reward beside Similar's (`ppo/`)

Config (`ppo/*/config.json`), the same for both runs but the reward:
{_bullets(ppo_lines)}

Success is the task's own check in both.

{ppo_table}

![PPO success rate](ppo/success.png)

{ppo_reading}

## TensorBoard

```
tensorboard --logdir {out}
```

{tb_dirs}
"""


def _threads(config: ReproduceConfig) -> str:
    if not config.threads:
        return ""
    return (
        f"; torch used {config.threads} thread(s) in the main process (the collect workers, "
        "torch's default)"
    )


def _bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _table(row: dict[str, Any]) -> str:
    """A one-row Markdown table with right-aligned columns."""
    return "\n".join(
        [
            "| " + " | ".join(row) + " |",
            "|" + " ---: |" * len(row),
            "| " + " | ".join(str(v) for v in row.values()) + " |",
        ]
    )


def _rel(path: str, out: Path) -> str:
    try:
        return str(Path(path).relative_to(out))
    except ValueError:
        return path


def tensorboard_dirs(out: Path) -> list[Path]:
    """The TensorBoard log folders of a main-job run folder.

    Args:
        out: The run folder.
    """
    return [
        out / "rm" / "tensorboard",
        *(out / "ppo" / r / "tensorboard" for r in ("sparse", "similar")),
    ]


# ----------------------------------------------------------------------------- the command


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Adds the options of ``similar reproduce``: run options and one per budget field.

    Args:
        p: The sub-command's parser.
    """
    p.add_argument(
        "--out", default="runs/reproduce", help="run folder (default: %(default)s; resumed)"
    )
    quick = ", ".join(f"{k}={v}" for k, v in QUICK.items()).replace("%", "%%")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"much smaller budgets, for a smoke test (a few minutes): {quick}",
    )
    p.add_argument("--fresh", action="store_true", help="delete the run folder and start over")
    add_config_arguments(p, ReproduceConfig, "budgets (ReproduceConfig; options override --quick)")


def config_from_args(args: argparse.Namespace) -> ReproduceConfig:
    """The budgets: the full run's or ``--quick``'s, then every option given explicitly.

    Args:
        args: The parsed options of ``similar reproduce``.
    """
    base = dict(QUICK) if args.quick else {}
    return ReproduceConfig(**{**base, **given_fields(args, ReproduceConfig)})


def command_line(args: argparse.Namespace) -> str:
    """The ``similar reproduce`` command with the options given, for the report.

    Args:
        args: The parsed options of ``similar reproduce``.
    """
    parts = ["similar", "reproduce", "--out", str(args.out)]
    if args.quick:
        parts.append("--quick")
    for name, value in given_fields(args, ReproduceConfig).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, tuple | list):
            parts += [flag, *map(str, value)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    """Runs ``similar reproduce`` and prints where its outputs are.

    Args:
        args: The parsed options of ``similar reproduce``.

    Returns:
        The exit status: 0, 2 for bad options or a failed stage, 130 when interrupted.
    """
    out = Path(args.out)
    try:
        config = config_from_args(args)
    except (ValueError, TypeError) as e:
        print(f"similar reproduce: {e}", file=sys.stderr)
        return 2
    if out.is_dir() and any(out.iterdir()) and not (out / "stages.json").exists():
        print(
            f"similar reproduce: {out} is not empty and has no stages.json, so it is not a run "
            "folder of this command; choose another --out",
            file=sys.stderr,
        )
        return 2
    if args.fresh:
        shutil.rmtree(out, ignore_errors=True)
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    try:
        state = run_stages(config, out, command_line(args))
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished work is kept in {out}; run the same command to resume",
            file=sys.stderr,
        )
        return 130
    except (ValueError, RuntimeError, FileNotFoundError, FileExistsError) as e:
        print(f"similar reproduce: {e}", file=sys.stderr)
        return 2
    print_summary(out, state)
    return 0


def print_summary(out: Path, state: dict[str, Any]) -> None:
    """Prints the stage times, the SRMEval and PPO figures and where the outputs are.

    Args:
        out: The run folder, with every stage done.
        state: The content of ``stages.json``.
    """
    print("\nstage      seconds")
    for stage in STAGES:
        print(f"{stage.name:<10} {state['stages'][stage.name]['seconds']:>7.1f}")
    print(f"{'total':<10} {total_seconds(state):>7.1f}")
    srm = json.loads((out / "srmeval" / "results.json").read_text())
    print(f"\nSRMEval ({srm['n_pairs']} pairs), accuracy %:")
    print("model".ljust(28) + "".join(f"{k:>8}" for k in COLUMNS))
    for label, rep in srm["models"].items():
        cells = rep["accuracy"]["all"]
        print(label.ljust(28) + "".join(f"{_fmt_pct(cells[k]['acc']):>8}" for k in COLUMNS))
    print("\nPPO:")
    for reward, s in state["stages"]["ppo"]["result"].items():
        print(
            f"  {reward:<8} final success {100 * s['final_success_rate']:.1f}%  "
            f"episodes {s['episodes']}  steps {s['global_step']}  {s['seconds']:.0f} s"
        )
    print(f"\nreport: {out / 'report.md'}")
    print(f"plots: {out / 'srmeval' / 'accuracy.png'}  {out / 'ppo' / 'success.png'}")
    print("TensorBoard logs: " + "  ".join(map(str, tensorboard_dirs(out))))
    print(f"  tensorboard --logdir {out}")
