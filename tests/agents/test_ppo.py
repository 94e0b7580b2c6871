"""PPO through stable-baselines3: tiny runs on a real MiniWoB task, resume, Similar rewards."""

import pytest
from safetensors.torch import load_file

from agents.episode_log import load_episodes
from agents.ppo import PPOConfig, train_ppo

TASK = "miniwob/click-test"


def tiny(out, **kwargs):
    base = dict(
        task=TASK,
        total_timesteps=64,
        n_steps=32,
        batch_size=16,
        n_epochs=2,
        max_steps=5,
        use_screenshot=False,
        embed_dim=8,
        checkpoint_every=32,
        output_dir=str(out),
    )
    return PPOConfig(**{**base, **kwargs})


def test_run_writes_logs_checkpoint_and_summary(tmp_path):
    summary = train_ppo(tiny(tmp_path), progress=False)
    assert summary["global_step"] == 64 and summary["algo"] == "ppo"
    rows = load_episodes(tmp_path / "episodes.jsonl")
    assert len(rows) == summary["episodes"] > 0
    assert all(1 <= r["length"] <= 5 for r in rows)
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    assert 0.0 <= summary["final_success_rate"] <= 1.0
    assert load_file(str(tmp_path / "policy.safetensors"))
    for name in ("model.safetensors", "optimizer.safetensors", "trainer_state.json"):
        assert (tmp_path / "checkpoint" / name).is_file()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    want = {"charts/episodic_return", "charts/success_rate", "losses/policy_loss"}
    want |= {"losses/value_loss", "losses/entropy", "losses/approx_kl", "losses/clipfrac"}
    assert want <= tags, tags


def test_resume_continues_without_duplicate_episodes(tmp_path):
    first = train_ppo(tiny(tmp_path, total_timesteps=32), progress=False)
    assert first["global_step"] == 32
    with pytest.raises(ValueError, match="n_epochs"):
        train_ppo(tiny(tmp_path, n_epochs=3), resume=True, progress=False)
    resumed = train_ppo(tiny(tmp_path), resume=True, progress=False)
    assert resumed["global_step"] == 64
    rows = load_episodes(tmp_path / "episodes.jsonl")
    assert len(rows) == resumed["episodes"]
    assert (
        rows[: first["episodes"]] == load_episodes(tmp_path / "episodes.jsonl")[: first["episodes"]]
    )
    assert all(r["step"] <= 64 for r in rows)
    steps = [r["step"] for r in rows]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)


def test_fresh_run_clears_an_earlier_one(tmp_path):
    train_ppo(tiny(tmp_path, total_timesteps=32), progress=False)
    (tmp_path / "episodes.jsonl").write_text('{"step": 999, "success": true}\n')
    summary = train_ppo(tiny(tmp_path, total_timesteps=32), progress=False)
    assert all(r["step"] <= 32 for r in load_episodes(tmp_path / "episodes.jsonl"))
    assert summary["global_step"] == 32


def test_similar_reward_reaches_the_learner(tmp_path, fake_model):
    summary = train_ppo(
        tiny(tmp_path, reward="similar", total_timesteps=32), model=fake_model, progress=False
    )
    assert fake_model.calls >= 32
    rows = load_episodes(tmp_path / "episodes.jsonl")
    assert rows and all(r["return"] > 0 for r in rows), "every step's Similar reward is > 0"
    assert summary["episodes"] == len(rows)


def test_the_similar_scale_decays_to_zero_between_rollouts(tmp_path, fake_model):
    config = tiny(
        tmp_path,
        reward="similar-only",  # the return is scale x Similar reward alone
        similar_scale=1.0,
        similar_decay_steps=32,
        n_steps=16,
    )
    train_ppo(config, model=fake_model, progress=False)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("charts/similar_scale")]
    assert logged == [(0, 1.0), (16, 0.5), (32, 0.0), (48, 0.0)]
    rows = load_episodes(tmp_path / "episodes.jsonl")
    early = [r["return"] for r in rows if r["step"] <= 16]
    late = [r["return"] for r in rows if r["step"] - r["length"] >= 32]
    assert early and late
    assert all(r > 0 for r in early) and all(r == 0 for r in late)


@pytest.mark.parametrize(
    ("field", "value"),
    [("reward", "dense"), ("total_timesteps", 0), ("gamma", 1.5), ("similar_decay_steps", -1)],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        PPOConfig(**{field: value})
