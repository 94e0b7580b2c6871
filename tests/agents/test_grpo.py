"""GRPO: the advantages, the policy, and tiny training runs on a real MiniWoB task."""

import json
import math

import numpy as np
import pytest
import torch
from gymnasium import spaces
from safetensors.torch import load_file

from agents.episode_log import load_episodes
from agents.grpo import (
    GRPOConfig,
    GRPOPolicy,
    Rollout,
    group_advantages,
    obs_to_tensors,
    outcome_advantages,
    process_advantages,
    process_weight_at,
    train_grpo,
)

TASK = "miniwob/click-test"


def tiny(out, **kwargs):
    """A run small enough for a test: one group of 4 rollouts of <= 5 steps per update."""
    base = dict(
        task=TASK,
        total_timesteps=40,
        group_size=4,
        groups_per_update=1,
        max_steps=5,
        minibatch_size=8,
        update_epochs=2,
        use_screenshot=False,
        embed_dim=8,
        checkpoint_every=1,  # env steps: a checkpoint after every update
        output_dir=str(out),
    )
    return GRPOConfig(**{**base, **kwargs})


# ---------------------------------------------------------------------------------- advantages


def test_outcome_advantages_pin_hand_computed_numbers():
    # mean 0.25, population std sqrt(0.25 * 0.75) = 0.4330127
    adv = outcome_advantages([1.0, 0.0, 0.0, 0.0])
    assert adv == pytest.approx(
        [math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3)]
    )
    assert outcome_advantages([1.0, 0.0]) == pytest.approx([1.0, -1.0])
    assert adv.sum() == pytest.approx(0.0, abs=1e-12)
    for same in ([0.0] * 4, [1.0] * 8, [0.1] * 3):
        out = outcome_advantages(same)
        assert np.all(np.isfinite(out)) and out == pytest.approx(np.zeros(len(same)), abs=1e-6)


def test_process_advantages_normalise_over_the_group_then_sum_to_go():
    # all steps: [1, 0, 0, 2] -> mean 0.75, std sqrt(0.6875); normalised z = (r - 0.75) / std
    std = math.sqrt(0.6875)
    z = [(1 - 0.75) / std, -0.75 / std, -0.75 / std, (2 - 0.75) / std]
    adv = process_advantages([[1.0, 0.0], [0.0, 2.0]])
    assert [len(a) for a in adv] == [2, 2]
    assert adv[0] == pytest.approx([z[0] + z[1], z[1]])
    assert adv[1] == pytest.approx([z[2] + z[3], z[3]])
    assert adv[1] == pytest.approx([0.6030227, 1.5075567])
    equal = process_advantages([[0.1, 0.1, 0.1], [0.1], [0.1, 0.1]])
    assert [len(a) for a in equal] == [3, 1, 2]
    for a in equal:
        assert np.all(np.isfinite(a)) and a == pytest.approx(np.zeros(len(a)), abs=1e-6)


def test_group_advantages_mix_process_and_outcome_by_the_weight():
    def rollout(rewards, success):
        n = len(rewards)
        return Rollout([{}] * n, np.zeros((n, 3)), np.zeros(n), np.asarray(rewards), success)

    group = [rollout([1.0, 0.0], True), rollout([0.0, 2.0], False)]
    process = process_advantages([[1.0, 0.0], [0.0, 2.0]])  # pinned above
    outcome = group_advantages(group, process=False)
    assert np.stack(outcome) == pytest.approx(np.array([[1.0, 1.0], [-1.0, -1.0]]))
    for w, got in ((1.0, process), (0.0, outcome)):
        mixed = group_advantages(group, process=True, process_weight=w)
        for a, b in zip(mixed, got, strict=True):
            assert a == pytest.approx(b)
    z = process_advantages([[1.0, 0.0], [0.0, 2.0]], to_go=False)
    assert z[0] == pytest.approx([process[0][0] - process[0][1], process[0][1]])
    step = group_advantages(group, process=True, process_weight=0.5, to_go=False)
    assert step[1] == pytest.approx([0.5 * z[1][0] - 0.5, 0.5 * z[1][1] - 0.5])
    half = group_advantages(group, process=True, process_weight=0.25)
    assert half[1] == pytest.approx([0.25 * 0.6030227 - 0.75, 0.25 * 1.5075567 - 0.75])
    assert half[0] == pytest.approx(0.25 * process[0] + 0.75)


def test_process_weight_falls_linearly_to_zero_over_the_decay_steps():
    assert [process_weight_at(0.25, 0, s) for s in (0, 10**6)] == [0.25, 0.25]
    got = [process_weight_at(0.4, 100, s) for s in (0, 25, 50, 100, 150)]
    assert got == pytest.approx([0.4, 0.3, 0.2, 0.0, 0.0])


# -------------------------------------------------------------------------------------- policy


def web_space(max_elements=16, max_slots=4):
    return spaces.Dict(
        {
            "element_features": spaces.Box(0.0, 1.0, (max_elements, 8), np.float32),
            "element_tokens": spaces.Box(0, 4095, (max_elements, 8), np.int64),
            "instruction": spaces.Box(0, 4095, (32,), np.int64),
            "screenshot": spaces.Box(0, 255, (96, 128, 3), np.uint8),
            "text_slot_tokens": spaces.Box(0, 4095, (max_slots, 6), np.int64),
        }
    )


def test_policy_act_and_logprob_entropy_agree():
    torch.manual_seed(0)
    space, action_space = web_space(), spaces.MultiDiscrete([7, 16, 4])
    space.seed(0)
    policy = GRPOPolicy(space, action_space, embed_dim=8, use_screenshot=True)
    observations = [space.sample() for _ in range(3)]
    acted = [policy.act(o) for o in observations]
    for action, logprob in acted:
        assert action.dtype == np.int64 and action_space.contains(action)
        assert np.isfinite(logprob) and logprob <= 0
    batch = obs_to_tensors(observations)
    assert batch["screenshot"].dtype == torch.uint8 and batch["screenshot"].shape == (3, 96, 128, 3)
    actions = torch.as_tensor(np.stack([a for a, _ in acted]))
    logprob, entropy = policy.logprob_entropy(batch, actions)
    assert logprob.shape == entropy.shape == (3,)
    assert logprob.detach().numpy() == pytest.approx([lp for _, lp in acted], abs=1e-5)
    assert torch.all(entropy > 0) and torch.all(entropy <= math.log(7 * 16 * 4) + 1e-5)
    with pytest.raises(ValueError, match="MultiDiscrete"):
        GRPOPolicy(space, spaces.Discrete(3))


def test_masked_policy_samples_only_allowed_indices():
    torch.manual_seed(0)
    space, action_space = web_space(), spaces.MultiDiscrete([7, 16, 4])
    space.seed(1)
    policy = GRPOPolicy(space, action_space, embed_dim=8, use_screenshot=False)
    obs = space.sample()
    mask = np.zeros(7 + 16 + 4, dtype=bool)
    mask[[1, 2]] = True  # types 1 and 2
    mask[7 + 3] = True  # element slot 3
    mask[7 + 16 + 0] = True  # text slot 0
    acted = [policy.act(obs, mask) for _ in range(20)]
    assert {int(a[0]) for a, _ in acted} <= {1, 2}
    assert {(int(a[1]), int(a[2])) for a, _ in acted} == {(3, 0)}
    actions = torch.as_tensor(np.stack([a for a, _ in acted]))
    batch = obs_to_tensors([obs] * 20)
    masks = torch.as_tensor(np.stack([mask] * 20))
    logprob, entropy = policy.logprob_entropy(batch, actions, masks)
    assert logprob.detach().numpy() == pytest.approx([lp for _, lp in acted], abs=1e-5)
    assert torch.all(entropy <= math.log(2) + 1e-5), "only the type is uncertain"


# -------------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "field, value",
    [
        ("total_timesteps", 0),
        ("group_size", 1),
        ("groups_per_update", 0),
        ("learning_rate", -1.0),
        ("clip_coef", 0.0),
        ("minibatch_size", 0),
        ("kl_coef", -0.1),
        ("ent_coef", -1.0),
        ("checkpoint_every", -1),
        ("process_decay_steps", -1),
        ("process_weight", 1.5),
        ("process_weight", -0.1),
        ("output_dir", ""),
        ("reward", "dense"),
    ],
)
def test_bad_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        GRPOConfig(**{field: value})


def test_config_round_trips_and_every_field_has_help(tmp_path):
    config = GRPOConfig(group_size=4, screenshot_size=[96, 128])
    config.save(tmp_path / "c.json")
    assert GRPOConfig.load(tmp_path / "c.json") == config
    import dataclasses

    assert all(f.metadata.get("help") for f in dataclasses.fields(GRPOConfig))


# -------------------------------------------------------------------------------- training runs


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """An uninterrupted outcome-GRPO run of 40 steps (the reference for the resume test)."""
    out = tmp_path_factory.mktemp("full")
    return out, train_grpo(tiny(out), progress=False)


def test_outcome_run_writes_episodes_tensorboard_checkpoint_and_summary(full_run):
    out, summary = full_run
    assert summary["global_step"] >= 40 and summary["output_dir"] == str(out)
    assert summary["episodes"] % 4 == 0 and summary["episodes"] >= 8
    assert 0.0 <= summary["final_success_rate"] <= 1.0 and summary["seconds"] > 0
    assert json.loads((out / "summary.json").read_text()) == summary
    rows = load_episodes(out / "episodes.jsonl")
    assert len(rows) == summary["episodes"]
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    assert rows[-1]["step"] == summary["global_step"]
    assert all(1 <= r["length"] <= 5 for r in rows)
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    ckpt = out / "checkpoint"
    for name in ("model.safetensors", "optimizer.safetensors", "extra.safetensors", "config.json"):
        assert (ckpt / name).is_file()
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state["global_step"] == summary["global_step"]
    assert len(state["instance_seeds"]) == state["update"] == summary["episodes"] // 4
    assert GRPOConfig.load(ckpt / "config.json") == tiny(out)
    final = load_file(str(out / "policy.safetensors"))
    assert final.keys() == load_file(str(ckpt / "model.safetensors")).keys()
    assert any(k.startswith("heads.") for k in final)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    expected = {"losses/policy_loss", "losses/entropy", "losses/approx_kl", "losses/clipfrac"}
    assert expected | {"charts/learning_rate", "charts/success_rate"} <= tags


def test_resume_continues_and_repeats_the_uninterrupted_run(tmp_path, full_run):
    full_out, full_summary = full_run
    first = train_grpo(tiny(tmp_path, total_timesteps=20), progress=False)
    assert 20 <= first["global_step"] < full_summary["global_step"]
    with pytest.raises(ValueError, match="group_size"):
        train_grpo(tiny(tmp_path, group_size=2), resume=True, progress=False)
    # A stray episode after the checkpoint (an interrupted run) is dropped on resume.
    with (tmp_path / "episodes.jsonl").open("a") as f:
        f.write(json.dumps({"step": 10**6, "return": 0, "length": 1, "success": False}) + "\n")
    resumed = train_grpo(tiny(tmp_path), resume=True, progress=False)
    assert resumed["global_step"] == full_summary["global_step"]
    assert resumed["episodes"] == full_summary["episodes"]
    rows = load_episodes(tmp_path / "episodes.jsonl")
    assert rows == load_episodes(full_out / "episodes.jsonl"), "no duplicates, same episodes"
    state = json.loads((tmp_path / "checkpoint" / "trainer_state.json").read_text())
    full_state = json.loads((full_out / "checkpoint" / "trainer_state.json").read_text())
    assert state["instance_seeds"] == full_state["instance_seeds"]
    ours = load_file(str(tmp_path / "policy.safetensors"))
    theirs = load_file(str(full_out / "policy.safetensors"))
    for name, tensor in theirs.items():
        torch.testing.assert_close(ours[name], tensor, msg=name)


def test_resume_without_checkpoint_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        train_grpo(tiny(tmp_path), resume=True, progress=False)


def test_process_run_with_similar_reward_and_kl_reference(tmp_path, fake_model):
    model = fake_model
    config = tiny(
        tmp_path,
        reward="similar",
        total_timesteps=8,
        group_size=2,
        max_steps=3,
        kl_coef=0.1,
        process_weight=0.5,
        process_decay_steps=8,
    )
    summary = train_grpo(config, model=model, progress=False)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    logged = events.Scalars("charts/process_weight")
    starts = [0] + [e.step for e in logged[:-1]]  # each update's weight is set at its start
    assert [e.value for e in logged] == pytest.approx([0.5 * max(0, 1 - s / 8) for s in starts])
    assert logged[0].value == pytest.approx(0.5) and len(logged) >= 2
    assert model.calls >= summary["global_step"] >= 8
    rows = load_episodes(tmp_path / "episodes.jsonl")
    assert all(r["return"] > 0 for r in rows), "the Similar reward of every step is positive"
    extra = load_file(str(tmp_path / "checkpoint" / "extra.safetensors"))
    assert "rng.torch" in extra and any(k.startswith("reference.") for k in extra)
