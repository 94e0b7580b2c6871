"""``similar train-agent``: options become the chosen algorithm's config."""

import pytest

from experiments.cli import build_parser
from experiments.train_agent_cmd import config_from_args


def parse(*argv):
    return build_parser().parse_args(["train-agent", *argv])


def test_options_build_the_chosen_config():
    config = config_from_args(
        parse("--algo", "grpo", "--group-size", "4", "--reward", "similar", "--task", "t/x")
    )
    assert type(config).__name__ == "GRPOConfig"
    assert (config.group_size, config.reward, config.task) == (4, "similar", "t/x")
    assert config.output_dir == "runs/agents/grpo-similar-t_x"
    ppo = config_from_args(parse("--n-steps", "16", "--no-action-masks", "--output-dir", "o"))
    assert type(ppo).__name__ == "PPOConfig"
    assert (ppo.n_steps, ppo.action_masks, ppo.output_dir) == (16, False, "o")


def test_an_option_of_the_other_algorithm_is_an_error():
    with pytest.raises(ValueError, match="--group-size: not an option of --algo ppo"):
        config_from_args(parse("--group-size", "4"))
    with pytest.raises(ValueError, match="reward must be one of"):
        config_from_args(parse("--reward", "dense"))


def test_help_lists_every_field(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    text = capsys.readouterr().out
    for flag in ("--group-size", "--n-steps", "--similar-scale", "--action-masks", "--resume"):
        assert flag in text
