"""BrowserGymAdapter: action strings and page text here, a real BrowserGym env in the peers' venv.

BrowserGym pins Playwright 1.44, so it lives in ``.venv-peers`` (``scripts/setup.sh --peers``),
not in this venv. The unit tests below use hand-made BrowserGym-like observations and a stand-in
for ``browsergym.utils.obs``; the ``peers`` test runs ``browsergym_peer_episode.py`` (next to
this file) with the peers' Python (``$SIMILAR_PEER_PYTHON``, default ``.venv-peers/bin/python``)
and checks what the reward model was given. That script documents how BrowserGym is made to use
Debian's Chromium and the ``miniwob`` package's pages offline. Run it with::

    python -m pytest -m peers tests/wrappers/test_browsergym_adapter.py
"""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from similar_gym.actions import Action
from wrappers.adapters import AdapterError, BrowserGymAdapter, default_adapter

ROOT = Path(__file__).resolve().parents[2]
EPISODE = Path(__file__).with_name("browsergym_peer_episode.py")


def _node(node_id, role, name=None, bid=None, value=None, children=()):
    node = {"nodeId": node_id, "role": {"type": "role", "value": role}, "childIds": list(children)}
    if name is not None:
        node["name"] = {"type": "computedString", "value": name}
    if value is not None:
        node["value"] = {"type": "string", "value": value}
    if bid is not None:
        node["browsergym_id"] = bid
    return node


def _flatten_axtree_to_str(tree):
    """A small stand-in for BrowserGym's flattener: ``[bid] role 'name' value='v'`` lines."""
    nodes = {n["nodeId"]: n for n in tree["nodes"]}

    def lines(node_id, depth):
        node = nodes[node_id]
        text = f"{node['role']['value']} {node.get('name', {}).get('value', '')!r}"
        if "browsergym_id" in node:
            text = f"[{node['browsergym_id']}] {text}"
        if "value" in node:
            text += f" value={node['value']['value']!r}"
        yield "\t" * depth + text
        for child in node["childIds"]:
            yield from lines(child, depth + 1)

    return "\n".join(lines(tree["nodes"][0]["nodeId"], 0))


@pytest.fixture
def fake_browsergym(monkeypatch):
    """Makes ``browsergym.utils.obs`` importable here, with the stand-in flatteners."""
    obs_module = types.ModuleType("browsergym.utils.obs")
    obs_module.flatten_axtree_to_str = _flatten_axtree_to_str
    obs_module.flatten_dom_to_str = lambda dom: f"<dom {dom['documents']}>"
    for name in ("browsergym", "browsergym.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "browsergym.utils.obs", obs_module)
    return obs_module


def _login_obs():
    """A BrowserGym-like observation of a login form."""
    tree = {
        "nodes": [
            _node("1", "RootWebArea", "Login", children=["2", "3", "4"]),
            _node("2", "textbox", "Username", bid="16", value="ada"),
            _node("3", "textbox", "Password", bid="19"),
            _node("4", "button", "Login", bid="20"),
        ]
    }
    return {
        "goal": "legacy goal text",
        "goal_object": ({"type": "text", "text": 'Log in as "ada".'},),
        "screenshot": np.zeros((4, 6, 3), dtype=np.uint8),
        "axtree_object": tree,
        "dom_object": {"documents": []},
        "last_action": "",
        "last_action_error": "",
    }


@pytest.mark.parametrize(
    ("raw", "mapped"),
    [
        ("click('20')", Action("click", element=20)),
        ("  click(bid='20')\n", Action("click", element=20)),
        ("fill('16', 'Ada \"L\"')", Action("fill", element=16, text='Ada "L"')),
        ('fill("16", value="x")', Action("fill", element=16, text="x")),
        ("hover('3')", Action("hover", element=3)),
        ("select_option('7', 'Blue')", Action("select", element=7, text="Blue")),
        ("keyboard_press('Enter')", Action("press", text="Enter")),
        ("keyboard_type('hello')", Action("type", text="hello")),
        ("noop()", Action("noop")),
        ("click('20')  # the login button", Action("click", element=20)),
    ],
)
def test_exact_browsergym_actions_become_similar_actions(raw, mapped):
    assert BrowserGymAdapter.action(raw) == mapped


@pytest.mark.parametrize(
    "raw",
    [
        "click('a12')",  # a bid inside an iframe
        "click('012')",  # would not read back as the same bid
        "click('20', button='right')",
        "fill('16', 'x', enable_autocomplete_menu=True)",
        "press('19', 'Enter')",  # focuses the element first: not Similar's press("Enter")
        "scroll(0, 100)",
        "mouse_click(10.5, 20)",
        "noop(500)",
        "select_option('7', ['a', 'b'])",
        "keyboard_press('#')",  # not a key name of Similar's grammar
        "click('1') click('2')",
        "click(bid)",
        "page.click('1')",
        "__import__('os').system('true')",
        "click(*['1'])",
        "fill('16', 'x' * 3)",
        "not even python (",
        "",
    ],
)
def test_other_actions_keep_their_raw_string_and_are_never_run(raw):
    assert BrowserGymAdapter.action(raw) == raw.strip()


def test_bid_of_an_action():
    assert BrowserGymAdapter.bid("press('19', 'Enter')") == "19"
    assert BrowserGymAdapter.bid("click(bid='a12', button='right')") == "a12"
    assert BrowserGymAdapter.bid("drag_and_drop('4', '9')") == "4"
    assert BrowserGymAdapter.bid("scroll(0, 100)") is None
    assert BrowserGymAdapter.bid("click(12)") is None, "bids are strings"
    assert BrowserGymAdapter.bid("click('1') click('2')") is None


def test_context_of_a_browsergym_step(fake_browsergym):
    obs = _login_obs()
    adapter = BrowserGymAdapter()
    ctx = adapter.context(obs, {}, "fill('16', 'ada')", {}, ("noop()",), 1)
    assert ctx.instruction == 'Log in as "ada".', "the goal_object's text, not the legacy goal"
    assert ctx.page_text == _flatten_axtree_to_str(obs["axtree_object"])
    assert "\t[16] textbox 'Username' value='ada'" in ctx.page_text
    assert ctx.action == 'fill(16, "ada")'
    assert ctx.target == 'textbox "Username" value="ada"'
    assert ctx.screenshot is obs["screenshot"]
    assert (ctx.history, ctx.step_idx, ctx.task_id) == (("noop()",), 1, "")
    assert ctx.extras["browsergym_action"] == "fill('16', 'ada')"
    raw = adapter.context(obs, {}, "press('19', 'Enter')", {}, (), 0)
    assert (raw.action, raw.target) == ("press('19', 'Enter')", 'textbox "Password"')
    unknown = adapter.context(obs, {}, "click('99')", {}, (), 0)
    assert (unknown.action, unknown.target) == ("click(99)", "")


def test_page_text_falls_back_to_the_dom_and_is_cut(fake_browsergym):
    obs = _login_obs()
    short = BrowserGymAdapter(max_page_chars=30).page_text(obs)
    assert short == _flatten_axtree_to_str(obs["axtree_object"])[:30] + (
        "\n... (page text truncated)"
    )
    del obs["axtree_object"]
    assert BrowserGymAdapter().page_text(obs) == "<dom []>"
    target = BrowserGymAdapter.element(obs, "16", "\t[16] textbox 'Username'\n\t[19] x")
    assert target == "textbox 'Username'", "without an axtree: the bid's line of the page text"


def test_missing_observation_parts_are_named(fake_browsergym):
    adapter = BrowserGymAdapter()
    obs = _login_obs()
    del obs["goal"], obs["goal_object"]
    with pytest.raises(AdapterError, match="'goal_object' or 'goal'"):
        adapter.context(obs, {}, "noop()", {}, (), 0)
    obs = _login_obs()
    del obs["axtree_object"], obs["dom_object"]
    with pytest.raises(AdapterError, match="'axtree_object' or 'dom_object'"):
        adapter.context(obs, {}, "noop()", {}, (), 0)
    with pytest.raises(AdapterError, match="not BrowserGym's dict"):
        adapter.context(np.zeros(3), {}, "noop()", {}, (), 0)
    obs = _login_obs()
    obs["goal_object"] = ()
    assert adapter.instruction(obs) == "legacy goal text"


def test_without_browsergym_the_page_text_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "browsergym.utils.obs", None)
    with pytest.raises(ImportError, match="install browsergym-core"):
        BrowserGymAdapter().page_text(_login_obs())


def test_default_adapter_picks_it_for_browsergym_envs():
    browser_env = type("BrowserEnv", (gym.Env,), {"__module__": "browsergym.core.env"})
    env = browser_env()
    env.spec = gym.envs.registration.EnvSpec("browsergym/miniwob.login-user")
    adapter = default_adapter(env)
    assert isinstance(adapter, BrowserGymAdapter)
    assert adapter.task_id == "browsergym/miniwob.login-user"
    assert "browsergym" not in sys.modules, "detected without importing BrowserGym"


def _peer_python() -> Path:
    python = Path(os.environ.get("SIMILAR_PEER_PYTHON", ".venv-peers/bin/python"))
    return python if python.is_absolute() else ROOT / python


@pytest.mark.peers
def test_real_browsergym_steps_become_similar_contexts():
    python = _peer_python()
    if not python.exists():
        pytest.skip(
            f"no peers' Python at {python}: make it with `bash scripts/setup.sh --peers` "
            "or set SIMILAR_PEER_PYTHON"
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [str(python), str(EPISODE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in report:
        pytest.skip(report["skip"])
    assert report["adapter"] == "BrowserGymAdapter", "default_adapter picked it"
    assert not report["torch_imported"], "the wrapper and the adapter import without torch"
    bids, user, password = report["bids"], report["user"], report["password"]
    fill_user, fill_password, press, click = report["contexts"]
    for i, ctx in enumerate(report["contexts"]):
        assert ctx["instruction"] == report["goal"] and user in ctx["instruction"]
        assert ctx["task_id"] == "browsergym/miniwob.login-user" and ctx["step_idx"] == i
        assert ctx["screenshot"][1] == "uint8" and ctx["screenshot"][0][2] == 3
        assert f"[{bids['login']}] button 'Login'" in ctx["page_text"]
    assert f"[{bids['user']}] textbox ''" in fill_user["page_text"]
    assert fill_user["action"] == f'fill({bids["user"]}, "{user}")'
    assert fill_user["target"] == 'textbox ""' and fill_user["history"] == []
    assert f"[{bids['user']}] textbox '' value='{user}'" in fill_password["page_text"]
    assert fill_password["action"] == f'fill({bids["password"]}, "{password}")'
    assert fill_password["history"] == [f'{fill_user["action"]} on textbox ""']
    assert press["action"] == f"press('{bids['password']}', 'End')", "no exact Similar action"
    assert press["target"].startswith('textbox "" value='), "the password field, filled"
    assert click["action"] == f"click({bids['login']})" and click["target"] == 'button "Login"'
    assert len(click["history"]) == 3 and click["history"][2].startswith(press["action"] + " on")
    assert [s["error"] for s in report["steps"]] == [""] * 4
    *_, last = report["steps"]
    assert last["terminated"] and last["similar"]["similar"] == 0.5
    assert last["reward"] == pytest.approx(1.0 + 0.5), "MiniWoB's success plus the Similar reward"
