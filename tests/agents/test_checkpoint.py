import json

import pytest
import torch
from torch import nn

from agents.checkpoint import check_resumable, clear_run, load_checkpoint, save_checkpoint
from agents.env_config import AgentEnvConfig


class Tied(nn.Module):
    """Two names for one layer, as SB3's policies share their features extractor."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = self.a
        self.c = nn.Linear(2, 1)


def trained(seed):
    torch.manual_seed(seed)
    net = Tied()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        net.c(net.a(torch.randn(4, 3))).sum().backward()
        opt.step()
    return net, opt


def test_round_trip_restores_weights_optimizer_state_and_extra(tmp_path):
    net, opt = trained(0)
    config = AgentEnvConfig(task="miniwob/click-test")
    extra = {"rng": torch.arange(5)}
    save_checkpoint(tmp_path, net, opt, {"step": 7}, config, extra)
    assert not list(tmp_path.glob(".*.tmp"))
    other, other_opt = trained(1)
    state, loaded = load_checkpoint(tmp_path, other, other_opt)
    assert state == {"step": 7}
    torch.testing.assert_close(loaded["rng"], extra["rng"])
    for (n1, p1), (_, p2) in zip(net.state_dict().items(), other.state_dict().items(), strict=True):
        torch.testing.assert_close(p1, p2, msg=n1)
    assert other.a is other.b
    want, got = opt.state_dict(), other_opt.state_dict()
    assert want["param_groups"] == got["param_groups"]
    for pid, entries in want["state"].items():
        for key, value in entries.items():
            torch.testing.assert_close(got["state"][pid][key], value)
    # The next steps match: Adam's moments came back.
    x = torch.randn(2, 3)
    for n, o in ((net, opt), (other, other_opt)):
        o.zero_grad()
        n.c(n.a(x)).sum().backward()
        o.step()
    torch.testing.assert_close(net.c.weight, other.c.weight)


def test_files_are_safetensors_and_json_only(tmp_path):
    net, opt = trained(0)
    save_checkpoint(tmp_path, net, opt, {}, AgentEnvConfig())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "config.json",
        "extra.safetensors",
        "model.safetensors",
        "optimizer.json",
        "optimizer.safetensors",
        "trainer_state.json",
    ]
    json.loads((tmp_path / "optimizer.json").read_text())


def test_check_resumable(tmp_path):
    net, opt = trained(0)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        check_resumable(tmp_path, AgentEnvConfig())
    save_checkpoint(tmp_path, net, opt, {}, AgentEnvConfig(task="miniwob/click-test"))
    check_resumable(tmp_path, AgentEnvConfig(task="miniwob/click-test"))
    with pytest.raises(ValueError, match="task"):
        check_resumable(tmp_path, AgentEnvConfig(task="miniwob/enter-text"))
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        load_checkpoint(tmp_path / "nowhere", net)


def test_clear_run_keeps_other_files(tmp_path):
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "tensorboard").mkdir()
    for name in ("episodes.jsonl", "summary.json", "notes.txt"):
        (tmp_path / name).write_text("x")
    clear_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
