"""The LLM judge: a vision-language model behind an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reward_model.judges.base import Judge, JudgeError, Judgement, JudgeRequest
from similar_gym.records import describe_element

logger = logging.getLogger(__name__)

# -------------------------------------------------------------------------------- LLM

LLM_SYSTEM_PROMPT = """\
You judge one candidate action of a virtual agent that operates a graphical user interface \
(a web page) to complete a task. You see the task instruction, the actions the agent already \
took, the page as text (elements as `[id] role "name"`), a screenshot, and the candidate action.

Score two binary dimensions:
- task_relevance (TR): 1 if the action is about the task at all: it acts on an element or \
enters text the task needs, or it is a sensible step toward it (opening the right page, \
submitting the right form). 0 if it is unrelated to the task, hits a distractor or a trap \
(a look-alike item, a wrong but plausible button), or does nothing useful (no-op, idle scroll).
- coherence (C): 1 if the action follows sensibly from the earlier actions. 0 if it repeats \
the previous action for no reason, undoes or contradicts an earlier action (re-fills a field \
with a different value, unticks a box it just ticked), contradicts the task (enters a value \
other than the one asked for), or makes no sense at this point.

The action grammar: click(id), fill(id, "text"), select(id, "option"), hover(id), \
press("Key"), type("text"), scroll("up"|"down"), click_at(x, y), drag(x1, y1, x2, y2), noop().

Answer with one JSON object and nothing else:
{"task_relevance": 0 or 1, "coherence": 0 or 1, "reason": "<one short sentence>"}"""

_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class _Retryable(Exception):
    """A failure worth another attempt (connection, timeout, 5xx, 429, malformed answer)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMJudge(Judge):
    """Asks a (vision-)language model behind an OpenAI-compatible chat-completions endpoint.

    Each request becomes one ``POST {url}/chat/completions`` with a system prompt that defines
    ``TR`` and ``C`` (:data:`LLM_SYSTEM_PROMPT`) and a user message of content parts: the
    instruction, the earlier steps, the page text (truncated), the candidate action, and the
    screenshot as an ``image_url`` data URL. The model answers
    ``{"task_relevance": 0|1, "coherence": 0|1, "reason": "..."}``; JSON in a fenced code
    block, or inside some prose, is accepted.

    Connection errors, timeouts, HTTP 5xx and 429, and malformed answers are retried with
    exponential backoff. When the attempts run out, the judge raises :class:`JudgeError`, or,
    given a ``fallback`` judge, judges those requests with it and says so in ``reason``.

    Args:
        url: Base URL of the API (``http://127.0.0.1:8000/v1``) or the full
            ``.../chat/completions`` URL. Only ``http`` and ``https`` are accepted.
        model: Model name sent in the request.
        api_key: Bearer token; defaults to the ``SIMILAR_JUDGE_API_KEY`` environment variable.
        timeout: Seconds to wait for one HTTP answer.
        retries: Further attempts after the first one fails in a retryable way.
        backoff: Seconds before the first retry; doubled for each further one.
        max_workers: Requests of a batch sent concurrently.
        fallback: A judge (or a :func:`make_judge` spec) for requests the model fails on.
        max_page_chars: Characters of page text sent (the rest is cut).
        max_history: Most recent earlier steps sent.
        include_screenshot: Whether to send the screenshot.
        temperature: Sampling temperature.
        max_tokens: Most tokens of the answer.
    """

    name = "llm"

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 1.0,
        max_workers: int = 4,
        fallback: Judge | str | None = None,
        max_page_chars: int = 4000,
        max_history: int = 20,
        include_screenshot: bool = True,
        temperature: float = 0.0,
        max_tokens: int = 256,
    ) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"LLMJudge needs an http(s) URL, got {url!r}")
        if timeout <= 0 or retries < 0 or backoff < 0 or max_workers < 1:
            raise ValueError("timeout and max_workers must be positive, retries and backoff >= 0")
        base = url.rstrip("/")
        self.url = url
        self.endpoint = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("SIMILAR_JUDGE_API_KEY")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_workers = int(max_workers)
        if isinstance(fallback, str):
            from reward_model.judges import make_judge

            fallback = make_judge(fallback)
        self.fallback = fallback
        self.max_page_chars = int(max_page_chars)
        self.max_history = int(max_history)
        self.include_screenshot = bool(include_screenshot)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        handlers = [urllib.request.ProxyHandler({})] if local else []
        self._opener = urllib.request.build_opener(*handlers)
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return f"LLMJudge(url={self.url!r}, model={self.model!r})"

    # ------------------------------------------------------------------ the request

    def messages(self, req: JudgeRequest) -> list[dict[str, Any]]:
        """Returns the chat messages for one request (system prompt and user content parts)."""
        ctx = req.context
        history = list(ctx.history) or list(req.history_actions)
        if len(history) > self.max_history:
            cut = len(history) - self.max_history
            history = [f"... ({cut} earlier steps)", *history[cut:]]
        steps = "\n".join(f"{i + 1}. {h}" for i, h in enumerate(history)) or "(none yet)"
        page = ctx.page_text or "(no page text)"
        if len(page) > self.max_page_chars:
            page = page[: self.max_page_chars] + "\n... (page text truncated)"
        target = describe_element(req.target) if req.target else ctx.target
        action = f"{ctx.action} on {target}" if target else ctx.action
        text = (
            f"Task instruction:\n{ctx.instruction}\n\n"
            f"Earlier actions (oldest first):\n{steps}\n\n"
            f"Page text:\n{page}\n\n"
            f"Candidate action:\n{action}\n\n"
            'Answer with JSON: {"task_relevance": 0|1, "coherence": 0|1, "reason": "..."}'
        )
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        image = ctx.image_bytes() if self.include_screenshot else None
        if image:
            mime = "image/jpeg" if image[:2] == b"\xff\xd8" else "image/png"
            data = base64.b64encode(image).decode("ascii")
            parts.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}})
        return [
            {"role": "system", "content": LLM_SYSTEM_PROMPT},
            {"role": "user", "content": parts},
        ]

    def _post(self, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read(500).decode("utf-8", "replace") if e.fp else ""
            if e.code == 429 or e.code >= 500:
                retry_after = _retry_after(e.headers.get("Retry-After") if e.headers else None)
                raise _Retryable(f"HTTP {e.code}: {detail}", retry_after) from e
            raise JudgeError(f"HTTP {e.code} from {self.endpoint}: {detail}") from e
        except (OSError, http.client.HTTPException) as e:  # URLError, timeouts, resets
            raise _Retryable(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from e
        try:
            return json.loads(raw)
        except ValueError as e:
            raise _Retryable(f"the endpoint's answer is not JSON: {raw[:200]!r}") from e

    def ask(self, req: JudgeRequest) -> Judgement:
        """Judges one request with the model, retrying; raises :class:`JudgeError` on failure."""
        body = json.dumps(
            {
                "model": self.model,
                "messages": self.messages(req),
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
            }
        ).encode("utf-8")
        last = ""
        last_retry_after: float | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, last_retry_after))
            try:
                answer = self._post(body)
                return _parse_answer(_content(answer), self.name)
            except _Retryable as e:
                last = str(e)
                last_retry_after = e.retry_after
                logger.debug("LLM judge attempt %d failed: %s", attempt + 1, e)
        raise JudgeError(f"LLM judge failed after {self.retries + 1} attempt(s): {last}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = self.backoff * 2 ** (attempt - 1)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        return delay

    def judge(self, requests: Sequence[JudgeRequest]) -> list[Judgement]:
        """Judges a batch, ``max_workers`` requests at a time.

        Raises:
            JudgeError: If the model fails on a request and there is no fallback judge.
        """
        results: list[Judgement | JudgeError]
        if len(requests) <= 1 or self.max_workers == 1:
            results = [self._try(r) for r in requests]
        else:
            with ThreadPoolExecutor(min(self.max_workers, len(requests))) as pool:
                results = list(pool.map(self._try, requests))
        failed = [i for i, r in enumerate(results) if isinstance(r, JudgeError)]
        if failed and self.fallback is None:
            raise results[failed[0]]  # type: ignore[misc]
        if failed:
            assert self.fallback is not None
            logger.warning(
                "LLM judge failed on %d of %d request(s); falling back to %s",
                len(failed),
                len(requests),
                self.fallback.name,
            )
            backup = self.fallback.judge([requests[i] for i in failed])
            for i, j in zip(failed, backup, strict=True):
                results[i] = Judgement(
                    j.relevance,
                    j.coherence,
                    f"fell back to {j.judge or self.fallback.name} ({results[i]}): {j.reason}",
                    j.judge or self.fallback.name,
                )
        return results  # type: ignore[return-value]

    def _try(self, req: JudgeRequest) -> Judgement | JudgeError:
        try:
            return self.ask(req)
        except JudgeError as e:
            return e


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _content(answer: Any) -> str:
    """The text of a chat-completions answer."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as e:
        raise _Retryable(f"no choices[0].message.content in the answer: {str(answer)[:200]}") from e
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        raise _Retryable("the answer's content is empty")
    return content


def _parse_answer(content: str, judge: str) -> Judgement:
    """Reads ``{"task_relevance": .., "coherence": .., "reason": ..}`` from the model's text."""
    obj = _find_json(content)
    if not isinstance(obj, dict):
        raise _Retryable(f"no JSON object in the answer: {content[:200]!r}")
    values = []
    for key in ("task_relevance", "coherence"):
        if key not in obj:
            raise _Retryable(f"the answer lacks {key!r}: {content[:200]!r}")
        v = _binary(obj[key])
        if v is None:
            raise _Retryable(f"{key} must be 0 or 1, got {obj[key]!r}")
        values.append(v)
    reason = obj.get("reason", "")
    return Judgement(values[0], values[1], str(reason) if reason is not None else "", judge)


def _find_json(content: str) -> Any:
    text = content.strip()
    candidates = [text, *(m.group(1).strip() for m in _FENCE_RE.finditer(text))]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                obj, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            if isinstance(obj, dict):
                return obj
    return None


def _binary(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if value in (0, 1) and math.isfinite(value) else None
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None
