"""``Similar/Web-v0``: web GUI tasks (the own suite and MiniWoB++) as a gymnasium environment."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from similar_gym.actions import Action, ActionError, DiscreteActionCodec, parse_action
from similar_gym.browser import BrowserConfig, BrowserCrashed, BrowserError, BrowserSession
from similar_gym.records import describe_element, find_target
from similar_gym.spaces import (
    MAX_ERROR_CHARS,
    MAX_INSTRUCTION_CHARS,
    MAX_URL_CHARS,
    encode_numeric,
    observation_space,
    sanitize,
)
from similar_gym.tasks import OracleStep, Task, TaskInstance, get_task, resolve_tasks
from similar_gym.tasks.miniwob import miniwob_html_dir
from similar_gym.tasks.task import APPS_DIR


@dataclass(frozen=True)
class EnvSnapshot:
    """Everything :meth:`WebEnv.restore` needs to put an episode back exactly.

    Attributes:
        instance: The task instance.
        step: Steps taken so far.
        actions: Canonical text of the actions executed so far (for replay).
        done: Whether the episode had ended.
        success: Whether the goal had been reached.
        last_error: The last action's error.
        page: The task's page state, or ``None`` when the env restores by replay.
        plan_progress: Oracle plan steps done so far (see :meth:`WebEnv.oracle_next`).
    """

    instance: TaskInstance
    step: int
    actions: tuple[str, ...]
    done: bool
    success: bool
    last_error: str
    page: Any
    plan_progress: int = 0


class WebEnv(gym.Env[dict[str, Any], Any]):
    """Web GUI tasks in headless Chromium.

    Observations are dicts (see :mod:`similar_gym.spaces`): in ``"text"`` mode the screenshot,
    the instruction, an accessibility-tree-style text view of the page whose ``[n]`` ids actions
    name, the URL and the last action's error. Actions are text in the grammar of
    :mod:`similar_gym.actions` (``action_mode="text"``) or ``MultiDiscrete`` triples (type,
    element slot, text slot) decoded by :class:`~similar_gym.actions.DiscreteActionCodec`
    (``action_mode="discrete"``).

    The reward is the task's: 1 when an own-suite goal is reached (the episode then terminates),
    MiniWoB++'s raw page reward when its episode ends. Bad actions never raise: the step happens
    as a no-op, ``info["action_error"]`` and the next observation's ``last_action_error`` say why.

    Args:
        task: ``None`` for the whole own suite, a task id (``"shop/buy-product"``,
            ``"miniwob/click-test"``), a glob (``"mail/*"``) or a list; with several tasks each
            reset draws one from the seed.
        action_mode: ``"text"`` or ``"discrete"``.
        observation_mode: ``"text"`` or ``"numeric"``; default ``"text"`` for text actions and
            ``"numeric"`` for discrete ones (what stable-baselines3 can take).
        viewport: Browser page size ``(width, height)`` in CSS pixels.
        screenshot_size: ``(height, width)`` of the screenshot; default the viewport's.
        max_steps: Step limit (truncation); default each task's own.
        max_elements: Element slots of the discrete and numeric modes.
        max_text_slots: Text slots of the discrete and numeric modes.
        page_text_max_chars: Longest page text view; longer views are cut with a marker.
        render_mode: ``None`` or ``"rgb_array"`` (the screenshot).
        browser: Browser settings (Chromium path, time limits).

    Example:
        >>> import gymnasium as gym
        >>> import similar_gym  # noqa: F401
        >>> env = gym.make("Similar/Web-v0", task="miniwob/click-test")  # doctest: +SKIP
        >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
        >>> obs["instruction"]  # doctest: +SKIP
        'Click the button.'
        >>> obs, reward, terminated, truncated, info = env.step("click(3)")  # doctest: +SKIP
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        task: str | Sequence[str] | None = None,
        action_mode: str = "text",
        observation_mode: str | None = None,
        viewport: tuple[int, int] = (640, 480),
        screenshot_size: tuple[int, int] | None = None,
        max_steps: int | None = None,
        max_elements: int = 64,
        max_text_slots: int = 16,
        page_text_max_chars: int = 6000,
        render_mode: str | None = None,
        browser: BrowserConfig | None = None,
    ):
        if action_mode not in ("text", "discrete"):
            raise ValueError(f"action_mode must be 'text' or 'discrete', got {action_mode!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.tasks: list[Task] = resolve_tasks(task)
        self.action_mode = action_mode
        self.observation_mode = observation_mode or ("text" if action_mode == "text" else "numeric")
        self.viewport = (int(viewport[0]), int(viewport[1]))
        self.screenshot_size = tuple(screenshot_size or (self.viewport[1], self.viewport[0]))
        self.max_steps = max_steps
        self.page_text_max_chars = page_text_max_chars
        self.render_mode = render_mode
        self.codec = DiscreteActionCodec(max_elements, max_text_slots)
        self.browser_config = replace(browser or BrowserConfig(), viewport=self.viewport)
        h, w = self.screenshot_size
        self.observation_space = observation_space(
            self.observation_mode, (h, w, 3), page_text_max_chars, max_elements, max_text_slots
        )
        self.action_space: spaces.Space[Any] = (
            spaces.Text(max_length=2000, min_length=0)
            if action_mode == "text"
            else spaces.MultiDiscrete(np.array(self.codec.nvec, dtype=np.int64))
        )
        #: Whether observations carry a screenshot. Rollouts that never look at the screen (MCTS-P,
        #: tree search) turn it off for speed; the screenshot is then all zeros.
        self.capture_screenshots = True
        self._session: BrowserSession | None = None
        self._crash: str | None = None
        self._task: Task | None = None
        self._instance: TaskInstance | None = None
        self._plan: list[OracleStep] | None = None
        self._plan_of: TaskInstance | None = None
        self._reset_state()

    # ------------------------------------------------------------------ gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Starts an episode.

        Args:
            seed: Fixes the task drawn and the instance: same seed, same first observation.
            options: ``{"task": id}`` picks the task of this episode among the env's tasks.

        Returns:
            The first observation and the info dict.
        """
        super().reset(seed=seed)
        task = self._pick_task(options)
        instance_seed = int(self.np_random.integers(2**31 - 1))
        relaunched = self._ensure_browser()
        assert self._session is not None
        try:
            instance = task.start(self._session, instance_seed)
        except BrowserCrashed:
            self._session.relaunch()
            relaunched = True
            instance = task.start(self._session, instance_seed)
        self._task, self._instance = task, instance
        self._reset_state()
        obs, _status = self._observe()
        self._preload()
        info = self._info(action=None)
        if relaunched:
            info["browser_relaunched"] = True
        return obs, info

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Executes one action.

        Returns:
            ``(observation, reward, terminated, truncated, info)``. ``terminated`` when the task
            is over (own suite: goal reached; MiniWoB++: the page ended the episode);
            ``truncated`` at the step limit or when the browser died (``info["browser_error"]``).
        """
        if self._task is None or self._instance is None or self._session is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        if self._done or self._truncated or self._crash is not None:
            info = self._info(action=None)
            info["action_error"] = "the episode is over; call reset()"
            over = self._truncated or self._crash is not None
            return _copy_obs(self._last_obs), 0.0, self._done, over, info
        self._step += 1
        parsed, error = self._decode(action)
        # The element the action names, as the page showed it before the action.
        self._last_target = self._target(parsed)
        if parsed is not None:
            expected = self.oracle_next()
            try:
                error = self._execute(parsed)
                if error is None:
                    self._actions.append(parsed.to_text())
                    if expected is not None and parsed.to_text() == expected:
                        self._plan_progress += 1
            except BrowserCrashed as e:
                return self._crashed(str(e), parsed)
        self._last_error = error or ""
        try:
            obs, status = self._observe()
        except BrowserCrashed as e:
            return self._crashed(str(e), parsed)
        outcome = self._task.outcome(self._instance, status)
        self._done = outcome.done
        self._success = outcome.success
        truncated = not outcome.done and self._step >= self._step_limit()
        self._truncated = truncated
        info = self._info(action=parsed)
        return obs, outcome.reward, outcome.done, truncated, info

    def render(self) -> np.ndarray | None:
        """Returns the last screenshot in ``"rgb_array"`` mode."""
        if self.render_mode != "rgb_array":
            return None
        return None if self._last_shot is None else self._last_shot.copy()

    def close(self) -> None:
        """Closes the browser; no Chromium process is left behind."""
        if self._session is not None:
            self._session.close()
            self._session = None
        super().close()

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> EnvSnapshot:
        """Captures the current episode so that :meth:`restore` can put it back exactly."""
        if self._task is None or self._instance is None or self._session is None:
            raise gym.error.ResetNeeded("call reset() before snapshot()")
        return EnvSnapshot(
            instance=self._instance,
            step=self._step,
            actions=tuple(self._actions),
            done=self._done,
            success=self._success,
            last_error=self._last_error,
            page=self._task.page_state(self._session),
            plan_progress=self._plan_progress,
        )

    def restore(self, snap: EnvSnapshot) -> dict[str, Any]:
        """Puts the episode back to ``snap``; stepping on behaves as it did after the snapshot.

        Own-suite tasks restore the app state directly; MiniWoB++ tasks are restarted from the
        seed and the action prefix is replayed.

        Returns:
            The observation at the snapshot.
        """
        self._ensure_browser()
        assert self._session is not None
        task = get_task(snap.instance.task_id)
        if not task.restore_page(self._session, snap.instance, snap.page):
            for text in snap.actions:
                self._page_elements()
                error = self._execute(parse_action(text))
                if error:
                    raise BrowserError(f"replaying {text!r} failed: {error}")
        self._task, self._instance = task, snap.instance
        self._reset_state()
        self._step, self._actions = snap.step, list(snap.actions)
        self._done, self._success, self._last_error = snap.done, snap.success, snap.last_error
        self._plan_progress = snap.plan_progress
        obs, _ = self._observe()
        self._preload()
        return obs

    # ------------------------------------------------------------------ helpers for users

    @property
    def instance(self) -> TaskInstance | None:
        """The current task instance (instruction, seed, params, metadata)."""
        return self._instance

    @property
    def browser(self) -> BrowserSession | None:
        """The browser session (``None`` before the first reset and after close)."""
        return self._session

    @property
    def elements(self) -> list[dict[str, Any]]:
        """The elements of the last observation (id, role, name, key, box, ...)."""
        return list(self._elements)

    def decode_action(self, action: Any) -> str:
        """Returns the text action a discrete (or text) action stands for.

        Raises:
            ActionError: If the action is invalid at the current state.
        """
        parsed, error = self._decode(action)
        if parsed is None:
            raise ActionError(error or "invalid action")
        return parsed.to_text()

    def action_masks(self) -> np.ndarray:
        """Which discrete action indices can name something now (discrete mode).

        The masks of type, element slot and text slot, concatenated, as sb3-contrib's
        ``MaskablePPO`` reads them (see :meth:`DiscreteActionCodec.masks`). A masked-out index
        would only give an "empty slot" error.

        Raises:
            RuntimeError: In text action mode (there is nothing to mask).
        """
        if self.action_mode != "discrete":
            raise RuntimeError("action_masks() is for action_mode='discrete'")
        counts = [len(el["options"]) for el in self._elements if el.get("options")]
        slots = len(self._instance.text_slots) if self._instance else 0
        return self.codec.masks(len(self._elements), slots, counts)

    def action_info(self, action: Any) -> dict[str, Any]:
        """What ``info`` would say about ``action`` if it were stepped now, without stepping.

        Search and reward wrappers score candidate actions with this before executing any.

        Returns:
            ``{"action": canonical text or None, "action_target": str, "action_error": str or
            None}``, as :meth:`step`'s info has them (the error only for undecodable actions).
        """
        parsed, error = self._decode(action)
        return {
            "action": None if parsed is None else parsed.to_text(),
            "action_target": self._target(parsed),
            "action_error": error,
        }

    def valid_actions(self) -> list[str]:
        """Text actions that are well-formed and name existing elements at this state."""
        acts = ["noop()", 'press("Enter")', 'scroll("down")', 'scroll("up")']
        slots = self._instance.text_slots if self._instance else ()
        for el in self._elements:
            i = el["id"]
            if el.get("disabled"):
                continue
            acts.append(f"click({i})")
            if el.get("options"):
                acts.extend(Action("select", element=i, text=o).to_text() for o in el["options"])
            elif el["role"] in ("textbox", "searchbox", "spinbutton") or "value" in el:
                acts.extend(Action("fill", element=i, text=s).to_text() for s in slots)
        return acts

    def oracle_plan(self) -> list[OracleStep] | None:
        """Returns the current instance's oracle plan (elements named by ``data-key``), if any."""
        if self._task is None or self._instance is None:
            return None
        if self._plan_of is not self._instance:  # plans are pure in the instance: build once
            self._plan, self._plan_of = self._task.oracle(self._instance), self._instance
        return None if self._plan is None else list(self._plan)

    @property
    def plan_progress(self) -> int:
        """Oracle plan steps done so far in this episode.

        A step counts when the executed action equals the plan's next step on the page as it
        was, so an episode that wanders off and comes back keeps its place in the plan.
        """
        return self._plan_progress

    def oracle_next(self) -> str | None:
        """Returns the oracle's next action from the current state, as a text action.

        ``None`` when the task has no oracle, the plan is done, or the element the plan's next
        step names is not on the page (the episode went off the plan's path).
        """
        plan = self.oracle_plan()
        if plan is None or self._plan_progress >= len(plan):
            return None
        try:
            return self.oracle_step(self._plan_progress)
        except KeyError:
            return None

    def oracle_step(self, index: int) -> str:
        """Returns step ``index`` of the oracle plan as a text action on the current page.

        Raises:
            KeyError: If the plan's element is not on the page.
        """
        plan = self.oracle_plan()
        if plan is None:
            raise KeyError("this task has no oracle")
        step = plan[index]
        if step.verb in ("press", "scroll"):
            return Action(step.verb, text=step.text).to_text()
        ids = [el["id"] for el in self._elements if step.matches(el)]
        if len(ids) <= step.nth:
            raise KeyError(f"oracle step {index}: no element matches {step}")
        return Action(step.verb, element=ids[step.nth], text=step.text).to_text()

    # ------------------------------------------------------------------ internals

    def _reset_state(self) -> None:
        self._step = 0
        self._actions: list[str] = []
        self._done = False
        self._truncated = False
        self._success = False
        self._last_error = ""
        self._last_target = ""
        self._plan_progress = 0
        self._crash = None
        self._elements: list[dict[str, Any]] = []
        self._page_text = ""
        self._last_obs: dict[str, Any] = {}
        self._last_shot: np.ndarray | None = None

    def _pick_task(self, options: dict[str, Any] | None) -> Task:
        wanted = (options or {}).get("task")
        if wanted is not None:
            for t in self.tasks:
                if t.id == wanted:
                    return t
            raise KeyError(f"options['task']={wanted!r} is not one of this env's tasks")
        if len(self.tasks) == 1:
            return self.tasks[0]
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _ensure_browser(self) -> bool:
        """Starts the browser, or relaunches a dead one; returns whether it relaunched."""
        if self._session is None:
            mounts: dict[str, Path] = {"apps": APPS_DIR}
            html = miniwob_html_dir()
            if html is not None:
                mounts["miniwob"] = html
            self._session = BrowserSession(self.browser_config, mounts)
            return False
        if not self._session.alive:
            self._session.relaunch()
            return True
        return False

    def _step_limit(self) -> int:
        assert self._task is not None
        return self.max_steps or self._task.max_steps

    def _decode(self, action: Any) -> tuple[Action | None, str | None]:
        try:
            if self.action_mode == "text":
                if isinstance(action, Action):
                    return action, None
                return parse_action(action), None
            options = {el["id"]: el["options"] for el in self._elements if el.get("options")}
            ids = [el["id"] for el in self._elements]
            slots = list(self._instance.text_slots) if self._instance else []
            return self.codec.decode(action, ids, slots, options), None
        except ActionError as e:
            return None, f"invalid action: {e}"

    def _target(self, parsed: Action | None) -> str:
        return "" if parsed is None else describe_element(find_target(parsed, self._elements))

    def _execute(self, a: Action) -> str | None:
        """Runs one action in the page; returns an error message or ``None``."""
        s = self._session
        assert s is not None
        try:
            if a.verb == "noop":
                return None
            if a.verb in ("click", "hover", "fill"):
                target = s.evaluate("(i) => window.__similar.target(i)", a.element)
                if "error" in target:
                    return target["error"]
                if a.verb == "hover":
                    s.mouse_move(target["x"], target["y"])
                    return None
                s.mouse_click(target["x"], target["y"])
                if a.verb == "click":
                    return None
                err = s.evaluate("(i) => window.__similar.prepareFill(i)", a.element)
                if err:
                    return err
                if a.text:
                    s.insert_text(a.text)
                else:
                    s.press("Delete")
                return None
            if a.verb == "select":
                return s.evaluate(
                    "([i, t]) => window.__similar.selectOption(i, t)", [a.element, a.text]
                )
            if a.verb == "press":
                s.press(a.text or "")
                return None
            if a.verb == "type":
                s.type_text(a.text or "")
                return None
            if a.verb == "scroll":
                return s.evaluate("(d) => window.__similar.scroll(d)", a.text)
            if a.verb == "click_at":
                s.mouse_click(*a.coords)
                return None
            if a.verb == "drag":
                s.mouse_drag(*a.coords)
                return None
        except BrowserCrashed:
            raise
        except BrowserError as e:
            return f"{a.verb} failed: {e}"
        return f"unsupported verb {a.verb}"

    def _page_reader(self) -> str:
        """The page function that reads the elements, the text view and the task's status."""
        assert self._task is not None
        return (
            f"() => [window.__similar.observe({self.page_text_max_chars}), "
            f"({self._task.status_js})()]"
        )

    def _page_elements(self) -> Any:
        assert self._session is not None
        return self._session.evaluate_json(self._page_reader())

    def _preload(self) -> None:
        """Lets the browser load the next fresh copy of this page while the episode runs."""
        assert self._session is not None
        # Only the next reset's speed depends on it; a browser that died shows at the next step.
        with contextlib.suppress(BrowserError):
            self._session.preload()

    def _observe(self) -> tuple[dict[str, Any], Any]:
        assert self._session is not None and self._instance is not None
        (page, status), image = self._session.observe(
            self._page_reader(),
            size=self.screenshot_size,  # type: ignore[arg-type]
            screenshot=self.capture_screenshots,
        )
        shot = np.zeros((*self.screenshot_size, 3), dtype=np.uint8) if image is None else image
        self._elements = page["elements"]
        self._page_text = page["text"]
        self._last_shot = shot
        if self.observation_mode == "text":
            obs: dict[str, Any] = {
                "screenshot": shot,
                "instruction": sanitize(self._instance.instruction, MAX_INSTRUCTION_CHARS),
                "page_text": sanitize(page["text"], self.page_text_max_chars),
                "url": sanitize(page["url"], MAX_URL_CHARS),
                "last_action_error": sanitize(self._last_error, MAX_ERROR_CHARS),
            }
        else:
            obs = {
                "screenshot": shot,
                **encode_numeric(
                    self._instance.instruction,
                    self._elements,
                    self._instance.text_slots,
                    self.viewport,
                    self.codec.max_elements,
                    self.codec.max_text_slots,
                ),
            }
        self._last_obs = obs
        return obs, status

    def _info(self, action: Action | None) -> dict[str, Any]:
        assert self._instance is not None
        return {
            "task_id": self._instance.task_id,
            "seed": self._instance.seed,
            "step": self._step,
            "success": self._success,
            "action": None if action is None else action.to_text(),
            "action_target": self._last_target if action is not None else "",
            "action_error": self._last_error or None,
            "instruction": self._instance.instruction,
            "page_text": self._page_text,
            "text_slots": list(self._instance.text_slots),
            "valid_actions": self.valid_actions(),
        }

    def _crashed(
        self, message: str, action: Action | None
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self._crash = message
        self._last_error = f"browser error: {message}"
        info = self._info(action=action)
        info["browser_error"] = message
        return _copy_obs(self._last_obs), 0.0, False, True, info


def _copy_obs(obs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in obs.items()}
