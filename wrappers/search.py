"""Tree search over candidate actions, as plain functions over explicit inputs (mctx's layout).

The search never touches an env or a model. It starts from the root's :class:`Expansion` (the
candidate actions at the current state and the value model's estimate of each) and asks one
function, ``expand(parent, action_index)``, for the node behind an edge it wants to look
through. The caller (:class:`~wrappers.mcts.MCTSWrapper`) implements ``expand`` with the env's
``snapshot``/``restore`` and the reward model; tests implement it with a table.

Every edge ``(node, a)`` has a model value ``v`` (the reward model's score of taking action
``a`` at the node). A simulation walks down from the root choosing edges by UCT or PUCT,
expands at most one new node (never deeper than ``depth``), and backs up the return of the
edges it walked, bottom up::

    u(n, a) = v(n, a) + reward_weight * r(child)         r: env reward on entering the child
    G(n, a) = u(n, a)                                      no child, or a terminal child
    G(n, a) = (1 - lookahead_weight) * u(n, a) + lookahead_weight * G(child)

where ``G(child)`` is the return of the edge walked below the child, or, for the node expanded
in this simulation, the best model value among its candidates. Returns stay on the scale of
one step's value whatever the depth, so a path that ends the episode competes fairly with one
that goes on. ``Q(n, a)`` is the mean return of the edge; an edge never walked has ``Q = v``.
Depth 0 (or no simulations) is best-of-N: the candidate with the highest model value.

>>> import numpy as np
>>> root = Expansion(actions=("a", "b"), values=np.array([0.2, 0.6]))
>>> search(root, expand=None, config=SearchConfig(depth=0)).action_index
1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Expansion:
    """What a node holds once the env and the model have looked at it.

    Attributes:
        actions: The candidate actions at the node, shape ``(k,)``; empty at a terminal node.
        values: The model's value of each candidate, shape ``(k,)``.
        priors: The prior of each candidate, shape ``(k,)``, for PUCT; ``None`` is uniform.
        reward: The env reward received on entering the node (0 at the root).
        terminal: Whether the episode ended on entering the node.
    """

    actions: Sequence[Any]
    values: np.ndarray
    priors: np.ndarray | None = None
    reward: float = 0.0
    terminal: bool = False

    def __post_init__(self) -> None:
        k = len(self.actions)
        if np.shape(self.values) != (k,):
            raise ValueError(f"values has shape {np.shape(self.values)}, expected ({k},)")
        if self.priors is not None and np.shape(self.priors) != (k,):
            raise ValueError(f"priors has shape {np.shape(self.priors)}, expected ({k},)")


#: ``expand(parent, action_index) -> Expansion``: the node behind edge ``action_index`` of node
#: ``parent``. Nodes are numbered in the order they are expanded, the root being 0.
ExpandFn = Callable[[int, int], Expansion]


@dataclass(frozen=True)
class SearchConfig:
    """How hard and how the search looks ahead.

    Attributes:
        depth: Deepest level expanded (the root's children are level 1); 0 = best-of-N.
        num_simulations: Simulations from the root; each expands at most one node.
        rule: ``"puct"`` (AlphaZero: ``Q + c * P * sqrt(N) / (1 + n)``) or ``"uct"``
            (``Q + c * sqrt(ln(N + 1) / (n + 1))``).
        exploration: The constant ``c`` of the rule.
        lookahead_weight: How much an edge's return trusts what lies behind it (``lambda``
            in the module docstring); 0 ignores the lookahead.
        reward_weight: Weight of the env reward observed on entering a node.
        choose: The executed candidate: ``"value"`` (highest ``Q``) or ``"visits"`` (most
            visited, ties to the higher ``Q``).
    """

    depth: int = 0
    num_simulations: int = 16
    rule: str = "puct"
    exploration: float = 1.0
    lookahead_weight: float = 0.5
    reward_weight: float = 1.0
    choose: str = "value"

    def __post_init__(self) -> None:
        if self.depth < 0 or self.num_simulations < 0:
            raise ValueError("depth and num_simulations must be >= 0")
        if self.rule not in ("puct", "uct"):
            raise ValueError(f"rule must be 'puct' or 'uct', got {self.rule!r}")
        if self.choose not in ("value", "visits"):
            raise ValueError(f"choose must be 'value' or 'visits', got {self.choose!r}")
        if not 0.0 <= self.lookahead_weight <= 1.0:
            raise ValueError(f"lookahead_weight must be in [0, 1], got {self.lookahead_weight}")


@dataclass
class Node:
    """One state of the tree and the statistics of its outgoing edges.

    Attributes:
        parent: The parent's id (-1 at the root).
        action_index: The edge of the parent that leads here (-1 at the root).
        depth: The level (0 at the root).
        expansion: The candidates, their model values and priors, the entering reward.
        children: Child node id of each edge, -1 where not expanded; shape ``(k,)``.
        visits: Simulations through each edge; shape ``(k,)``.
        return_sum: Sum of the backed-up returns of each edge; shape ``(k,)``.
    """

    parent: int
    action_index: int
    depth: int
    expansion: Expansion
    children: np.ndarray = field(init=False)
    visits: np.ndarray = field(init=False)
    return_sum: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        k = len(self.expansion.actions)
        self.children = np.full(k, -1, dtype=np.int64)
        self.visits = np.zeros(k, dtype=np.int64)
        self.return_sum = np.zeros(k, dtype=np.float64)

    @property
    def q(self) -> np.ndarray:
        """Mean return of each edge; the model value where the edge was never walked."""
        values = np.asarray(self.expansion.values, dtype=np.float64)
        walked = self.visits > 0
        return np.where(walked, self.return_sum / np.maximum(self.visits, 1), values)

    @property
    def priors(self) -> np.ndarray:
        """The priors of the edges (uniform when the expansion gave none)."""
        k = len(self.expansion.actions)
        if self.expansion.priors is None:
            return np.full(k, 1.0 / max(k, 1))
        return np.asarray(self.expansion.priors, dtype=np.float64)


@dataclass(frozen=True)
class SearchOutput:
    """The result of :func:`search`.

    Attributes:
        action_index: The root candidate to execute.
        tree: Every node, the root first (``tree[0]``).
    """

    action_index: int
    tree: list[Node]

    def summary(self) -> dict[str, Any]:
        """The root's statistics as plain lists (what ``info["search"]`` holds)."""
        root = self.tree[0]
        return {
            "candidates": [str(a) for a in root.expansion.actions],
            "values": [float(v) for v in root.expansion.values],
            "q": [float(v) for v in root.q],
            "visits": [int(v) for v in root.visits],
            "chosen": self.action_index,
            "nodes": len(self.tree),
        }


def selection_scores(node: Node, config: SearchConfig) -> np.ndarray:
    """The UCT/PUCT score of each edge of ``node``; the search walks the highest."""
    n = node.visits.astype(np.float64)
    total = float(n.sum())
    if config.rule == "puct":
        bonus = node.priors * np.sqrt(total) / (1.0 + n)
    else:
        bonus = np.sqrt(np.log(total + 1.0) / (n + 1.0))
    return node.q + config.exploration * bonus


def edge_return(
    node: Node, a: int, below: float | None, config: SearchConfig, tree: list[Node]
) -> float:
    """The return ``G(node, a)`` given the return ``below`` the child (``None``: none)."""
    u = float(node.expansion.values[a])
    child = int(node.children[a])
    if child >= 0:
        u += config.reward_weight * tree[child].expansion.reward
    if below is None:
        return u
    return (1.0 - config.lookahead_weight) * u + config.lookahead_weight * below


def simulate(tree: list[Node], expand: ExpandFn, config: SearchConfig) -> None:
    """Runs one simulation: walk down, expand at most one node, back the return up."""
    path: list[tuple[int, int]] = []
    node_id, below = 0, None
    while True:
        node = tree[node_id]
        a = int(np.argmax(selection_scores(node, config)))
        path.append((node_id, a))
        child = int(node.children[a])
        if child < 0:
            if node.depth + 1 <= config.depth:
                expansion = expand(node_id, a)
                child = len(tree)
                tree.append(Node(node_id, a, node.depth + 1, expansion))
                node.children[a] = child
                if len(expansion.actions) and not expansion.terminal:
                    below = float(np.max(expansion.values))
            break
        nxt = tree[child]
        if nxt.expansion.terminal or not len(nxt.expansion.actions):
            break
        node_id = child
    for node_id, a in reversed(path):
        node = tree[node_id]
        below = edge_return(node, a, below, config, tree)
        node.visits[a] += 1
        node.return_sum[a] += below


def search(root: Expansion, expand: ExpandFn | None, config: SearchConfig) -> SearchOutput:
    """Searches from ``root`` and picks the candidate to execute.

    Args:
        root: The candidates at the current state and their model values.
        expand: Returns the node behind an edge (see :data:`ExpandFn`); unused at depth 0.
        config: Depth, simulations and rules.

    Returns:
        The chosen root candidate and the tree.

    Raises:
        ValueError: If the root has no candidates, or lookahead is asked without ``expand``.
    """
    if not len(root.actions):
        raise ValueError("the root has no candidate actions")
    tree = [Node(-1, -1, 0, root)]
    if config.depth == 0 or config.num_simulations == 0:
        return SearchOutput(int(np.argmax(root.values)), tree)
    if expand is None:
        raise ValueError("lookahead (depth > 0) needs an expand function")
    for _ in range(config.num_simulations):
        simulate(tree, expand, config)
    top = tree[0]
    if config.choose == "visits":
        best = max(range(len(root.actions)), key=lambda a: (top.visits[a], top.q[a], -a))
    else:
        best = int(np.argmax(top.q))
    return SearchOutput(best, tree)
