"""Triple-M training on a tiny synthetic SRMTrain: both stages, logs, checkpoints, resume."""

import json

import numpy as np
import pytest
import torch

from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig
from reward_model.pairs import build_pairs
from reward_model.train_config import TrainRMConfig, lr_factor, resolve_device
from reward_model.trainer import (
    TripleMTrainer,
    load_optimizer,
    pairwise_loss,
    save_optimizer,
    state_batches,
)
from similar_gym.records import StepContext, encode_png
from similar_gym.srm_data import read_steps, step_row, write_pairs, write_steps


@pytest.fixture(scope="module")
def tiny(tiny_model_kwargs):
    return SimilarRMConfig(**tiny_model_kwargs)


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory):
    """12 states x 3 candidates; the candidate on the goal's button scores best."""
    root = tmp_path_factory.mktemp("srmtrain")
    rng = np.random.default_rng(0)
    rows = []
    for s in range(12):
        shot = encode_png(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        goal = ["red", "blue", "green"][s % 3]
        for j, colour in enumerate(["red", "blue", "green"]):
            ok = colour == goal
            ctx = StepContext(
                f"Buy the {goal} hat.", (), shot, f'[{j}] button "{colour} hat"',
                f"click({j})", f'button "{colour} hat"', "shop/x", 0,
            )  # fmt: skip
            scores = [0.3 if ok else -0.3, 1.0 if ok else 0.0, 0.3 if ok else -0.3, 1.0, 1.0]
            rows.append(
                step_row(f"n{s}/c{j}", ctx, scores, followed=ok, node=f"n{s}",
                         template="shop/x", suite="own", split="train", seed=s)
            )  # fmt: skip
    write_steps(rows, root / "srmtrain" / "steps.parquet")
    steps = read_steps(root / "srmtrain" / "steps.parquet").to_pylist()
    pairs = build_pairs(steps)
    write_pairs(pairs, root / "srmtrain" / "pairs.parquet")
    write_pairs(pairs[:60], root / "eval.parquet")
    return root


def config(train_dir, out, **kw):
    base = dict(
        train_dir=str(train_dir),
        eval_pairs=str(train_dir / "eval.parquet"),
        out=str(out),
        stage1_epochs=2,
        stage2_epochs=3,
        batch_size=8,
        lr=3e-3,
    )
    return TrainRMConfig(**{**base, **kw})


def test_two_stages_logs_checkpoints_and_resume(train_dir, tmp_path, tiny):
    out = tmp_path / "rm"
    trainer = TripleMTrainer(config(train_dir, out), tiny, progress=False)
    result = trainer.train()
    assert set(result["accuracy"]["all"]) == {"H", "OS", "E", "TR", "C", "total", "average"}
    state = json.loads((out / "state.json").read_text())
    assert state["stage1"] == 2 and state["stage2"] == 3
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    model = SimilarRewardModel.from_pretrained(out / "final")
    assert model.config.gate_trained
    assert (out / "last" / "optimizer.safetensors").exists()

    # A second call with the same config resumes after the last epoch: nothing left to train.
    again = TripleMTrainer(config(train_dir, out), tiny, progress=False).train()
    assert again["accuracy"] == result["accuracy"]
    with pytest.raises(ValueError, match="another config"):
        TripleMTrainer(config(train_dir, out, lr=1e-4), tiny, progress=False).train()


def test_lr_schedule_warms_up_then_decays(train_dir, tmp_path, tiny):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "rm"
    cfg = config(train_dir, out, stage2=False, lr=1e-3, lr_schedule="linear", warmup_ratio=0.25)
    TripleMTrainer(cfg, tiny, progress=False).train()
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    lrs = [e.value for e in events.Scalars("charts/learning_rate")]
    assert len(lrs) == 10  # 2 epochs x 36 records / 8 per batch
    assert lrs[0] == 0.0 and max(lrs) == pytest.approx(1e-3)
    peak = lrs.index(max(lrs))
    assert peak == 2 and all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))
    assert lrs[-1] == pytest.approx(1e-3 * lr_factor(9, 10, "linear", 0.25))
    assert [round(lr_factor(s, 4, "cosine"), 3) for s in range(5)] == [1, 0.854, 0.5, 0.146, 0]
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainRMConfig(lr_schedule="step")
    with pytest.raises(ValueError, match="warmup_ratio"):
        TrainRMConfig(warmup_ratio=1.0)


def test_stage1_learns_the_toy_task(train_dir, tmp_path, tiny):
    torch.manual_seed(0)
    cfg = config(train_dir, tmp_path / "rm", stage1_epochs=12, stage2=False, lr=3e-3)
    result = TripleMTrainer(cfg, tiny, progress=False).train()
    assert result["accuracy"]["all"]["OS"]["acc"] >= 0.8


def test_rank_loss_batches_whole_states_and_is_logged(train_dir, tmp_path, tiny):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    nodes = [f"n{i // 3}" for i in range(36)]
    batches = state_batches(nodes, 8, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(36))
    assert all(len({nodes[i] for i in b}) * 3 == len(b) for b in batches)  # whole states
    assert all(len(b) >= 8 for b in batches[:-1]) and len(batches) <= 36 // 8 + 1
    assert state_batches(nodes, 8, seed=3) == batches != state_batches(nodes, 8, seed=4)

    out = tmp_path / "rm"
    cfg = config(train_dir, out, stage1_epochs=12, stage2=False, lr=3e-3, rank_weight=1.0)
    torch.manual_seed(0)
    result = TripleMTrainer(cfg, tiny, progress=False).train()
    assert result["accuracy"]["all"]["OS"]["acc"] >= 0.8
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    ranks = [e.value for e in events.Scalars("losses/stage1_rank")]
    assert len(ranks) == 12 * 4 and np.mean(ranks[-4:]) < np.mean(ranks[:4])  # 4 batches of 9
    with pytest.raises(ValueError, match="rank_weight"):
        TrainRMConfig(rank_weight=-1.0)


def test_pairwise_loss_compares_only_different_actions_of_one_state():
    scores = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 9.0], [9.0, 9.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    states, actions = torch.tensor([0, 0, 0, 1]), torch.tensor([0, 1, 1, 2])
    # Pairs (0,1) and (0,2) on dimension 0 (row 0 better), (2,0) on dimension 1; rows 1 and 2
    # share an action and row 3 is alone in its state.
    expected = -torch.nn.functional.logsigmoid(torch.tensor([2.0, 2.0, 9.0])).mean()
    assert pairwise_loss(scores, targets, states, actions).item() == pytest.approx(expected.item())
    none = pairwise_loss(scores[3:], targets[3:], states[3:], actions[3:])
    assert none.item() == 0.0 and none.requires_grad is False  # no pair, no gradient needed


def test_device_is_chosen_and_checked(train_dir, tmp_path, tiny):
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        TrainRMConfig(device="gpu please")
    result = TripleMTrainer(
        config(train_dir, tmp_path / "rm", stage1_epochs=1, stage2_epochs=1, device="cpu"),
        tiny,
        progress=False,
    ).train()
    assert result["device"] == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
        cfg = config(train_dir, tmp_path / "rm2", device="cuda:0")  # valid, but not here
        with pytest.raises(ValueError, match="no CUDA GPU"):
            TripleMTrainer(cfg, tiny, progress=False).train()


def test_missing_data_is_a_clear_error(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="similar collect --preset srmtrain"):
        TripleMTrainer(config(tmp_path, tmp_path / "rm"), tiny, progress=False).train()


def test_optimizer_state_round_trip_without_pickle(tmp_path):
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.AdamW([w], lr=0.1)
    w.sum().backward()
    opt.step()
    save_optimizer(opt, tmp_path)
    opt2 = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3))], lr=0.5)
    load_optimizer(opt2, tmp_path)
    a, b = opt.state_dict(), opt2.state_dict()
    assert b["param_groups"][0]["lr"] == 0.1
    assert torch.equal(a["state"][0]["exp_avg"], b["state"][0]["exp_avg"])


def test_ship_copies_the_final_model_with_its_manifest(train_dir, tmp_path, tiny, monkeypatch):
    import argparse

    import reward_model.modeling as modeling
    from experiments.train_rm_cmd import add_arguments, command_line, ship

    out = tmp_path / "rm"
    result = TripleMTrainer(config(train_dir, out, stage2_epochs=1), tiny, progress=False).train()
    (train_dir / "manifest.json").write_text(json.dumps({"steps": 36}))
    dest = tmp_path / "pkg" / "checkpoints" / "default"
    dest.parent.mkdir(parents=True)
    monkeypatch.setattr(modeling, "DEFAULT_CHECKPOINT", dest)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--out", str(out), "--stage1-epochs", "2", "--no-use-image"])
    command = command_line(args)
    assert command == f"similar train-rm --out {out} --stage1-epochs 2 --no-use-image --ship"
    assert ship(out, str(train_dir), result, command) == dest
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["command"] == command and manifest["srmtrain_manifest"] == {"steps": 36}
    assert manifest["train_config"]["stage2_epochs"] == 1
    adapter = json.loads((dest / "adapter" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "minilm", "no machine path in the checkpoint"
    assert not list(dest.rglob("*.bin")) and not list(dest.rglob("*.pt")), "no pickle files"
    loaded = SimilarRewardModel.from_pretrained("default")
    original = SimilarRewardModel.from_pretrained(out / "final")
    probe = [StepContext("Buy the red hat.", (), None, "", "click(0)", 'button "red hat"')]
    assert loaded.score(probe)["reward"] == pytest.approx(original.score(probe)["reward"])
