"""Configuration of MCTS-P, the automatic step annotator (``similar collect``).

Every field carries its help text in ``metadata["help"]``; ``similar collect --help`` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from reward_model.config_base import JsonConfig, help_field

#: Own-suite templates that never enter SRMTrain: SRMEval's held-out split ("heldout-templates").
HELDOUT_TEMPLATES: tuple[str, ...] = (
    "shop/filter-and-add",
    "mail/forward-mail",
    "calendar/reschedule-event",
    "settings/change-password",
)
#: MiniWoB++ pages of SRMEval's second held-out split ("heldout-miniwob"); SRMTrain never sees them.
HELDOUT_MINIWOB: tuple[str, ...] = (
    "miniwob/click-dialog-2",
    "miniwob/click-button-sequence",
    "miniwob/enter-password",
    "miniwob/login-user",
    "miniwob/choose-list",
    "miniwob/focus-text-2",
)
#: MiniWoB++ pages that SRMTrain may use.
TRAIN_MINIWOB: tuple[str, ...] = (
    "miniwob/click-button",
    "miniwob/click-link",
    "miniwob/click-dialog",
    "miniwob/click-tab",
    "miniwob/enter-text",
    "miniwob/focus-text",
)


@dataclass
class MCTSPConfig(JsonConfig):
    """What MCTS-P collects and how hard it searches.

    Units of work are task instances ``(task, seed)``; each is annotated independently from a
    generator seeded by ``(seed, task, instance seed)``, so results do not depend on the number
    of workers or the order units finish in.
    """

    tasks: tuple[str, ...] = help_field(
        ("own",),
        "Task ids or globs to annotate; 'own' = the own suite, 'miniwob' = the MiniWoB++ pages of "
        "the SRM splits, 'train' = SRMTrain's tasks, 'heldout' = SRMEval's.",
    )
    instances_per_task: int = help_field(4, "Task instances (seeds) annotated per own-suite task.")
    miniwob_instances_per_task: int = help_field(
        10,
        "Task instances per MiniWoB++ task (their episodes are short and random rollouts often "
        "fail, so they need more instances for as many pairs).",
    )
    first_instance_seed: int = help_field(0, "Instance seeds are first_instance_seed, +1, +2, ...")
    seed: int = help_field(0, "Seed of every random choice of MCTS-P (proposals, rollouts).")
    num_candidates: int = help_field(
        4, "N: candidate actions sampled at every step of the followed path."
    )
    rollouts_per_candidate: int = help_field(
        3, "Rollouts from after each candidate, to score OS, H and E."
    )
    root_rollouts: int = help_field(
        4,
        "Rollouts from the initial state that estimate the successful length M = Len_0; an "
        "instance none of them solves is pruned.",
    )
    miniwob_root_rollouts: int = help_field(
        8,
        "Root rollouts on MiniWoB++ pages (on pages without an oracle plan, random rollouts "
        "succeed less often).",
    )
    max_depth: int = help_field(12, "Most steps annotated along one followed path.")
    rollout_max_steps: int = help_field(
        20, "Step budget of one rollout (the env's own step limit also applies)."
    )
    proposer: str = help_field(
        "oracle:0*1+near-miss*1+random*2",
        "Proposal policy of the candidates: random, oracle:EPS, near-miss, or a '+'-joined "
        "mixture of 'name*count' parts (see similar_gym.policies.make_proposer).",
    )
    rollout_policy: str = help_field(
        "oracle:0",
        "Policy of the rollouts (same specs as proposer; asked for one action). The default "
        "follows the oracle plan exactly while the episode stays on it, so OS, H and E say "
        "whether and how fast the task can still be solved after a candidate (off the plan, "
        "the oracle acts at random). SRMEval-Web v1 used oracle:0.05, whose K = 3 noisy "
        "rollouts gave noisy labels.",
    )
    miniwob_proposer: str = help_field(
        "oracle:0*1+random*3",
        "Proposal policy on MiniWoB++ pages (those without an oracle plan get random actions "
        "in place of the oracle's).",
    )
    miniwob_rollout_policy: str = help_field(
        "oracle:0", "Rollout policy on MiniWoB++ pages (random on pages without an oracle plan)."
    )
    success_threshold: float = help_field(
        0.5, "r_i of the helpfulness formula is 1 when the candidate's OS reaches this value."
    )
    judge: str = help_field(
        "auto",
        "Judge of TR and C: auto (oracle with task metadata, embedding without), oracle, "
        "embedding, or llm (then set judge_url).",
    )
    judge_url: str = help_field(
        "", "OpenAI-compatible endpoint of the llm judge, e.g. http://127.0.0.1:8000/v1."
    )
    judge_model: str = help_field("", "Model name sent to the llm judge.")
    screenshot_size: tuple[int, int] = help_field(
        (480, 640), "Height and width of the stored screenshots (the viewport is 640x480)."
    )
    workers: int = help_field(2, "Worker processes, one browser each.")
    heldout_templates: tuple[str, ...] = help_field(
        HELDOUT_TEMPLATES,
        "Own-suite templates held out of SRMTrain (SRMEval split 'heldout-templates').",
    )
    heldout_miniwob: tuple[str, ...] = help_field(
        HELDOUT_MINIWOB,
        "MiniWoB++ pages held out of SRMTrain (SRMEval split 'heldout-miniwob').",
    )
    train_miniwob: tuple[str, ...] = help_field(TRAIN_MINIWOB, "MiniWoB++ pages SRMTrain may use.")

    def __post_init__(self) -> None:
        for name in (
            "tasks",
            "screenshot_size",
            "heldout_templates",
            "heldout_miniwob",
            "train_miniwob",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"MCTSPConfig.{name} must be a sequence, not a string")
            setattr(self, name, tuple(value))
        for name in (
            "instances_per_task",
            "miniwob_instances_per_task",
            "miniwob_root_rollouts",
            "num_candidates",
            "rollouts_per_candidate",
            "root_rollouts",
            "max_depth",
            "rollout_max_steps",
            "workers",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"MCTSPConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_candidates < 2:
            raise ValueError("MCTSPConfig.num_candidates must be >= 2 to make preference pairs")
        if self.judge == "llm" and not self.judge_url:
            raise ValueError("MCTSPConfig.judge='llm' needs judge_url")

    def split_of(self, task_id: str) -> str:
        """Returns the SRM split a task's records go to."""
        if task_id in self.heldout_templates:
            return "heldout-templates"
        if task_id in self.heldout_miniwob:
            return "heldout-miniwob"
        return "train"

    #: Fields that may change between an interrupted run and its resumption. A unit's records
    #: depend only on its task, its instance seed and the other fields (see
    #: ``collect.unit_rng``), so the instance counts only choose which units a run holds: rerun
    #: a finished run with more instances and it collects only the new ones.
    RESUMABLE_FIELDS: ClassVar[tuple[str, ...]] = (
        "workers",
        "instances_per_task",
        "miniwob_instances_per_task",
        "first_instance_seed",
    )


#: The policies of the v1 data (SRMEval-Web v1 and its SRMTrain): noisy-oracle rollouts on the
#: own apps, random candidates and rollouts on MiniWoB++.
_V1_POLICIES: dict[str, Any] = {
    "rollout_policy": "oracle:0.05",
    "miniwob_proposer": "random",
    "miniwob_rollout_policy": "random",
}

#: Named configs of ``similar collect --preset``.
PRESETS: dict[str, dict[str, Any]] = {
    # The shipped benchmark: the held-out templates and MiniWoB++ pages only.
    "srmeval-web-v2": {"tasks": ("heldout",), "instances_per_task": 4, "seed": 0},
    # SRMTrain: everything SRMEval holds out is left out.
    "srmtrain": {"tasks": ("train",), "instances_per_task": 3, "seed": 1},
    # The first release's data, kept reproducible.
    "srmeval-web-v1": {
        "tasks": ("heldout",),
        "instances_per_task": 4,
        "seed": 0,
        **_V1_POLICIES,
    },
    "srmtrain-v1": {"tasks": ("train",), "instances_per_task": 3, "seed": 1, **_V1_POLICIES},
    # A minute-long run that touches every part (one own template, one MiniWoB++ page).
    "smoke": {
        "tasks": ("settings/update-profile", "miniwob/click-dialog"),
        "instances_per_task": 1,
        "miniwob_instances_per_task": 1,
        "max_depth": 3,
    },
}


def preset(name: str, **overrides: Any) -> MCTSPConfig:
    """Returns the config of a named preset, with fields overridden.

    Raises:
        KeyError: If there is no such preset.
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return MCTSPConfig(**{**PRESETS[name], **overrides})
