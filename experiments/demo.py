"""``similar demo``: one short episode, its screenshots saved, its trajectory printed."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from PIL import Image

import similar_gym  # noqa: F401  (registers Similar/Web-v0)


def run_demo(task: str, seed: int, out: Path, policy: str = "oracle") -> int:
    """Runs one episode and writes ``step_XX.png`` for every observation into ``out``.

    Args:
        task: Task id.
        seed: Episode seed.
        out: Folder for the screenshots (created if needed).
        policy: ``"oracle"`` (the task's own solution; MiniWoB++ tasks have none, so they
            fall back to random) or ``"random"`` (uniform over ``info["valid_actions"]``).

    Returns:
        0 if the episode succeeded, 1 otherwise (the demo still counts as run).
    """
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("step_*.png"):
        old.unlink()
    env = gym.make("Similar/Web-v0", task=task)
    base = env.unwrapped
    rng = np.random.default_rng(seed)
    try:
        obs, info = env.reset(seed=seed)
        plan = base.oracle_plan()
        use_oracle = policy == "oracle" and plan is not None
        who = "oracle" if use_oracle else "random"
        print(f"task:        {info['task_id']} (seed {seed}, policy {who})")
        print(f"instruction: {obs['instruction']}")
        Image.fromarray(obs["screenshot"]).save(out / "step_00.png")
        step, done, total = 0, False, 0.0
        while not done:
            if use_oracle:
                action = base.oracle_step(step) if step < len(plan) else "noop()"
            else:
                action = str(rng.choice(info["valid_actions"]))
            obs, reward, terminated, truncated, info = env.step(action)
            step += 1
            total += float(reward)
            done = terminated or truncated
            Image.fromarray(obs["screenshot"]).save(out / f"step_{step:02d}.png")
            error = f"  error: {info['action_error']}" if info["action_error"] else ""
            print(f"step {step:2d}: {action:<40} reward {reward:+.2f}  {obs['url']}{error}")
        print(f"success: {info['success']}  return: {total:+.2f}  steps: {step}")
        print(f"screenshots: {out.resolve()}/step_00.png .. step_{step:02d}.png")
        return 0 if info["success"] else 1
    finally:
        env.close()
