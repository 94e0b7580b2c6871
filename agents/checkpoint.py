"""Agent run folders and their checkpoints, written without pickle.

A checkpoint folder holds ``model.safetensors`` (the module's weights),
``optimizer.safetensors`` (the optimizer's tensors) with ``optimizer.json`` (its other state
and parameter groups), ``extra.safetensors`` (other tensors a trainer keeps: RNG states, a
reference policy), ``trainer_state.json`` (what the trainer needs to resume) and
``config.json`` (the run's config). Everything loads with ``safetensors`` and ``json``; nothing
is unpickled. :func:`check_resumable` says whether a config may continue a checkpoint,
:func:`has_checkpoint` and :func:`is_finished` where a run folder stands, and :func:`clear_run`
empties one for a fresh start.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from similar_gym.files import atomic_path

#: Config fields a resumed run may change (everything else must match the checkpoint).
RESUMABLE_CHANGES = ("total_timesteps", "checkpoint_every")


def save_checkpoint(
    folder: str | Path,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    config: Any,
    extra: dict[str, torch.Tensor] | None = None,
) -> None:
    """Writes a checkpoint; each file is replaced atomically.

    Args:
        folder: The checkpoint folder (made if missing).
        module: Its weights go to ``model.safetensors`` (``safetensors.torch.save_model``, which
            stores tensors shared between submodules once).
        optimizer: Its ``state_dict`` goes to ``optimizer.safetensors`` and ``optimizer.json``.
        state: JSON-able trainer state.
        config: The run's config (a ``JsonConfig``), for :func:`check_resumable`.
        extra: Other tensors to keep (``extra.safetensors``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors, meta = _split_optimizer(optimizer.state_dict())
    writes = [
        ("model.safetensors", lambda p: save_model(module, p)),
        ("optimizer.safetensors", lambda p: save_file(tensors, p)),
        ("optimizer.json", lambda p: Path(p).write_text(json.dumps(meta))),
        ("extra.safetensors", lambda p: save_file(dict(extra or {}), p)),
        ("trainer_state.json", lambda p: Path(p).write_text(json.dumps(state, indent=2))),
        ("config.json", config.save),
    ]
    for name, write in writes:
        with atomic_path(folder / name) as tmp:
            write(str(tmp))


def load_checkpoint(
    folder: str | Path, module: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Loads a checkpoint written by :func:`save_checkpoint` into ``module`` (and ``optimizer``).

    Returns:
        The trainer state and the extra tensors.

    Raises:
        FileNotFoundError: The folder lacks a checkpoint file (the message names it).
    """
    folder = Path(folder)
    for name in ("model.safetensors", "trainer_state.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: no {name}; not an agent checkpoint")
    load_model(module, str(folder / "model.safetensors"))
    if optimizer is not None:
        tensors = load_file(str(folder / "optimizer.safetensors"))
        meta = json.loads((folder / "optimizer.json").read_text())
        optimizer.load_state_dict(_join_optimizer(tensors, meta))
    extra = load_file(str(folder / "extra.safetensors"))
    return json.loads((folder / "trainer_state.json").read_text()), extra


def check_resumable(folder: str | Path, config: Any) -> None:
    """Checks that ``folder`` holds a checkpoint that ``config`` may continue.

    Raises:
        FileNotFoundError: There is no checkpoint in ``folder``.
        ValueError: The checkpoint was made with another config (beyond
            :data:`RESUMABLE_CHANGES`); the message names the fields.
    """
    folder = Path(folder)
    if not (folder / "trainer_state.json").is_file() or not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no checkpoint to resume from")
    saved = type(config).load(folder / "config.json").to_dict()
    now = config.to_dict()
    changed = sorted(k for k in now if now[k] != saved.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        raise ValueError(f"cannot resume {folder} with a different {', '.join(changed)}")


def has_checkpoint(out: str | Path) -> bool:
    """Whether the run folder ``out`` holds a checkpoint to resume from."""
    return (Path(out) / "checkpoint" / "trainer_state.json").is_file()


def is_finished(out: str | Path, total_timesteps: int) -> bool:
    """Whether the run in ``out`` wrote its summary after ``total_timesteps`` env steps."""
    path = Path(out) / "summary.json"
    return path.is_file() and json.loads(path.read_text()).get("global_step", 0) >= total_timesteps


def clear_run(out: str | Path) -> None:
    """Removes what an earlier run left in the run folder ``out`` (logs, episodes, checkpoint)."""
    out = Path(out)
    for name in ("tensorboard", "checkpoint"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in ("episodes.jsonl", "summary.json", "policy.safetensors"):
        (out / name).unlink(missing_ok=True)


def _split_optimizer(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    state: dict[str, dict[str, Any]] = {}
    for pid, entries in sd["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().contiguous()
            else:
                state.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": state}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in meta["state"].items()}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    # JSON turned tuples (Adam's betas) into lists; "params" is the one list to keep.
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in g.items()}
        for g in meta["param_groups"]
    ]
    return {"state": state, "param_groups": groups}
