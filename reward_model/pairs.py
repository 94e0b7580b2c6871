"""Preference pairs from annotated steps, as the paper builds them.

Two runs of one task that first differ at step ``i`` are two candidates of the same MCTS-P
state. For each type (``H, OS, E, TR, C`` and the total) where their scores differ, the better
one is ``chosen`` and the other ``rejected``; ties are dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

from reward_model.dimensions import CODES, PAIR_TYPES, value
from similar_gym.srm_data import pair_row, step_context

#: Score differences at most this large count as ties.
TIE_TOLERANCE = 1e-9


def build_pairs(steps: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Returns pair rows (see :func:`similar_gym.srm_data.pair_row`) from step rows.

    Args:
        steps: Step rows as :func:`similar_gym.srm_data.read_steps` gives them (``id``,
            ``node``, ``scores`` in ``H, OS, E, TR, C`` order, the state columns...). Candidates
            of one state share ``node``; their ids end in ``/c<j>``.

    Returns:
        One row per (state, candidate pair, type) whose scores differ, ordered by state, then
        candidate pair, then type. Candidates with the same action are never paired.
    """
    by_node: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in steps:
        by_node[row["node"]].append(row)
    pairs: list[dict[str, Any]] = []
    for node, rows in by_node.items():
        rows = sorted(rows, key=lambda r: _candidate_index(r["id"]))
        for a, b in combinations(rows, 2):
            if a["action"] == b["action"]:
                continue
            sa, sb = (
                dict(zip(CODES, a["scores"], strict=False)),
                dict(zip(CODES, b["scores"], strict=False)),
            )
            ca, cb = step_context(a), step_context(b)
            for kind in PAIR_TYPES:
                va, vb = value(sa, kind), value(sb, kind)
                if abs(va - vb) <= TIE_TOLERANCE:
                    continue
                (chosen, rejected) = (a, b) if va > vb else (b, a)
                (cc, cr) = (ca, cb) if va > vb else (cb, ca)
                pairs.append(
                    pair_row(
                        id=f"{node}/{_suffix(a['id'])}-{_suffix(b['id'])}/{kind}",
                        type=kind,
                        chosen=cc,
                        rejected=cr,
                        chosen_scores=list(chosen["scores"]),
                        rejected_scores=list(rejected["scores"]),
                        template=a.get("template"),
                        suite=a.get("suite"),
                        split=a.get("split"),
                        seed=a.get("seed"),
                        node=node,
                    )
                )
    return pairs


def _suffix(step_id: str) -> str:
    return step_id.rsplit("/", 1)[-1]


def _candidate_index(step_id: str) -> int:
    suffix = _suffix(step_id)
    return int(suffix[1:]) if suffix[:1] == "c" and suffix[1:].isdigit() else 0
