"""A features extractor for ``Similar/Web-v0``'s numeric observations (discrete action mode).

:class:`WebFeaturesExtractor` is a stable-baselines3 ``BaseFeaturesExtractor``, so PPO trains on
the env as is::

    env = gym.make("Similar/Web-v0", task="miniwob/enter-text", action_mode="discrete",
                   max_elements=16, max_text_slots=4, screenshot_size=(96, 128))
    model = PPO("MultiInputPolicy", env, policy_kwargs=dict(
        features_extractor_class=WebFeaturesExtractor,
        features_extractor_kwargs=dict(embed_dim=32)))

What it computes from the observation (:mod:`similar_gym.spaces` documents the arrays):

* the instruction, each element slot and each text slot as the mean of learned embeddings of
  their hashed words, the element slots joined with their 8 layout/state features;
* one score per element slot and one per text slot: a learned bilinear match with the
  instruction, plus the share of the slot's words that the instruction contains (a fixed
  feature that lets a policy point at "the button the goal names" from the first update);
* optionally a small CNN over the screenshot.

The output is ``[instruction, mean element, screenshot, element scores (max_elements x 2),
text-slot scores (max_text_slots x 2)]``. The per-slot scores sit in the same order as the
discrete action's element and text slots, so a policy head reads them almost directly; keep
``net_arch`` small (the default of :mod:`agents.ppo` is one layer of 64 for each head).
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from similar_gym.spaces import VOCAB_SIZE

#: Keys a numeric ``Similar/Web-v0`` observation carries.
OBS_KEYS = ("instruction", "element_tokens", "element_features", "text_slot_tokens")

_ABSENT = -1.0  # the score of an empty element or text slot


def _mean_embed(embed: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
    """Mean embedding of the non-padding tokens along the last axis (zeros if none)."""
    tokens = tokens.long()
    mask = (tokens > 0).unsqueeze(-1).float()
    summed = (embed(tokens) * mask).sum(-2)
    return summed / mask.sum(-2).clamp(min=1.0)


def _overlap(tokens: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
    """Share of each row's non-padding tokens that occur in the instruction.

    Args:
        tokens: ``(B, N, T)`` token ids (rows of ``T`` tokens).
        instruction: ``(B, L)`` token ids.

    Returns:
        ``(B, N)`` shares in ``[0, 1]`` (0 for an empty row).
    """
    tokens, instruction = tokens.long(), instruction.long()
    present = tokens > 0
    hits = (tokens.unsqueeze(-1) == instruction[:, None, None, :]).any(-1) & present
    return hits.float().sum(-1) / present.float().sum(-1).clamp(min=1.0)


class WebFeaturesExtractor(BaseFeaturesExtractor):
    """Turns a numeric ``Similar/Web-v0`` observation into one feature vector (module docstring).

    Args:
        observation_space: The env's ``Dict`` observation space (``observation_mode="numeric"``,
            the default in discrete action mode).
        embed_dim: Size of the word embeddings and of the instruction/element vectors.
        use_screenshot: Run a small CNN over ``obs["screenshot"]``.
        screenshot_dim: Size of the CNN's output.

    Raises:
        ValueError: The space lacks a key of :data:`OBS_KEYS` (a text-mode env, for example).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        embed_dim: int = 32,
        use_screenshot: bool = True,
        screenshot_dim: int = 64,
    ):
        missing = [k for k in OBS_KEYS if k not in observation_space.spaces]
        if missing:
            raise ValueError(
                f"WebFeaturesExtractor needs numeric observations; missing {missing}. "
                'Make the env with action_mode="discrete" (or observation_mode="numeric").'
            )
        max_elements, n_features = observation_space["element_features"].shape
        max_slots = observation_space["text_slot_tokens"].shape[0]
        self.use_screenshot = use_screenshot and "screenshot" in observation_space.spaces
        image_dim = screenshot_dim if self.use_screenshot else 0
        features_dim = 2 * embed_dim + image_dim + 2 * max_elements + 2 * max_slots
        super().__init__(observation_space, features_dim)
        self.embed = nn.Embedding(VOCAB_SIZE, embed_dim, padding_idx=0)
        self.element = nn.Sequential(nn.Linear(embed_dim + n_features, embed_dim), nn.ReLU())
        self.element_match = nn.Bilinear(embed_dim, embed_dim, 1)
        self.slot_match = nn.Bilinear(embed_dim, embed_dim, 1)
        if self.use_screenshot:
            self.cnn = nn.Sequential(
                nn.Conv2d(3, 16, 8, stride=4),
                nn.ReLU(),
                nn.Conv2d(16, 32, 4, stride=2),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d((3, 4)),
                nn.Flatten(),
                nn.Linear(32 * 12, screenshot_dim),
                nn.ReLU(),
            )

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """Features of a batch of observations, as stable-baselines3 preprocesses them.

        Token arrays may come as floats (SB3 casts every ``Box`` to float); the screenshot as
        ``(B, 3, H, W)`` floats in ``[0, 1]`` (SB3's transposed, normalised image) or as
        ``uint8`` (channels first or last), which is scaled here.
        """
        instruction = observations["instruction"]
        q = _mean_embed(self.embed, instruction)
        el_tokens = observations["element_tokens"]
        el_feats = observations["element_features"].float()
        present = el_feats[..., 0] > 0.5
        e = self.element(torch.cat([_mean_embed(self.embed, el_tokens), el_feats], -1))
        q_el = q.unsqueeze(1).expand_as(e).contiguous()
        el_score = self.element_match(e, q_el).squeeze(-1)
        el_overlap = _overlap(el_tokens, instruction)
        absent = torch.full_like(el_score, _ABSENT)
        el_score = torch.where(present, el_score, absent)
        el_overlap = torch.where(present, el_overlap, absent)
        mean_e = (e * present.unsqueeze(-1)).sum(1) / present.sum(1, keepdim=True).clamp(min=1)

        slot_tokens = observations["text_slot_tokens"]
        s = _mean_embed(self.embed, slot_tokens)
        slot_present = slot_tokens.long().gt(0).any(-1)
        slot_score = self.slot_match(s, q.unsqueeze(1).expand_as(s).contiguous()).squeeze(-1)
        slot_overlap = _overlap(slot_tokens, instruction)
        absent = torch.full_like(slot_score, _ABSENT)
        slot_score = torch.where(slot_present, slot_score, absent)
        slot_overlap = torch.where(slot_present, slot_overlap, absent)

        parts = [q, mean_e]
        if self.use_screenshot:
            parts.append(self.cnn(_image(observations["screenshot"])))
        parts += [el_score, el_overlap, slot_score, slot_overlap]
        return torch.cat(parts, -1)


def _image(screenshot: torch.Tensor) -> torch.Tensor:
    """The screenshot as ``(B, 3, H, W)`` floats in ``[0, 1]``."""
    if screenshot.shape[-1] == 3 and screenshot.shape[1] != 3:
        screenshot = screenshot.permute(0, 3, 1, 2)
    if screenshot.dtype == torch.uint8:
        return screenshot.float() / 255.0
    return screenshot.float()
