"""Tests of the TR/C judges: shared coherence rules, oracle, embedding, auto and LLM judges.

No browser: requests are built by hand. The LLM judge talks to a real HTTP server on
127.0.0.1 run by this module in a thread. The embedding judge loads all-MiniLM-L6-v2 once per
module (a few seconds, offline).

The embedding judge's default threshold (0.45) was chosen by measuring its agreement with the
oracle judge on the own suite (see ``EmbeddingJudge``'s docstring); the cases below are ones
where rules or a clear similarity margin decide, plus one pinned known false positive.
"""

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from reward_model.judges import (
    AutoJudge,
    EmbeddingJudge,
    Judge,
    JudgeError,
    Judgement,
    JudgeRequest,
    LLMJudge,
    OracleJudge,
    clauses,
    coherence_rules,
    make_judge,
)
from similar_gym.records import StepContext, describe_action, describe_element
from similar_gym.tasks.base import TaskMeta

# ------------------------------------------------------------------------------- helpers


def el(i, role, name, key=None, **extra):
    return {
        "id": i,
        "role": role,
        "tag": "x",
        "name": name,
        "key": key,
        "box": [0, 0, 1, 1],
        "interactive": True,
        **extra,
    }


def req(action, target=None, history=(), meta=None, instruction="Do the task.", screenshot=None):
    """A request; ``history`` is a list of (action, target element) pairs, oldest first."""
    described = tuple(describe_action(a, describe_element(t)) for a, t in history)
    ctx = StepContext(
        instruction=instruction,
        history=described,
        screenshot=screenshot,
        page_text='[1] button "Buy"',
        action=action,
        target=describe_element(target),
        task_id="test/task",
        step_idx=len(history),
    )
    return JudgeRequest(
        context=ctx,
        target=target,
        history_actions=tuple(a for a, _ in history),
        history_targets=tuple(t for _, t in history),
        meta=meta,
    )


BUY = el(1, "button", "Buy", "buy")
WISH = el(2, "button", "Add to wishlist", "wishlist")
NAME = el(3, "textbox", "Name", "name")
NEXT = el(4, "button", "Next month", "month-next")
BOX = el(5, "checkbox", "Mentions by SMS", "notif-sms", checked=False)
RADIO_A = el(6, "radio", "Everyone", "vis-everyone", checked=False)
RADIO_B = el(7, "radio", "Only me", "vis-me", checked=False)
SIZE = el(8, "combobox", "Size", "size", options=["S", "M", "L"], value="S")


# ------------------------------------------------------------------- coherence rules


def c_of(r):
    return coherence_rules(r)[0]


def test_coherence_first_action_and_plain_sequence():
    assert coherence_rules(req("click(1)", BUY)) == (1, "follows from the earlier steps")
    assert c_of(req("click(1)", BUY, [('fill(3, "Ada")', NAME)])) == 1


def test_coherence_immediate_repeat():
    c, why = coherence_rules(req("click(1)", BUY, [("click(1)", BUY)]))
    assert c == 0 and "repeats" in why
    assert c_of(req('fill(3, "Ada")', NAME, [('fill(3, "Ada")', NAME)])) == 0
    # Not immediate: click A, click B, click A again.
    assert c_of(req("click(1)", BUY, [("click(1)", BUY), ("click(2)", WISH)])) == 1
    # Same id on a new page, other element: not a repeat.
    other = el(1, "button", "Confirm", "confirm")
    assert c_of(req("click(1)", other, [("click(1)", BUY)])) == 1


def test_coherence_repeat_of_stepper_controls_is_fine():
    assert c_of(req("click(4)", NEXT, [("click(4)", NEXT)])) == 1
    plus = el(9, "button", "+")
    assert c_of(req("click(9)", plus, [("click(9)", plus)])) == 1


def test_coherence_targetless_repeats():
    assert c_of(req('scroll("down")', None, [('scroll("down")', None)])) == 1
    assert c_of(req('press("Enter")', None, [('press("Enter")', None)])) == 0
    assert c_of(req('type("hi")', None, [('type("hi")', None)])) == 0
    assert c_of(req("noop()", None, [("noop()", None)])) == 1


def test_coherence_refill_with_other_value():
    history = [('fill(3, "Ada")', NAME), ("click(1)", BUY)]
    c, why = coherence_rules(req('fill(3, "Bob")', NAME, history))
    assert c == 0 and "'Ada'" in why
    # The same value again (not right after) is redundant but not a contradiction.
    assert c_of(req('fill(3, "Ada")', NAME, history)) == 1
    # Only the latest earlier value counts.
    history = [('fill(3, "Ada")', NAME), ('fill(3, "Bob")', NAME), ("click(1)", BUY)]
    assert c_of(req('fill(3, "Bob")', NAME, history)) == 1
    # Another field is free.
    email = el(10, "textbox", "E-mail", "email")
    assert c_of(req('fill(10, "x@y.z")', email, history)) == 1


def test_coherence_reselect_and_identity_without_keys():
    assert c_of(req('select(8, "M")', SIZE, [('select(8, "L")', SIZE)])) == 0
    a = el(11, "textbox", "City")
    b = el(12, "textbox", "City", value="Leeds")  # same role+name, other id, now has a value
    assert c_of(req('fill(12, "York")', b, [('fill(11, "Leeds")', a), ("click(1)", BUY)])) == 0
    c = el(13, "textbox", "Street")
    assert c_of(req('fill(13, "York")', c, [('fill(11, "Leeds")', a)])) == 1


def test_coherence_toggles():
    c, why = coherence_rules(req("click(5)", BOX, [("click(5)", BOX), ("click(1)", BUY)]))
    assert c == 0 and "undoing" in why
    # Clicked twice before (undone already): clicking again re-does it; after three, undoes.
    assert c_of(req("click(5)", BOX, [("click(5)", BOX), ("click(1)", BUY)] * 2)) == 1
    assert c_of(req("click(5)", BOX, [("click(5)", BOX), ("click(1)", BUY)] * 3)) == 0


def test_coherence_radios():
    assert c_of(req("click(6)", RADIO_A, [("click(6)", RADIO_A), ("click(1)", BUY)])) == 0
    assert c_of(req("click(6)", RADIO_A, [("click(6)", RADIO_A), ("click(7)", RADIO_B)])) == 1


def test_coherence_malformed_disabled_and_missing_option():
    assert coherence_rules(req("click(", None)) == (0, "the action does not parse")
    off = el(14, "button", "Pay", "pay", disabled=True)
    assert c_of(req("click(14)", off)) == 0
    assert c_of(req('select(8, "XL")', SIZE)) == 0
    assert c_of(req('select(8, "M")', SIZE)) == 1


def test_coherence_reads_described_history_when_actions_are_absent():
    """SRM records keep only ``context.history``; the rules read it back."""
    ctx = StepContext(
        instruction="Rename me.",
        history=('fill(3, "turn on the light") on textbox "Name"', 'click(1) on button "Buy"'),
        screenshot=None,
        page_text="",
        action='fill(3, "Bob")',
        target='textbox "Name" value="turn on the light"',
    )
    c, why = coherence_rules(JudgeRequest(ctx))
    assert c == 0 and "turn on the light" in why


# ---------------------------------------------------------------------------- oracle

META = TaskMeta(
    elements=("search", "buy", "size", "notif-sms", "both"),
    fields={"search": "red shoe", "size": "M", "notif-sms": "checked", "name": "Ada"},
    distractors=("wishlist", "both"),
)
SEARCH = el(20, "searchbox", "Search products", "search")


def oracle(*args, **kwargs):
    return OracleJudge().judge([req(*args, meta=META, **kwargs)])[0]


def test_oracle_relevant_and_distractor_elements():
    j = oracle("click(1)", BUY)
    assert (j.relevance, j.coherence, j.judge) == (1, 1, "oracle")
    j = oracle("click(2)", WISH)
    assert j.relevance == 0 and "distractor" in j.reason
    assert oracle("click(30)", el(30, "link", "Help", "help")).relevance == 0
    assert oracle("click(31)", el(31, "text", "Hello")).relevance == 0
    # A key the goal needs wins over the same key listed as a distractor.
    assert oracle("click(32)", el(32, "button", "Both", "both")).relevance == 1
    # A field of meta.fields that is not in meta.elements is relevant too.
    assert oracle('fill(3, "Ada")', NAME).relevance == 1


def test_oracle_fields_with_right_and_wrong_values():
    j = oracle('fill(20, "red shoe")', SEARCH)
    assert (j.relevance, j.coherence) == (1, 1)
    j = oracle('fill(20, "blue hat")', SEARCH)
    assert (j.relevance, j.coherence) == (1, 0) and "goal wants" in j.reason
    j = oracle('select(8, "L")', SIZE)
    assert (j.relevance, j.coherence) == (1, 0)
    assert (oracle('select(8, "M")', SIZE).coherence) == 1


def test_oracle_press_enter_after_relevant_fill():
    assert oracle('press("Enter")', None, [('fill(20, "red shoe")', SEARCH)]).relevance == 1
    assert oracle('press("Enter")', None, [("click(2)", WISH)]).relevance == 0
    assert oracle('press("Enter")', None).relevance == 0
    assert oracle('press("Tab")', None, [('fill(20, "red shoe")', SEARCH)]).relevance == 0


def test_oracle_targetless_and_hover_are_irrelevant():
    for action, target in (
        ("noop()", None),
        ('scroll("down")', None),
        ("hover(1)", BUY),
        ("click_at(3, 4)", None),
    ):
        j = oracle(action, target)
        assert j.relevance == 0, action
        assert j.coherence == 1, action


def test_oracle_checkbox_state():
    assert (oracle("click(5)", BOX).relevance, oracle("click(5)", BOX).coherence) == (1, 1)
    on = {**BOX, "checked": True}
    j = oracle("click(5)", on)
    assert (j.relevance, j.coherence) == (1, 0) and "already" in j.reason


def test_oracle_uses_shared_rules():
    j = oracle("click(1)", BUY, [("click(1)", BUY)])
    assert (j.relevance, j.coherence) == (1, 0)


def test_oracle_needs_meta():
    with pytest.raises(ValueError, match="metadata"):
        OracleJudge().judge([req("click(1)", BUY)])


def test_oracle_unparsable_action():
    j = oracle("click(1", None)
    assert (j.relevance, j.coherence) == (0, 0)


# ------------------------------------------------------------------------- embedding


@pytest.fixture(scope="module")
def emb():
    judge = EmbeddingJudge()
    assert judge.encoder._model is None  # lazy
    return judge


def tr(judge, *args, **kwargs):
    return judge.judge([req(*args, **kwargs)])[0]


SUBMIT_INSTR = 'Click on the "submit" button.'


def test_embedding_named_button(emb):
    assert tr(emb, "click(1)", el(1, "button", "submit"), instruction=SUBMIT_INSTR).relevance == 1
    j = tr(emb, "click(2)", el(2, "button", "cancel"), instruction=SUBMIT_INSTR)
    assert j.relevance == 0 and "similarity" in j.reason and j.judge == "embedding"


def test_embedding_similarity_decides_unnamed_targets(emb):
    instr = "Turn off email notifications for comments and save."
    j = tr(emb, "click(1)", el(1, "button", "Save changes"), instruction=instr)
    assert j.relevance == 1 and "similarity" in j.reason
    assert tr(emb, "click(2)", el(2, "button", "Delete account"), instruction=instr).relevance == 0
    assert tr(emb, "click(3)", el(3, "link", "Sign out"), instruction=instr).relevance == 0
    instr = "Buy the red running shoes in size 42."
    assert tr(emb, "click(4)", el(4, "link", "Sign out"), instruction=instr).relevance == 0


def test_embedding_known_false_positive_is_pinned(emb):
    """A look-alike of the goal passes the threshold: why the own suite uses the oracle."""
    instr = 'Log in with username "kanye" and password "xyz".'
    assert tr(emb, "click(1)", el(1, "link", "Forgot password?"), instruction=instr).relevance == 1


def test_embedding_text_and_option_rules(emb):
    instr = 'Enter "Ada" into the text field and press Submit.'
    box = el(3, "textbox", "")
    assert tr(emb, 'fill(3, "Ada")', box, instruction=instr).relevance == 1
    search = el(4, "searchbox", "Search")
    assert tr(emb, 'fill(4, "Bob")', search, instruction=instr).relevance == 0
    assert (
        tr(emb, 'press("Enter")', None, [('fill(3, "Ada")', box)], instruction=instr).relevance == 1
    )
    assert (
        tr(emb, 'press("Enter")', None, [('fill(4, "Bob")', search)], instruction=instr).relevance
        == 0
    )
    country = el(5, "combobox", "Country", options=["France", "Spain"])
    instr = "Ship the parcel to France."
    assert tr(emb, 'select(5, "Spain")', country, instruction=instr).relevance == 1


def test_embedding_targetless_and_static(emb):
    for action in ("noop()", 'scroll("down")', 'press("Tab")', "click_at(1, 2)"):
        assert tr(emb, action, None, instruction=SUBMIT_INSTR).relevance == 0, action
    static = {**el(6, "text", "submit"), "interactive": False}
    assert tr(emb, "click(6)", static, instruction=SUBMIT_INSTR).relevance == 0
    assert tr(emb, "click(7)", None, instruction=SUBMIT_INSTR).relevance == 0  # unknown element


def test_embedding_coherence_and_batch_cache(emb):
    button = el(1, "button", "OK")
    batch = [
        req("click(1)", button, [("click(1)", button)], instruction="Press the confirm control."),
        req("click(2)", el(2, "button", "Confirm"), instruction="Press the confirm control."),
    ]
    out = emb.judge(batch)
    assert [j.coherence for j in out] == [0, 1]
    assert out[1].relevance == 1
    size = len(emb.encoder)
    assert emb.judge(batch) == out
    assert len(emb.encoder) == size  # all cached


def test_embedding_arguments():
    with pytest.raises(ValueError):
        EmbeddingJudge(threshold=2.0)
    judge = EmbeddingJudge(model_path="/nonexistent/model")
    with pytest.raises(FileNotFoundError):
        judge.judge([req("click(1)", el(1, "button", "Xyzzy"), instruction="Frobnicate.")])


def test_clauses():
    assert clauses('Enter "Ada" into the field, then press Submit.') == [
        'Enter "Ada" into the field',
        "press Submit",
    ]
    assert clauses("") == ["(empty)"]


# ------------------------------------------------------------------------------- auto


def test_auto_routes_by_meta(emb):
    auto = AutoJudge(embedding=emb)
    batch = [
        req("click(1)", BUY, meta=META),
        req("click(1)", el(1, "button", "submit"), instruction=SUBMIT_INSTR),
        req("click(2)", WISH, meta=META),
    ]
    out = auto.judge(batch)
    assert [j.judge for j in out] == ["oracle", "embedding", "oracle"]
    assert [j.relevance for j in out] == [1, 1, 0]


def test_auto_loads_no_model_when_all_have_meta():
    auto = make_judge("auto")
    assert isinstance(auto, AutoJudge)
    assert auto.judge([req("click(1)", BUY, meta=META)])[0].judge == "oracle"
    assert auto._embedding is None


def test_make_judge():
    assert isinstance(make_judge("oracle"), OracleJudge)
    assert isinstance(make_judge("Embedding", threshold=0.3), EmbeddingJudge)
    llm = make_judge("llm", url="http://127.0.0.1:1/v1", model="m")
    assert isinstance(llm, LLMJudge) and llm.endpoint == "http://127.0.0.1:1/v1/chat/completions"
    with pytest.raises(ValueError, match="unknown judge"):
        make_judge("gpt")
    for url in ("file:///etc/passwd", "ftp://host/v1", "127.0.0.1:8000"):
        with pytest.raises(ValueError, match="http"):
            LLMJudge(url, "m")


# -------------------------------------------------------------------------------- LLM


class _Server:
    """A scripted chat-completions server: each POST pops the next reply from ``script``."""

    def __init__(self):
        self.script = []
        self.bodies = []
        self.headers = []
        self.default = ("json", {"task_relevance": 1, "coherence": 1, "reason": "default"})
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with server.lock:
                    server.bodies.append(json.loads(body))
                    server.headers.append(dict(self.headers))
                    reply = server.script.pop(0) if server.script else server.default
                kind, value = reply
                try:
                    if kind == "sleep":
                        time.sleep(value)
                        kind, value = "json", {"task_relevance": 1, "coherence": 1}
                    if kind == "status":
                        self.send_response(value)
                        self.end_headers()
                        self.wfile.write(b"server error")
                        return
                    content = json.dumps(value) if kind == "json" else value
                    payload = {"choices": [{"message": {"role": "assistant", "content": content}}]}
                    data = json.dumps(payload).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def reset(self, *script):
        with self.lock:
            self.script = list(script)
            self.bodies.clear()
            self.headers.clear()


@pytest.fixture(scope="module")
def server():
    s = _Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


IMAGE = np.zeros((4, 6, 3), dtype=np.uint8)
IMAGE[1, 2] = (255, 0, 0)


def llm(server, **kwargs):
    kwargs = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "max_workers": 1, **kwargs}
    return LLMJudge(server.url, "test-model", **kwargs)


def llm_req(action="click(1)"):
    return req(action, BUY, [('fill(3, "Ada")', NAME)], instruction="Buy it.", screenshot=IMAGE)


def test_llm_good_json_and_request_body(server):
    server.reset(("json", {"task_relevance": 1, "coherence": 0, "reason": "repeats"}))
    j = llm(server, api_key="secret").judge([llm_req()])[0]
    assert j == Judgement(1, 0, "repeats", "llm")
    (body,) = server.bodies
    assert body["model"] == "test-model"
    system, user = body["messages"]
    assert system["role"] == "system" and "task_relevance" in system["content"]
    texts = [p["text"] for p in user["content"] if p["type"] == "text"]
    images = [p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url"]
    assert 'click(1) on button "Buy"' in texts[0] and "Buy it." in texts[0]
    assert 'fill(3, "Ada") on textbox "Name"' in texts[0]
    assert len(images) == 1 and images[0].startswith("data:image/png;base64,")
    from PIL import Image

    png = base64.b64decode(images[0].split(",", 1)[1])
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), IMAGE)
    assert server.headers[0]["Authorization"] == "Bearer secret"


def test_llm_api_key_from_env(server, monkeypatch):
    monkeypatch.setenv("SIMILAR_JUDGE_API_KEY", "from-env")
    server.reset()
    llm(server).judge([llm_req()])
    assert server.headers[0]["Authorization"] == "Bearer from-env"


def test_llm_fenced_json(server):
    fenced = 'Sure.\n```json\n{"task_relevance": 0, "coherence": 1, "reason": "off task"}\n```'
    server.reset(("raw", fenced))
    j = llm(server).judge([llm_req()])[0]
    assert (j.relevance, j.coherence, j.reason) == (0, 1, "off task")


def test_llm_retries_malformed_answers(server):
    server.reset(
        ("raw", "I think it is fine."),
        ("json", {"task_relevance": 1}),  # missing key
        ("json", {"task_relevance": 1, "coherence": 1, "reason": "ok"}),
    )
    j = llm(server).judge([llm_req()])[0]
    assert (j.relevance, j.coherence, j.reason) == (1, 1, "ok")
    assert len(server.bodies) == 3


def test_llm_values_must_be_binary(server):
    server.reset(*[("json", {"task_relevance": 2, "coherence": 1})] * 3)
    with pytest.raises(JudgeError, match="0 or 1"):
        llm(server).judge([llm_req()])
    assert len(server.bodies) == 3  # 1 + 2 retries


def test_llm_garbage_raises_or_falls_back(server):
    server.reset(*[("raw", "garbage")] * 3)
    with pytest.raises(JudgeError, match="3 attempt"):
        llm(server).judge([llm_req()])
    server.reset(*[("raw", "garbage")] * 3)
    fallback = AutoJudge(embedding=OracleJudge())  # no model needed: never reached
    r = llm_req()
    with_meta = JudgeRequest(r.context, r.target, r.history_actions, r.history_targets, META)
    j = llm(server, fallback=fallback).judge([with_meta])[0]
    assert j.judge == "oracle" and "fell back" in j.reason and "garbage" in j.reason
    server.reset(*[("raw", "garbage")] * 3)
    with_meta = JudgeRequest(r.context, r.target, r.history_actions, r.history_targets, META)
    j = llm(server, fallback="oracle").judge([with_meta])[0]
    assert (j.relevance, j.judge) == (1, "oracle") and j.reason.startswith("fell back")


def test_llm_timeout_is_retried(server):
    server.reset(("sleep", 1.5), ("json", {"task_relevance": 0, "coherence": 0, "reason": "no"}))
    start = time.monotonic()
    j = llm(server, timeout=0.5).judge([llm_req()])[0]
    assert (j.relevance, j.coherence) == (0, 0)
    assert time.monotonic() - start < 1.4


def test_llm_server_errors_are_retried(server):
    server.reset(("status", 500), ("status", 429), ("json", {"task_relevance": 1, "coherence": 1}))
    assert llm(server).judge([llm_req()])[0].relevance == 1
    assert len(server.bodies) == 3
    server.reset(("status", 400))
    with pytest.raises(JudgeError, match="HTTP 400"):
        llm(server).judge([llm_req()])
    assert len(server.bodies) == 1  # client errors are not retried


def test_llm_connection_refused(server):
    judge = LLMJudge("http://127.0.0.1:9/v1", "m", timeout=0.5, retries=1, backoff=0.01)
    with pytest.raises(JudgeError, match="2 attempt"):
        judge.judge([llm_req()])


def test_llm_batch_keeps_order_with_threads(server):
    server.reset()
    server.default = ("json", {"task_relevance": 1, "coherence": 1, "reason": "same"})
    batch = [llm_req(f"click({i})") for i in range(6)]
    out = llm(server, max_workers=3).judge(batch)
    assert len(out) == 6 and all(j.judge == "llm" for j in out)
    texts = [b["messages"][1]["content"][0]["text"] for b in server.bodies]
    sent = sorted(t.split("Candidate action:\n")[1].split(" on ")[0] for t in texts)
    assert sent == sorted(f"click({i})" for i in range(6))


def test_llm_without_screenshot_sends_no_image(server):
    server.reset()
    r = req("click(1)", BUY)
    llm(server).judge([r])
    assert all(p["type"] == "text" for p in server.bodies[0]["messages"][1]["content"])


def test_judges_share_the_interface():
    for judge in (OracleJudge(), AutoJudge(), EmbeddingJudge(), LLMJudge("https://x.org/v1", "m")):
        assert isinstance(judge, Judge) and judge.name
