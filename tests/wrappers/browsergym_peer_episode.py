"""A real BrowserGym episode under SimilarRewardWrapper; prints what the reward model was given.

Run by ``test_browsergym_adapter.py`` with the peers' Python (``.venv-peers``, which has
``browsergym-miniwob`` and the Playwright 1.44 it pins, but no torch), from the repository root::

    PYTHONPATH=. .venv-peers/bin/python tests/wrappers/browsergym_peer_episode.py

It plays ``browsergym/miniwob.login-user`` (seed 0) with four actions and prints one JSON
object: the contexts that a recording model (no torch) received, the bids and credentials read
from the page, the rewards, and whether torch was imported. Prints ``{"skip": reason}`` instead
where BrowserGym or Chromium is missing.

BrowserGym offline, with nothing downloaded:

* MiniWoB++ pages: ``MINIWOB_URL`` is the ``file://`` URL of the ``html/miniwob/`` folder that
  the ``miniwob`` package ships (found by :func:`similar_gym.tasks.miniwob.miniwob_html_dir`).
* Chromium: BrowserGym launches Playwright's own Chromium build, which ``playwright install``
  cannot fetch here. Its ``pw_chromium_kwargs`` reach only the task's browser; every reset also
  launches a second browser for the chat window, with no arguments passed through. So this
  process makes Debian's Chromium the default of every Playwright launch, with the offline
  flags (:func:`similar_gym.browser.use_system_chromium_everywhere`, as
  ``experiments/bench_env.py`` does for BrowserGym).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

import numpy as np

TASK = "browsergym/miniwob.login-user"


class RecordingModel:
    """Stands in for the Similar model (reads screenshots, scores 0.5); keeps the contexts."""

    config = type("Config", (), {"use_image": True})()

    def __init__(self) -> None:
        self.contexts: list[Any] = []

    def score(self, contexts: list[Any]) -> dict[str, np.ndarray]:
        from reward_model.dimensions import CODES

        self.contexts += contexts
        n = len(contexts)
        out = {c: np.zeros(n) for c in (*CODES, "total")}
        out["reward"] = np.full(n, 0.5)
        return out


def main() -> dict[str, Any]:
    """Plays the episode; returns the report printed as JSON."""
    try:
        import browsergym.miniwob  # noqa: F401  (registers browsergym/miniwob.*)
        from browsergym.utils.obs import flatten_axtree_to_str
    except ImportError as e:
        return {"skip": f"browsergym-miniwob is not installed in {sys.executable}: {e}"}
    from similar_gym.browser import default_executable, use_system_chromium_everywhere
    from similar_gym.tasks.miniwob import miniwob_html_dir

    chromium, html = default_executable(), miniwob_html_dir()
    if not chromium:
        return {"skip": "no Chromium (install Debian's chromium or set SIMILAR_CHROMIUM)"}
    if html is None:
        return {"skip": f"the miniwob package (MiniWoB++ pages) is missing in {sys.executable}"}
    os.environ["MINIWOB_URL"] = (html / "miniwob").as_uri() + "/"
    use_system_chromium_everywhere()
    logging.getLogger("browsergym").setLevel(logging.ERROR)

    import gymnasium as gym

    from wrappers.similar_reward import SimilarRewardWrapper

    model = RecordingModel()
    env = SimilarRewardWrapper(gym.make(TASK, disable_env_checker=True), model=model)
    try:
        obs, _ = env.reset(seed=0)
        tree = flatten_axtree_to_str(obs["axtree_object"])
        user, password = re.findall(r'"([^"]*)"', obs["goal"])[:2]
        textboxes = re.findall(r"\[(\w+)\] textbox", tree)
        login = re.search(r"\[(\w+)\] button 'Login'", tree)
        bids = {"user": textboxes[0], "password": textboxes[1], "login": login and login.group(1)}
        actions = [
            f"fill('{bids['user']}', '{user}')",
            f"fill('{bids['password']}', '{password}')",
            f"press('{bids['password']}', 'End')",
            f"click('{bids['login']}')",
        ]
        steps = []
        for action in actions:
            obs, reward, terminated, truncated, info = env.step(action)
            steps.append(
                {
                    "action": action,
                    "reward": reward,
                    "terminated": terminated,
                    "similar": info["similar"],
                    "error": obs["last_action_error"],
                }
            )
            if terminated or truncated:
                break
        adapter = type(env.adapter).__name__
    finally:
        env.close()
    contexts = [
        {
            "instruction": c.instruction,
            "history": list(c.history),
            "page_text": c.page_text,
            "action": c.action,
            "target": c.target,
            "task_id": c.task_id,
            "step_idx": c.step_idx,
            "screenshot": [list(c.screenshot.shape), str(c.screenshot.dtype)],
        }
        for c in model.contexts
    ]
    return {
        "adapter": adapter,
        "goal": obs["goal"],
        "user": user,
        "password": password,
        "bids": bids,
        "steps": steps,
        "contexts": contexts,
        "torch_imported": "torch" in sys.modules,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
