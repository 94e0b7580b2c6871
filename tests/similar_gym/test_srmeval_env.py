import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import similar_gym  # noqa: F401
from similar_gym.records import encode_png
from similar_gym.srm_data import PAIR_TYPES, SHIPPED_SRMEVAL, write_pairs
from similar_gym.srmeval_env import DEFAULT_IMAGE_SIZE, SRMEvalEnv


def make_file(path, n=12, sizes=((24, 32),), seed=0, with_images=True):
    rng = np.random.default_rng(seed)
    images = [
        encode_png(rng.integers(0, 256, (*sizes[i % len(sizes)], 3), dtype=np.uint8))
        for i in range(4)
    ]
    rows = [
        {
            "id": f"p{i}",
            "step_idx": i % 3,
            "instruction": f"Buy the red shirt number {i}",
            "type": PAIR_TYPES[i % 6],
            "reason_steps": [f'click({j}) on link "step {j}"' for j in range(i % 3)],
            "image": images[i % 4] if with_images else None,
            "chosen": f'click(3) on button "red shirt {i}"',
            "rejected": f'click(8) on link "help {i}"',
            "task": "shop/buy-product",
            "split": "train" if i % 2 else "heldout-templates",
            "page_text": '[3] button "red shirt"\n[8] link "help"\x07',
        }
        for i in range(n)
    ]
    write_pairs(rows, path)
    return path


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    return make_file(tmp_path_factory.mktemp("srmeval") / "pairs.parquet")


def test_registered_and_import_stays_cheap():
    code = (
        "import sys, similar_gym, gymnasium as gym; "
        "assert 'Similar/SRMEval-v0' in gym.registry; "
        "bad = [m for m in ('torch', 'pyarrow', 'similar_gym.srmeval_env') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_env(pairs_file):
    env = gym.make("Similar/SRMEval-v0", path=pairs_file)
    check_env(env.unwrapped)
    assert env.observation_space["screenshot"].shape == (24, 32, 3)
    assert env.observation_space["type"] == gym.spaces.Discrete(6)
    assert env.action_space == gym.spaces.Discrete(2)
    assert len(env.unwrapped) == env.unwrapped.num_pairs == 12


def test_episode_reward_and_info(pairs_file):
    env = gym.make("Similar/SRMEval-v0", path=pairs_file)
    obs, info = env.reset(seed=3)
    assert set(info) == {"pair_id", "index", "type", "split", "task"}
    row = env.unwrapped.pair(info["index"])
    assert info["pair_id"] == row["id"] and info["task"] == "shop/buy-product"
    assert PAIR_TYPES[int(obs["type"])] == info["type"] == row["type"]
    assert obs["instruction"] == row["instruction"]
    assert obs["history"] == "\n".join(row["reason_steps"])
    assert "\x07" not in obs["page_text"]
    shown = (obs["action_a"], obs["action_b"])
    assert sorted(shown) == sorted((row["chosen"], row["rejected"]))
    pick = shown.index(row["chosen"])
    _, reward, terminated, truncated, info = env.step(pick)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["correct"] is True and info["chosen_index"] == pick
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(0)
    env.reset()
    obs, info = env.reset(options={"index": 5})
    a, b = env.unwrapped.candidate_contexts()
    assert (a.describe(), b.describe()) == (obs["action_a"], obs["action_b"])
    chosen = env.unwrapped.pair(5)["chosen"]
    _, reward, *_ = env.step(1 - [obs["action_a"], obs["action_b"]].index(chosen))
    assert reward == 0.0


def test_order_and_ab_draws_are_deterministic(pairs_file):
    def run(seed):
        env = SRMEvalEnv(pairs_file)
        out = []
        obs, info = env.reset(seed=seed)
        for _ in range(24):
            _, _, _, _, step_info = env.step(0)
            out.append((step_info["index"], step_info["chosen_index"]))
            env.reset()
        return out

    a, b, c = run(0), run(0), run(1)
    assert a == b and a != c
    assert [i for i, _ in a] == [*range(12), *range(12)]  # file order, cycling
    assert 0.2 < np.mean([k for _, k in a]) < 0.8  # A/B both used
    env = SRMEvalEnv(pairs_file)
    env.reset(seed=0, options={"index": 7})
    assert env.reset()[1]["index"] == 8
    assert env.reset(seed=0)[1]["index"] == 0  # a seeded reset starts the pass again
    with pytest.raises(IndexError):
        env.reset(options={"index": 12})


def test_shuffle(pairs_file):
    env = SRMEvalEnv(pairs_file, shuffle=True)
    first = [env.reset(seed=4)[1]["index"]] + [env.reset()[1]["index"] for _ in range(11)]
    again = [env.reset(seed=4)[1]["index"]] + [env.reset()[1]["index"] for _ in range(11)]
    assert first == again and sorted(first) == list(range(12)) and first != list(range(12))


def test_filters(pairs_file):
    env = SRMEvalEnv(pairs_file, split="train", types=["H", "OS"])
    assert len(env) == 2  # train = odd ids; H = ids 0, 6; OS = ids 1, 7
    assert {env.pair(i)["split"] for i in range(len(env))} == {"train"}
    assert {env.pair(i)["type"] for i in range(len(env))} <= {"H", "OS"}
    with pytest.raises(ValueError, match="no pair left"):
        SRMEvalEnv(pairs_file, split="nope")
    with pytest.raises(ValueError, match="unknown pair type"):
        SRMEvalEnv(pairs_file, types=["X"])


def test_images(tmp_path, pairs_file):
    env = SRMEvalEnv(pairs_file, image_size=(10, 12), render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs["screenshot"].shape == (10, 12, 3) and obs["screenshot"].dtype == np.uint8
    assert np.array_equal(env.render(), obs["screenshot"])
    mixed = SRMEvalEnv(make_file(tmp_path / "mixed.parquet", sizes=((24, 32), (20, 20))))
    assert mixed.image_size == DEFAULT_IMAGE_SIZE
    assert mixed.reset(seed=0)[0]["screenshot"].shape == (*DEFAULT_IMAGE_SIZE, 3)
    blank = gym.make(
        "Similar/SRMEval-v0", path=make_file(tmp_path / "b.parquet", with_images=False)
    )
    check_env(blank.unwrapped)
    assert not blank.reset(seed=0)[0]["screenshot"].any()


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        gym.make("Similar/SRMEval-v0", path=tmp_path / "nowhere.parquet")


def test_shipped_file():
    if not SHIPPED_SRMEVAL.is_file():
        pytest.skip("the shipped SRMEval file is not generated yet")
    env = gym.make("Similar/SRMEval-v0")
    obs, info = env.reset(seed=0)
    assert info["pair_id"] and env.observation_space.contains(obs)
