"""MiniWoB++ tasks, served from the pages that the ``miniwob`` PyPI package ships (MIT licence).

Each page ``miniwob/html/miniwob/<name>.html`` becomes task ``miniwob/<name>``. An instance is
seeded through the page's own seeding (``Math.seedrandom(seed)`` before ``core.startEpisodeReal()``,
as the Farama package does), and the reward is read from the page (``WOB_RAW_REWARD_GLOBAL``, the
reward before MiniWoB's time discount, so that it does not depend on the machine's speed).
For the same reason MiniWoB's wall-clock episode timer (10 s on most pages) is switched off: an
agent that thinks for a minute per step sees the same episode as a fast one, and the env's step
limit bounds the episode instead. Every episode starts on a freshly loaded page, with jQuery
animations made instant, images loaded and the text caret hidden, so that one seed and one action
sequence give the same observations; pages that move in real time (``chase-circle``,
``moving-items``, ``stock-market``, ``simon-says``...) stay nondeterministic, as ``python -m
experiments.miniwob_coverage`` reports. Text slots are the fields the page declares, else those
that the ``miniwob`` package's own field extractors read from the goal, else the goal's quoted
parts.
A page cannot be snapshotted from outside, so the env restores MiniWoB tasks by replaying the
action prefix from the seed. The pages of the SRM splits have oracle plans
(:mod:`similar_gym.tasks.miniwob_oracles`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from similar_gym.browser import BrowserSession
from similar_gym.tasks.base import OracleStep
from similar_gym.tasks.miniwob_oracles import miniwob_plan
from similar_gym.tasks.task import Outcome, Task, TaskInstance

# Starts an episode on a freshly loaded page, in one call into the page. Besides seeding, it
# hides what would make the screenshots of one seed differ between runs: MiniWoB's reward/timer
# panel and click visualiser (wall-clock state) and the blinking text caret (hidden as in
# Playwright's screenshots); makes jQuery animations instant (as the pages' -nodelay variants do
# for some widgets), so the page has settled by the time the env observes it; and switches off
# the wall-clock episode timer. It then waits (boundedly) for pages that prepare asynchronously
# (``WOB_TASK_READY``), and loads every image the page shows now or may show later (its <img>
# elements and the url(...)s of its style sheets: icons that appear after a click, sprites of
# jQuery UI) into the renderer's memory, so that no screenshot catches an icon still loading
# (a loaded image is decoded when a frame first draws it). It returns the goal.
_START = r"""async ([seed, readyTimeoutMs]) => {
  if (typeof core === 'undefined' || typeof genProblem === 'undefined') {
    return {error: 'not a MiniWoB page'};
  }
  const style = document.createElement('style');
  style.textContent = '#reward-display, #click-canvas { display: none !important; } ' +
    '* { caret-color: transparent !important; }';
  document.head.appendChild(style);
  if (window.jQuery) window.jQuery.fx.off = true;
  Math.seedrandom(String(seed));
  core.startEpisodeReal();
  // The handle stays non-null: core.endEpisode rewards only while it is set.
  clearTimeout(core.EP_TIMER);
  core.EP_TIMER = -1;
  const deadline = Date.now() + readyTimeoutMs;
  while (typeof WOB_TASK_READY !== 'undefined' && !WOB_TASK_READY && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const urls = new Set(Array.from(document.images, (img) => img.src).filter(Boolean));
  for (const sheet of document.styleSheets) {
    try {
      for (const rule of sheet.cssRules) {
        for (const m of rule.cssText.matchAll(/url\(["']?([^"')]+)["']?\)/g)) {
          urls.add(new URL(m[1], sheet.href || document.baseURI).href);
        }
      }
    } catch (e) {
      // A sheet whose rules cannot be read has no images to wait for.
    }
  }
  await Promise.all(Array.from(urls, (url) => new Promise((done) => {
    const img = new Image();
    img.onload = img.onerror = done;
    img.src = url;
  })));
  await document.fonts.ready;
  const u = core.getUtterance();
  if (typeof u === 'string') return {utterance: u, fields: {}};
  return {utterance: u.utterance, fields: u.fields || {}};
}"""


@functools.cache
def miniwob_html_dir() -> Path | None:
    """Returns the folder of MiniWoB++ pages from the ``miniwob`` package, if installed."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("miniwob")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    html = Path(next(iter(spec.submodule_search_locations))) / "html"
    return html if (html / "miniwob").is_dir() else None


def miniwob_task_names() -> list[str]:
    """Returns the names of all MiniWoB++ task pages, sorted (empty without the package)."""
    html = miniwob_html_dir()
    if html is None:
        return []
    return sorted(p.stem for p in (html / "miniwob").glob("*.html"))


class MiniWoBTask(Task):
    """One MiniWoB++ page as a task.

    Args:
        name: Page name, e.g. ``"click-test"``.
        max_steps: Step limit of an episode.
    """

    suite = "miniwob"
    oracle_length = None
    status_js = "() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL, WOB_REWARD_REASON]"
    ready_timeout_s = 2.0

    def __init__(self, name: str, max_steps: int = 20):
        self.id = f"miniwob/{name}"
        self.app = name
        self.description = f"MiniWoB++ {name}"
        self.max_steps = max_steps
        self.page = f"/miniwob/miniwob/{name}.html"

    def start(self, session: BrowserSession, seed: int) -> TaskInstance:
        """Loads the page afresh and starts an episode seeded with ``seed``.

        Every episode gets a new document, so that nothing the last episode did (focus, typed
        values, widget state, event handlers) carries over; the mouse is parked in the
        viewport's far corner, where it hovers over nothing; the page's images are loaded
        before the first observation.
        """
        session.open(self.page, fresh=True)
        session.park_mouse()
        utterance = session.evaluate(_START, [seed, int(self.ready_timeout_s * 1000)])
        if "error" in utterance:
            raise RuntimeError(f"{self.id}: {utterance['error']}")
        return TaskInstance(
            task_id=self.id,
            seed=seed,
            instruction=utterance["utterance"],
            text_slots=tuple(_text_slots(self.app, utterance["utterance"], utterance["fields"])),
            params={"fields": utterance["fields"]},
        )

    def outcome(self, instance: TaskInstance, status: Any) -> Outcome:
        """Done when the page says so; the reward is the page's raw reward in [-1, 1]."""
        done, raw, _reason = status
        if not done:
            return Outcome(reward=0.0, success=False, done=False)
        reward = float(raw)
        return Outcome(reward=reward, success=reward > 0, done=True)

    def oracle(self, instance: TaskInstance) -> list[OracleStep] | None:
        """Returns the plan of :mod:`similar_gym.tasks.miniwob_oracles`, for pages that have one.

        The goal's fields are those the page declares, else those the ``miniwob`` package's
        extractor of the page reads from the goal. An instance whose goal lacks a field its
        page's plan needs has no oracle (``None``), as a page without a plan.
        """
        fields = _goal_fields(self.app, instance.instruction, instance.params.get("fields", {}))
        try:
            return miniwob_plan(self.app, dict(fields))
        except ValueError:
            return None

    def page_state(self, session: BrowserSession) -> Any:
        """MiniWoB pages cannot be snapshotted; the env replays instead."""
        return None

    def restore_page(self, session: BrowserSession, instance: TaskInstance, state: Any) -> bool:
        """Restarts the instance; the env then replays the action prefix."""
        self.start(session, instance.seed)
        return False


def _text_slots(name: str, utterance: str, fields: dict[str, Any]) -> list[str]:
    """Strings worth typing or selecting in one instance, without repeats.

    Args:
        name: Page name, e.g. ``"login-user"``.
        utterance: The instance's goal.
        fields: The fields the page itself declares (the ``-nl`` email pages do).

    Returns:
        The declared fields' values, else the values that the ``miniwob`` package's field
        extractor of the page reads from the goal, else the goal's quoted parts.
    """
    pairs = _goal_fields(name, utterance, fields)
    values = [v for k, v in pairs if k != "dummy" and v.strip()]
    if not values:
        values = re.findall(r'"([^"]+)"', utterance)
    return list(dict.fromkeys(values))


def _goal_fields(name: str, utterance: str, declared: dict[str, Any]) -> list[tuple[str, str]]:
    """The goal's fields: those the page declares, else those its extractor reads from the goal."""
    return [(str(k), str(v)) for k, v in declared.items()] or _extracted_fields(name, utterance)


def _extracted_fields(name: str, utterance: str) -> list[tuple[str, str]]:
    """The fields that the ``miniwob`` package's extractor of page ``name`` reads from the goal."""
    from miniwob.fields import FIELD_EXTRACTORS

    extractor = FIELD_EXTRACTORS.get(name)
    if extractor is None:
        return []
    try:
        return [(str(k), str(v)) for k, v in extractor(utterance)]
    except ValueError:
        return []
