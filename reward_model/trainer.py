"""Triple-M training of the Similar reward model (``similar train-rm``).

Reads top to bottom like a CleanRL script:

1. load SRMTrain's step records and pairs, and SRMEval's pairs;
2. **stage 1**: fit the LoRA adapters, vision encoder, fusion layer and regression head with MSE
   on the scaled targets ``3*H, 5*OS, 5*E, TR, C`` (optionally beside a pairwise loss over the
   candidates of one state, ``rank_weight``);
3. **stage 2**: freeze them, cache every training state's hidden state and scores, and fit the
   gating MLP with a Bradley-Terry loss on the pairs (reward = ``softmax(gate(h)) . scores``);
4. after every epoch: SRMEval accuracy, TensorBoard scalars, a checkpoint (``out/last``) and
   ``out/state.json``; a second call with the same config resumes after the last finished
   epoch.

Checkpoints hold no pickle: the model folder of :meth:`SimilarRewardModel.save_pretrained` and
the optimizer's tensors in ``optimizer.safetensors`` with its settings in ``optimizer.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from reward_model.dimensions import PAIR_TYPES, SCALES
from reward_model.evaluation import EvalReport, ModelScorer, context_key, evaluate
from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig
from reward_model.train_config import TrainRMConfig, lr_factor, resolve_device
from similar_gym.files import write_text_atomic
from similar_gym.records import StepContext
from similar_gym.srm_data import (
    SHIPPED_SRMEVAL,
    pair_contexts,
    read_pairs,
    read_steps,
    step_context,
)


def save_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    """Writes an optimizer's state as safetensors (tensors) and JSON (settings, counters)."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    save_file(tensors, str(directory / "optimizer.safetensors"))
    (directory / "optimizer.json").write_text(
        json.dumps({"param_groups": state["param_groups"], "scalars": scalars})
    )


def load_optimizer(optimizer: torch.optim.Optimizer, directory: Path) -> None:
    """Restores what :func:`save_optimizer` wrote."""
    from safetensors.torch import load_file

    meta = json.loads((directory / "optimizer.json").read_text())
    entries: dict[int, dict[str, Any]] = {}
    for name, value in load_file(str(directory / "optimizer.safetensors")).items():
        idx, key = name.split(".", 1)
        entries.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        entries.setdefault(int(idx), {})[key] = value
    optimizer.load_state_dict({"state": entries, "param_groups": meta["param_groups"]})


#: Target differences at most this large count as ties in :func:`pairwise_loss`.
RANK_TIE = 1e-6


def state_batches(nodes: Sequence[str], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of whole states: every candidate of a state lands in the same batch.

    States are taken in a seeded random order and a batch closes once it holds at least
    ``batch_size`` steps, so batches hold about ``batch_size`` steps and there are at most
    ``ceil(len(nodes) / batch_size)`` of them.

    Args:
        nodes: The state (MCTS-P node) of every step record.
        batch_size: Steps per batch, at least.
        seed: Seeds the order of the states.

    Returns:
        Lists of row indices into ``nodes``.

    >>> state_batches(["a", "b", "a", "c", "b"], 2, seed=0)
    [[3, 0, 2], [1, 4]]
    """
    groups: dict[str, list[int]] = {}
    for row, node in enumerate(nodes):
        groups.setdefault(node, []).append(row)
    members = list(groups.values())
    order = torch.randperm(len(members), generator=torch.Generator().manual_seed(seed)).tolist()
    batches: list[list[int]] = []
    current: list[int] = []
    for g in order:
        current.extend(members[g])
        if len(current) >= batch_size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def pairwise_loss(
    scores: torch.Tensor, targets: torch.Tensor, states: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """Bradley-Terry loss between the candidates of one state, per dimension.

    For every two rows ``i, j`` of the same state with different actions and every dimension
    ``d`` with ``targets[i, d] > targets[j, d]``, the loss is ``-log sigmoid(scores[i, d] -
    scores[j, d])``; the mean over all such (pair, dimension) terms is returned (0 when there
    is none). These are the pairs SRMEval asks about, so the loss trains the order that MSE
    learns only through the absolute values.

    Args:
        scores: ``(B, 5)`` predicted scaled scores.
        targets: ``(B, 5)`` scaled targets.
        states: ``(B,)`` integer id of every row's state.
        actions: ``(B,)`` integer id of every row's action (equal actions are not compared).

    Returns:
        A scalar tensor.

    >>> s = torch.tensor([[1.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    >>> t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> round(pairwise_loss(s, t, torch.tensor([0, 0, 1]), torch.arange(3)).item(), 4)
    0.5032
    """
    comparable = (states[:, None] == states[None, :]) & (actions[:, None] != actions[None, :])
    better = (targets[:, None, :] - targets[None, :, :] > RANK_TIE) & comparable[..., None]
    if not bool(better.any()):
        return scores.sum() * 0.0
    margins = scores[:, None, :] - scores[None, :, :]
    return -F.logsigmoid(margins[better]).mean()


class TripleMTrainer:
    """Trains a :class:`SimilarRewardModel` in the two stages of Triple-M.

    Args:
        config: What to train on and how.
        model_config: Architecture; default :class:`SimilarRMConfig` with the config's
            switches (``use_image``, ``use_history``, ``max_length``, ``backbone_layers``,
            ``text_style``).
        progress: Show progress bars.
    """

    def __init__(
        self,
        config: TrainRMConfig,
        model_config: SimilarRMConfig | None = None,
        progress: bool = True,
    ):
        self.config = config
        self.model_config = model_config or SimilarRMConfig(
            use_image=config.use_image,
            use_history=config.use_history,
            max_length=config.max_length,
            backbone_layers=config.backbone_layers,
            text_style=config.text_style,
        )
        self.progress = progress
        self.out = Path(config.out)

    # ------------------------------------------------------------------ data

    def _load(self) -> None:
        train = Path(self.config.train_dir) / "srmtrain"
        for name in ("steps.parquet", "pairs.parquet"):
            if not (train / name).is_file():
                raise FileNotFoundError(
                    f"{train / name} is missing: run `similar collect --preset srmtrain "
                    f"--out {self.config.train_dir}` first"
                )
        steps = read_steps(train / "steps.parquet").to_pylist()
        self.contexts: list[StepContext] = [step_context(r) for r in steps]
        self.nodes: list[str] = [r["node"] for r in steps]
        self.state_ids = torch.tensor(_integer_ids(self.nodes))
        self.action_ids = torch.tensor(_integer_ids([r["action"] for r in steps]))
        scales = torch.tensor(SCALES, dtype=torch.float32)
        self.targets = torch.tensor([r["scores"] for r in steps], dtype=torch.float32) * scales
        self.pairs = [pair_contexts(r) for r in read_pairs(train / "pairs.parquet").to_pylist()]
        eval_table = read_pairs(self.config.eval_pairs or SHIPPED_SRMEVAL)
        if self.config.eval_max_pairs and eval_table.num_rows > self.config.eval_max_pairs:
            rng = np.random.default_rng(self.config.seed)
            keep = np.sort(rng.choice(eval_table.num_rows, self.config.eval_max_pairs, False))
            eval_table = eval_table.take(keep)
        self.eval_table = eval_table

    # ------------------------------------------------------------------ state

    def _state(self) -> dict[str, Any]:
        path = self.out / "state.json"
        return json.loads(path.read_text()) if path.exists() else {"stage1": 0, "stage2": 0}

    def _check_config(self) -> None:
        path = self.out / "train_config.json"
        if path.exists():
            old = TrainRMConfig.load(path).to_dict()
            new = self.config.to_dict()
            diff = [k for k in new if k not in TrainRMConfig.RESUMABLE_FIELDS and old[k] != new[k]]
            if diff:
                raise ValueError(
                    f"{self.out} holds a training run with another config "
                    f"(fields differ: {', '.join(diff)}); use another --out"
                )
        self.out.mkdir(parents=True, exist_ok=True)
        self.config.save(path)

    def _checkpoint(self, state: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
        """Saves model, optimizer and ``state`` (adding the time since the last checkpoint)."""
        now = time.perf_counter()
        state["seconds"] = round(state.get("seconds", 0.0) + now - self._clock, 1)
        self._clock = now
        last = self.out / "last"
        self.model.save_pretrained(last)
        save_optimizer(optimizer, last)
        write_text_atomic(self.out / "state.json", json.dumps(state, indent=2) + "\n")

    def _evaluate(self, tag: str, step: int) -> EvalReport:
        report = evaluate(ModelScorer(self.model), self.eval_table, progress=False, name=tag)
        for kind in (*PAIR_TYPES, "average"):
            acc = report.accuracy(kind)
            self.writer.add_scalar(f"eval/accuracy_{kind}", acc.acc, step)
        if self.progress:
            from tqdm.auto import tqdm

            line = " ".join(f"{k} {100 * report.accuracy(k).acc:.1f}" for k in PAIR_TYPES)
            tqdm.write(
                f"{tag}: SRMEval average {100 * report.accuracy('average').acc:.1f} ({line})"
            )
        return report

    # ------------------------------------------------------------------ training

    def train(self) -> dict[str, Any]:
        """Runs (or resumes) both stages; returns the final SRMEval report as a dict."""
        from torch.utils.tensorboard import SummaryWriter
        from tqdm.auto import tqdm

        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self._check_config()
        self._load()
        state = self._state()
        last = self.out / "last"
        resumed = (last / "config.json").exists()
        self.model = (
            SimilarRewardModel.from_pretrained(last, merge=False)
            if resumed
            else SimilarRewardModel(self.model_config)
        )
        device = resolve_device(cfg.device)
        self.model.to(device)
        self.writer = SummaryWriter(str(self.out / "tensorboard"))
        call_start = self._clock = time.perf_counter()

        # Stage 1: regression on the scaled targets; the gate is not trained.
        for p in self.model.gate.parameters():
            p.requires_grad_(False)
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if resumed and state["stage1"] and not state["stage2"]:
            load_optimizer(opt, last)
        n = len(self.contexts)
        per_epoch = (n + cfg.batch_size - 1) // cfg.batch_size
        for epoch in range(state["stage1"], cfg.stage1_epochs):
            self.model.train()
            if cfg.rank_weight > 0:
                batches = state_batches(self.nodes, cfg.batch_size, cfg.seed * 1000 + epoch)
            else:
                order = torch.randperm(
                    n, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
                )
                batches = [
                    order[b * cfg.batch_size : (b + 1) * cfg.batch_size].tolist()
                    for b in range(per_epoch)
                ]
            bar = tqdm(batches, desc=f"stage 1 epoch {epoch + 1}", disable=not self.progress)
            for b, idx in enumerate(bar):
                step = epoch * per_epoch + b
                out = self.model(**self.model.encode([self.contexts[i] for i in idx]))
                targets = self.targets[idx].to(device)
                mse = F.mse_loss(out.scores, targets)
                loss = mse
                if cfg.rank_weight > 0:
                    rank = pairwise_loss(
                        out.scores,
                        targets,
                        self.state_ids[idx].to(device),
                        self.action_ids[idx].to(device),
                    )
                    loss = mse + cfg.rank_weight * rank
                    self.writer.add_scalar("losses/stage1_rank", rank.item(), step)
                lr = cfg.lr * lr_factor(
                    step, cfg.stage1_epochs * per_epoch, cfg.lr_schedule, cfg.warmup_ratio
                )
                for group in opt.param_groups:
                    group["lr"] = lr
                opt.zero_grad()
                loss.backward()
                opt.step()
                self.writer.add_scalar("losses/stage1_mse", mse.item(), step)
                self.writer.add_scalar("charts/learning_rate", lr, step)
                bar.set_postfix(mse=f"{mse.item():.3f}")
            report = self._evaluate(f"stage1-epoch{epoch + 1}", epoch + 1)
            state = {
                **state,
                "stage1": epoch + 1,
                "stage1_average": report.accuracy("average").acc,
            }
            self._checkpoint(state, opt)

        # Stage 2: the gate, with a Bradley-Terry loss on cached hidden states and scores.
        if cfg.stage2 and state["stage2"] < cfg.stage2_epochs:
            for p in self.model.parameters():
                p.requires_grad_(False)
            for p in self.model.gate.parameters():
                p.requires_grad_(True)
            hidden, scores, index = self._cache_pair_states()
            chosen = torch.tensor([index[id(c)] for c, _ in self.pairs])
            rejected = torch.tensor([index[id(r)] for _, r in self.pairs])
            gate_opt = torch.optim.AdamW(self.model.gate.parameters(), lr=cfg.gate_lr)
            if resumed and state["stage2"]:
                load_optimizer(gate_opt, last)
            self.model.config.gate_trained = True
            for epoch in range(state["stage2"], cfg.stage2_epochs):
                order = torch.randperm(len(chosen), generator=torch.Generator().manual_seed(epoch))
                total = 0.0
                for b in range(0, len(order), 256):
                    idx = order[b : b + 256]
                    margin = self._gated(hidden, scores, chosen[idx]) - self._gated(
                        hidden, scores, rejected[idx]
                    )
                    loss = -F.logsigmoid(margin).mean()
                    gate_opt.zero_grad()
                    loss.backward()
                    gate_opt.step()
                    total += loss.item() * len(idx)
                self.writer.add_scalar("losses/stage2_bt", total / max(len(order), 1), epoch)
                state = {**state, "stage2": epoch + 1}
                if epoch + 1 == cfg.stage2_epochs:
                    report = self._evaluate("triple-m", cfg.stage1_epochs + 1)
                    state["stage2_average"] = report.accuracy("average").acc
                self._checkpoint(state, gate_opt)

        final = self.out / "final"
        self.model.save_pretrained(final)
        report = evaluate(ModelScorer(self.model), self.eval_table, progress=False, name=str(final))
        result = report.to_dict()
        # Training time over all sessions of this run (resumed ones included), and this call's.
        result["train_seconds"] = state.get("seconds")
        result["call_seconds"] = round(time.perf_counter() - call_start, 1)
        result["device"] = str(device)
        (self.out / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
        self.writer.close()
        self.report = report
        return result

    def _gated(
        self, hidden: torch.Tensor, scores: torch.Tensor, rows: torch.Tensor
    ) -> torch.Tensor:
        """The gated reward of the cached states ``rows``."""
        weights = torch.softmax(self.model.gate(hidden[rows]), dim=-1)
        return (weights * scores[rows]).sum(-1)

    @torch.no_grad()
    def _cache_pair_states(self) -> tuple[torch.Tensor, torch.Tensor, dict[int, int]]:
        """Hidden states and scores of every distinct candidate of the training pairs."""
        self.model.eval()
        keys: dict[bytes, int] = {}
        index: dict[int, int] = {}
        unique: list[StepContext] = []
        for pair in self.pairs:
            for ctx in pair:
                key = context_key(ctx)
                if key not in keys:
                    keys[key] = len(unique)
                    unique.append(ctx)
                index[id(ctx)] = keys[key]
        hidden, scores = [], []
        for b in range(0, len(unique), 32):
            out = self.model(**self.model.encode(unique[b : b + 32]))
            hidden.append(out.hidden)
            scores.append(out.scores)
        return torch.cat(hidden), torch.cat(scores), index


def _integer_ids(keys: Sequence[str]) -> list[int]:
    """Maps equal strings to equal integers (in order of first appearance)."""
    ids: dict[str, int] = {}
    return [ids.setdefault(k, len(ids)) for k in keys]
