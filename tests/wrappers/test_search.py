"""The search functions on explicit trees: no env, no model."""

import numpy as np
import pytest

from wrappers.search import Expansion, SearchConfig, search, selection_scores


def table_expand(table):
    """An expand function over a dict ``(parent, action_index) -> Expansion``, logging calls."""
    calls = []

    def expand(parent, a):
        calls.append((parent, a))
        return table[(parent, a)]

    return expand, calls


def test_depth_zero_is_best_of_n_and_never_expands():
    root = Expansion(("a", "b", "c"), np.array([0.1, 0.7, 0.3]))
    out = search(root, None, SearchConfig(depth=0, num_simulations=50))
    assert out.action_index == 1
    assert out.summary() == {
        "candidates": ["a", "b", "c"],
        "values": [0.1, 0.7, 0.3],
        "q": [0.1, 0.7, 0.3],
        "visits": [0, 0, 0],
        "chosen": 1,
        "nodes": 1,
    }


def test_small_puct_tree_matches_hand_computation():
    # Worked by hand (PUCT, c=1, uniform priors, lambda=0.5, reward weight 1):
    # sim 1: scores q=[.5,.4] -> a0; expand -> child values [.1,.2]: G = .5*.5 + .5*.2 = .35
    # sim 2: bonus .5*sqrt(1)/(1+n) = [.25,.5] -> scores [.6,.9] -> a1; terminal, reward 1:
    #        G = .4 + 1 = 1.4
    # sim 3: scores [.35+.354, 1.4+.354] -> a1 again; its child is terminal: G = 1.4
    root = Expansion(("a0", "a1"), np.array([0.5, 0.4]))
    expand, calls = table_expand(
        {
            (0, 0): Expansion(("b0", "b1"), np.array([0.1, 0.2])),
            (0, 1): Expansion((), np.zeros(0), reward=1.0, terminal=True),
        }
    )
    out = search(root, expand, SearchConfig(depth=1, num_simulations=3))
    top = out.tree[0]
    assert calls == [(0, 0), (0, 1)]
    assert top.visits.tolist() == [1, 2]
    np.testing.assert_allclose(top.q, [0.35, 1.4])
    assert out.action_index == 1 and out.summary()["nodes"] == 3
    assert top.children.tolist() == [1, 2] and out.tree[2].expansion.terminal


def golden_table():
    """A depth-2 tree of 3 candidates everywhere, values from a fixed generator."""
    rng = np.random.default_rng(7)
    table = {}
    for parent in range(40):
        for a in range(3):
            terminal = bool(rng.random() < 0.15)
            values = np.zeros(0) if terminal else np.round(rng.random(3), 2)
            actions = () if terminal else tuple(f"n{parent}a{a}c{j}" for j in range(3))
            table[(parent, a)] = Expansion(
                actions, values, reward=float(terminal), terminal=terminal
            )
    return table


@pytest.mark.parametrize(
    "rule, visits, q, chosen, nodes",
    [
        ("puct", [20, 3, 1], [1.0728, 0.6575, 0.46], 0, 8),
        ("uct", [21, 2, 1], [1.0956, 0.67, 0.46], 0, 7),
    ],
)
def test_golden_tree(rule, visits, q, chosen, nodes):
    root = Expansion(("x", "y", "z"), np.array([0.5, 0.55, 0.45]))
    expand, _ = table_expand(golden_table())
    config = SearchConfig(depth=2, num_simulations=24, rule=rule, exploration=0.5)
    out = search(root, expand, config)
    summary = out.summary()
    assert summary["visits"] == visits
    np.testing.assert_allclose(summary["q"], q, atol=1e-4)
    assert (summary["chosen"], summary["nodes"]) == (chosen, nodes)
    assert sum(summary["visits"]) == 24
    assert max(node.depth for node in out.tree) == 2


def test_visits_choice_and_lookahead_weight_zero():
    root = Expansion(("a0", "a1"), np.array([0.5, 0.4]))
    expand, _ = table_expand(
        {
            (0, 0): Expansion(("b0",), np.array([0.0])),
            (0, 1): Expansion(("b1",), np.array([1.0])),
        }
    )
    blind = search(root, expand, SearchConfig(depth=1, num_simulations=6, lookahead_weight=0.0))
    assert blind.action_index == 0  # lambda = 0: lookahead changes nothing
    np.testing.assert_allclose(blind.tree[0].q, [0.5, 0.4])
    seeing = search(root, expand, SearchConfig(depth=1, num_simulations=6, choose="visits"))
    assert seeing.action_index == 1  # a1 leads to a better state: visited most


def test_selection_scores_follow_the_rules():
    root = Expansion(("a", "b"), np.array([0.2, 0.2]), priors=np.array([0.9, 0.1]))
    out = search(root, None, SearchConfig(depth=0))
    node = out.tree[0]
    node.visits[:] = [3, 1]
    node.return_sum[:] = [0.6, 0.2]
    puct = selection_scores(node, SearchConfig(rule="puct", exploration=1.0))
    np.testing.assert_allclose(puct, [0.2 + 0.9 * 2 / 4, 0.2 + 0.1 * 2 / 2])
    uct = selection_scores(node, SearchConfig(rule="uct", exploration=1.0))
    np.testing.assert_allclose(uct, 0.2 + np.sqrt(np.log(5.0) / np.array([4.0, 2.0])))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="shape"):
        Expansion(("a",), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="no candidate"):
        search(Expansion((), np.zeros(0)), None, SearchConfig())
    with pytest.raises(ValueError, match="expand function"):
        search(Expansion(("a",), np.ones(1)), None, SearchConfig(depth=1))
    with pytest.raises(ValueError, match="rule"):
        SearchConfig(rule="greedy")
    with pytest.raises(ValueError, match="lookahead_weight"):
        SearchConfig(lookahead_weight=2.0)
