"""The ``similar`` command: one entry point, one sub-command per job.

Run ``similar --help`` for the list; every sub-command has its own ``--help``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_tasks(args: argparse.Namespace) -> int:
    from similar_gym.tasks import list_tasks

    rows = [t.info() for t in list_tasks(args.suite)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["id"]) for r in rows) if rows else 10
    print(f"{'id':<{width}}  {'suite':<7}  {'oracle':>6}  description")
    for r in rows:
        oracle = "-" if r["oracle_length"] is None else str(r["oracle_length"])
        print(f"{r['id']:<{width}}  {r['suite']:<7}  {oracle:>6}  {r['description']}")
    counts = {s: sum(r["suite"] == s for r in rows) for s in ("own", "miniwob")}
    print(f"\n{len(rows)} tasks: {counts['own']} own, {counts['miniwob']} MiniWoB++")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from experiments.demo import run_demo

    return run_demo(task=args.task, seed=args.seed, out=Path(args.out), policy=args.policy)


def _cmd_bench_env(args: argparse.Namespace) -> int:
    from experiments import bench_env

    return bench_env.run(args)


def _cmd_bench_rm(args: argparse.Namespace) -> int:
    from experiments import bench_rm

    return bench_rm.run(args)


def _cmd_bench_wrapper(args: argparse.Namespace) -> int:
    from experiments import bench_wrapper

    return bench_wrapper.run(args)


def _cmd_collect(args: argparse.Namespace) -> int:
    from experiments import collect_cmd

    return collect_cmd.run(args)


def _cmd_train_rm(args: argparse.Namespace) -> int:
    from experiments import train_rm_cmd

    return train_rm_cmd.run(args)


def _cmd_train_agent(args: argparse.Namespace) -> int:
    from experiments import train_agent_cmd

    return train_agent_cmd.run(args)


#: ``similar study NAME``: the module whose ``main(argv)`` runs each study.
STUDIES = {
    "dense-vs-sparse": "experiments.dense_vs_sparse",
    "search": "experiments.search_study",
    "srmeval": "experiments.srmeval_study",
    "value-rank": "experiments.value_rank",
}


def _cmd_study(args: argparse.Namespace) -> int:
    import importlib

    return importlib.import_module(STUDIES[args.study]).main(args.study_args)


def _cmd_eval(args: argparse.Namespace) -> int:
    from experiments import eval_rm

    return eval_rm.run(args)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from experiments import main_job

    return main_job.run(args)


def build_parser() -> argparse.ArgumentParser:
    """Builds the argument parser of ``similar`` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="similar",
        description="Similar-Gym: web GUI tasks as gymnasium environments, "
        "and the Similar step-wise reward model.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("tasks", help="list every task (id, suite, app, oracle length)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--suite", choices=["own", "miniwob"], help="only this suite")
    p.set_defaults(func=_cmd_tasks)

    p = sub.add_parser(
        "demo", help="run one short episode, save its screenshots and print the trajectory"
    )
    p.add_argument("--task", default="shop/buy-product", help="task id (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="episode seed (default: %(default)s)")
    p.add_argument(
        "--policy",
        choices=["oracle", "random"],
        default="oracle",
        help="who acts: the task's oracle or random valid actions (default: %(default)s)",
    )
    p.add_argument(
        "--out", default="outputs/demo", help="folder for screenshots (default: %(default)s)"
    )
    p.set_defaults(func=_cmd_demo)

    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(
        dest="bench", required=True, metavar="WHAT"
    )
    p = bench.add_parser("env", help="env speed: steps/s and reset time, beside peer systems")
    from experiments import bench_env

    bench_env.add_arguments(p)
    p.set_defaults(func=_cmd_bench_env)
    p = bench.add_parser("rm", help="reward-model speed: scored steps/s batched, latency")
    from experiments import bench_rm

    bench_rm.add_arguments(p)
    p.set_defaults(func=_cmd_bench_rm)
    p = bench.add_parser("wrapper", help="SimilarRewardWrapper's step time over the bare env's")
    from experiments import bench_wrapper

    bench_wrapper.add_arguments(p)
    p.set_defaults(func=_cmd_bench_wrapper)

    p = sub.add_parser(
        "collect", help="MCTS-P: annotate rollouts with the five dimensions, write SRM data"
    )
    from experiments import collect_cmd

    collect_cmd.add_arguments(p)
    p.set_defaults(func=_cmd_collect)

    p = sub.add_parser(
        "train-rm", help="Triple-M: train the Similar reward model on SRMTrain, score SRMEval"
    )
    from experiments import train_rm_cmd

    train_rm_cmd.add_arguments(p)
    p.set_defaults(func=_cmd_train_rm)

    p = sub.add_parser(
        "train-agent", help="train a PPO or GRPO agent with sparse or Similar rewards"
    )
    from experiments import train_agent_cmd

    train_agent_cmd.add_arguments(p)
    p.set_defaults(func=_cmd_train_agent)

    p = sub.add_parser(
        "study",
        help="run a study (dense-vs-sparse, search, srmeval, value-rank): tables, plots, JSON",
        description="Runs one study; its own options follow its name "
        "(`similar study dense-vs-sparse --help`).",
    )
    p.add_argument("study", choices=sorted(STUDIES), help="which study")
    p.add_argument("study_args", nargs=argparse.REMAINDER, help="the study's options")
    p.set_defaults(func=_cmd_study)

    p = sub.add_parser("eval", help="SRMEval accuracy of a reward model or baseline scorer")
    from experiments import eval_rm

    eval_rm.add_arguments(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "reproduce",
        help="the main job: the whole paper in miniature (collect, train, SRMEval, PPO, report)",
    )
    from experiments import main_job

    main_job.add_arguments(p)
    p.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``similar`` command line."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
