"""make_env: the env and reward an agent config asks for."""

import pytest

from agents.env_config import make_env
from agents.grpo_config import GRPOConfig
from agents.ppo_config import PPOConfig


@pytest.mark.parametrize(
    ("config", "gamma"),
    [
        (PPOConfig(reward="similar-only", similar_shaping="potential", gamma=0.9), 0.9),
        (
            GRPOConfig(reward="similar-only", similar_shaping="potential", process_to_go=False),
            1.0,
        ),
    ],
)
def test_potential_shaping_uses_the_agents_discount(config, gamma, fake_model):
    config.task = "miniwob/click-test"
    env = make_env(config, model=fake_model)
    try:
        mix = env.mix
        assert (mix.shaping, mix.gamma, mix.scale) == ("potential", gamma, config.similar_scale)
        assert mix.mode == "replace"
        env.reset(seed=0)
        _, reward, terminated, _, info = env.step(0)
        phi = 0.0 if terminated else info["similar"]["similar"]
        assert info["similar"]["similar"] > 0 and reward == pytest.approx(
            config.similar_scale * gamma * phi
        )
    finally:
        env.close()


def test_sparse_env_has_no_wrapper_and_a_bad_shaping_names_the_field():
    env = make_env(PPOConfig(task="miniwob/click-test"))
    assert not hasattr(env, "mix")
    env.close()
    with pytest.raises(ValueError, match="similar_shaping"):
        PPOConfig(similar_shaping="difference")
    with pytest.raises(ValueError, match="process_to_go=False"):
        GRPOConfig(reward="similar", similar_shaping="potential")
