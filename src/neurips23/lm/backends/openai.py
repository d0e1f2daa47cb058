"""The `openai` backend: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, Ollama, ours).

Built on plain `httpx` rather than the `openai` SDK: httpx is one small dependency we need
anyway (the tests' client, the server's peers), and owning the request loop gives us full
control of what matters here: how many requests are in flight, which failures are retried
and how long we wait, and the exact one-line error a user sees (never containing the key).

Concurrency: a batch's requests run on a thread pool of `max_concurrency` threads sharing one
`httpx.Client` (thread-safe, keeps connections alive). Threads, not asyncio, because the
backend is called from synchronous code that may itself run inside an event loop (Jupyter, a
FastAPI handler, our own server proxying another endpoint); `asyncio.run` fails there and
nested loops need hacks, while a thread pool behaves the same everywhere. The requests are
I/O-bound, so the GIL costs nothing.

Timeouts: `connect_timeout` bounds reaching the server (retried: nothing was sent), `timeout`
bounds waiting for an answer. A read timeout is not retried: the server may still be working
on a long generation, and resending it would only queue the same work again (and bill it again
on a paid API); the error says to raise `timeout`.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from neurips23.errors import BackendError, DataError
from neurips23.lm.backends.base import Score, Usage
from neurips23.lm.generate import cut_at_stop

T = TypeVar("T")
R = TypeVar("R")

TOKEN_PARAMS = ("auto", "max_tokens", "max_completion_tokens")
"""How chat requests name the completion-length limit ("auto": `max_completion_tokens` for
api.openai.com, whose newer models refuse `max_tokens`; `max_tokens` elsewhere, switching to
`max_completion_tokens` once if the endpoint asks for it)."""

RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
"""HTTP statuses worth retrying: rate limits, timeouts, conflicts and server errors."""

MAX_RETRY_AFTER = 120.0
"""Longest Retry-After we honour, in seconds (a bigger one is capped, not obeyed blindly)."""


# ---------------------------------------------------------------------------------------------
# Plain functions: URL handling, backoff, response parsing
# ---------------------------------------------------------------------------------------------

def normalize_base_url(base_url: str) -> str:
    """`http://host:8000` -> `http://host:8000/v1`; a URL with a path (`.../v1`) is kept as is."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise BackendError("base_url is empty; give e.g. http://127.0.0.1:8000/v1")
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendError(f"base_url {base_url!r} is not an http(s) URL; "
                           "give e.g. http://127.0.0.1:8000/v1")
    if parts.path in ("", "/"):
        url += "/v1"
    return url


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Wait before retry `attempt` (0-based): the server's Retry-After if given, else
    exponential backoff base*2^attempt capped at `cap`, with "equal jitter" (half fixed, half
    uniform) so that many clients hitting one limit do not retry in lockstep."""
    if retry_after is not None:
        return retry_after
    ceiling = min(cap, base * 2.0 ** attempt)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def continuation_logprobs(text_offset: Sequence[int], token_logprobs: Sequence[float | None],
                          split: int, end: int) -> list[float]:
    """Log-probs of the tokens covering text[split:end] of an echoed prompt.

    Token i spans [text_offset[i], text_offset[i+1]) (the last one up to `end`); it belongs to
    the continuation when its span reaches past `split` (a token straddling the boundary counts,
    as it is the one that produces the continuation's first characters). Tokens starting at or
    after `end` were generated, not echoed, and are ignored.
    """
    if len(text_offset) != len(token_logprobs):
        raise BackendError(f"echoed log-probs are malformed: {len(text_offset)} text offsets "
                           f"but {len(token_logprobs)} token log-probs")
    out: list[float] = []
    for i, start in enumerate(text_offset):
        if start >= end:
            break
        stop = text_offset[i + 1] if i + 1 < len(text_offset) else end
        if min(stop, end) <= split:
            continue
        lp = token_logprobs[i]
        if lp is None:
            raise BackendError("the endpoint gave no log-prob for the first continuation token "
                               "(it has no context): give a non-empty prompt")
        out.append(float(lp))
    return out


def _server_message(response: httpx.Response, limit: int = 300) -> str:
    """The error text a server put in its body (OpenAI/FastAPI/plain), on one short line."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    msg: Any = body
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message", body)))
        msg = err.get("message", err) if isinstance(err, dict) else err
    text = " ".join(str(msg).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_sampling(n: int, temperature: float, max_tokens: int, top_p: float = 1.0) -> None:
    if not isinstance(n, int) or n < 1:
        raise DataError(f"n must be a positive integer, got {n!r}")
    if temperature < 0:
        raise DataError(f"temperature must be >= 0, got {temperature!r}")
    if not isinstance(max_tokens, int) or max_tokens < 0:
        raise DataError(f"max_tokens must be a non-negative integer, got {max_tokens!r}")
    if not 0 < top_p <= 1:
        raise DataError(f"top_p must be in (0, 1], got {top_p!r}")


def _as_str_list(items: Sequence[str], what: str) -> list[str]:
    if isinstance(items, str):
        raise DataError(f"{what} must be a list of strings, got a single string {items[:40]!r}")
    out = list(items)
    for i, x in enumerate(out):
        if not isinstance(x, str):
            raise DataError(f"{what}[{i}] must be a string, got {type(x).__name__}")
    return out


def _check_conversation(i: int, conv: Any) -> list[dict]:
    if not isinstance(conv, (list, tuple)) or not conv:
        raise DataError(f"conversation {i} must be a non-empty list of messages")
    for j, m in enumerate(conv):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise DataError(f"conversation {i}, message {j}: expected a dict with 'role' and "
                            f"'content', got {m!r:.80}")
        if m["role"] not in ("system", "user", "assistant", "developer", "tool"):
            raise DataError(f"conversation {i}, message {j}: unknown role {m['role']!r}")
    return list(conv)


# ---------------------------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------------------------

class OpenAIBackend:
    """`LanguageModel` over an OpenAI-compatible HTTP API (docs/architecture.md, lm.backends).

    `generate` -> POST /completions, `chat` -> POST /chat/completions, `score` -> POST
    /completions with echo=true, logprobs=1, max_tokens=0 (prompt log-probs, as vLLM and
    `neurips23 serve` return them). The key is read from the environment variable named by
    `api_key_env` and never logged, put in an error or shown by repr.
    """

    def __init__(self, model: str, base_url: str, api_key_env: str = "OPENAI_API_KEY",
                 max_concurrency: int = 8, timeout: float = 600.0, max_retries: int = 4,
                 *, connect_timeout: float = 10.0, token_param: str = "auto",
                 backoff: float = 0.5, max_backoff: float = 30.0,
                 seed: int | None = None) -> None:
        if not isinstance(model, str) or not model:
            raise BackendError("model name is empty")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise BackendError(f"max_concurrency must be >= 1, got {max_concurrency!r}")
        for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if not value or value <= 0:
                raise BackendError(f"{name} must be > 0 seconds, got {value!r}")
        if token_param not in TOKEN_PARAMS:
            raise BackendError(f"token_param {token_param!r}: choose from {', '.join(TOKEN_PARAMS)}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise BackendError(f"max_retries must be >= 0, got {max_retries!r}")
        self.name = model
        self.model = model
        self.base_url = normalize_base_url(base_url)
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        if token_param == "auto":
            host = urlsplit(self.base_url).hostname or ""
            token_param = "max_completion_tokens" if host == "api.openai.com" else "max_tokens"
        self.token_param = token_param
        self._token_param_fixed = token_param != "max_tokens"
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.usage = Usage()
        self._api_key = (os.environ.get(api_key_env, "").strip() or None) if api_key_env else None
        if self._api_key and any(ord(c) < 32 or ord(c) == 127 for c in self._api_key):
            # httpx would echo the whole header (key included) in its error text
            raise BackendError(f"${api_key_env} holds control characters; it cannot be sent as a header")
        self._rng = random.Random(seed)
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
            limits=httpx.Limits(max_connections=max_concurrency,
                                max_keepalive_connections=max_concurrency),
            headers={"User-Agent": "neurips23-openai-backend"})

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return (f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, "
                f"api_key_env={self.api_key_env!r} ({key}), "
                f"max_concurrency={self.max_concurrency})")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the LanguageModel protocol -----------------------------------------------------------

    def generate(self, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
                 max_tokens: int = 64, stop: Sequence[str] = (), top_p: float = 1.0,
                 seed: int | None = None) -> list[list[str]]:
        """`n` completions of each prompt ([prompt][sample]), one concurrent request per prompt."""
        prompts = _as_str_list(prompts, "prompts")
        stop = [stop] if isinstance(stop, str) else list(stop)
        _check_sampling(n, temperature, max_tokens, top_p)
        base = {"model": self.model, "n": n, "temperature": temperature, "top_p": top_p,
                "max_tokens": max_tokens}
        if stop:
            base["stop"] = stop
        if seed is not None:
            base["seed"] = seed

        def one(prompt: str) -> list[str]:
            body = self._post("/completions", {**base, "prompt": prompt})
            return [cut_at_stop(_field(c, "text", str, self._url("/completions")), stop)[0]
                    for c in self._choices(body, n, "/completions")]

        return self._map(one, prompts)

    def chat(self, conversations: Sequence[list[dict]], n: int = 1, temperature: float = 0.0,
             max_tokens: int = 64, stop: Sequence[str] = (), seed: int | None = None
             ) -> list[list[str]]:
        """`n` assistant replies to each conversation ([conversation][sample])."""
        if isinstance(conversations, dict) or (conversations and isinstance(conversations[0],
                                                                            dict)):
            raise DataError("conversations must be a list of conversations (each a list of "
                            "messages), got a single conversation")
        convs = [_check_conversation(i, c) for i, c in enumerate(conversations)]
        stop = [stop] if isinstance(stop, str) else list(stop)
        _check_sampling(n, temperature, max_tokens)
        base = {"model": self.model, "n": n, "temperature": temperature}
        if stop:
            base["stop"] = stop
        if seed is not None:
            base["seed"] = seed
        url = self._url("/chat/completions")

        def one(messages: list[dict]) -> list[str]:
            body = self._post_chat({**base, "messages": messages}, max_tokens)
            out = []
            for c in self._choices(body, n, "/chat/completions"):
                message = _field(c, "message", dict, url)
                content = message.get("content") or ""
                if not isinstance(content, str):
                    raise BackendError(f"{url} returned malformed JSON: message content is "
                                       f"{type(content).__name__}, not a string")
                out.append(cut_at_stop(content, stop)[0])
            return out

        return self._map(one, convs)

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Score]:
        """log p(continuation | prompt), summed and per token, from the endpoint's echoed
        prompt log-probs of prompt + continuation."""
        prompts = _as_str_list(prompts, "prompts")
        continuations = _as_str_list(continuations, "continuations")
        if len(prompts) != len(continuations):
            raise DataError(f"score needs one continuation per prompt: got {len(prompts)} "
                            f"prompts and {len(continuations)} continuations")
        url = self._url("/completions")
        hint = ("this endpoint cannot score text: it must return prompt log-probs for "
                "echo=true, logprobs=1, max_tokens=0 (vLLM and `neurips23 serve` do; "
                "chat-only APIs do not)")

        def one(pair: tuple[str, str]) -> Score:
            prompt, continuation = pair
            text = prompt + continuation
            body = self._post("/completions", {"model": self.model, "prompt": text,
                                               "max_tokens": 0, "echo": True, "logprobs": 1,
                                               "temperature": 0.0}, hint=hint)
            choice = self._choices(body, 1, "/completions")[0]
            lp = choice.get("logprobs")
            if (not isinstance(lp, dict) or not isinstance(lp.get("token_logprobs"), list)
                    or not isinstance(lp.get("text_offset"), list)):
                raise BackendError(f"{url} returned no prompt log-probs: {hint}")
            if not continuation:
                return Score(logprob=0.0, token_logprobs=[])
            token_lps = continuation_logprobs(lp["text_offset"], lp["token_logprobs"],
                                              len(prompt), len(text))
            if not token_lps:
                raise BackendError(f"{url} echoed no tokens for the continuation "
                                   f"{continuation[:40]!r}: {hint}")
            return Score(logprob=float(sum(token_lps)), token_logprobs=token_lps)

        return self._map(one, list(zip(prompts, continuations, strict=True)))

    # -- HTTP -----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _scrub(self, text: str) -> str:
        """`text` with the API key (should a server echo it) replaced by ***."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """fn over items, at most `max_concurrency` at a time, results in order; the first
        error cancels what has not started and is raised."""
        if len(items) <= 1:
            return [fn(x) for x in items]
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items)),
                                  thread_name_prefix="openai-backend")
        try:
            futures = [pool.submit(fn, x) for x in items]
            results = [f.result() for f in futures]
        except BaseException:  # an error or Ctrl-C: do not wait for the requests still queued
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results

    def _post_chat(self, payload: dict, max_tokens: int) -> dict:
        """POST /chat/completions with the length limit under the name the endpoint takes."""
        try:
            return self._post("/chat/completions", {**payload, self.token_param: max_tokens})
        except BackendError as e:
            if self._token_param_fixed or "max_completion_tokens" not in str(e):
                raise
            self.token_param, self._token_param_fixed = "max_completion_tokens", True
            return self._post("/chat/completions", {**payload, self.token_param: max_tokens})

    def _post(self, path: str, payload: dict, hint: str = "") -> dict:
        """POST JSON with retries on 429/5xx/connection errors/timeouts; the parsed body."""
        url = self._url(path)
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            retry_after: float | None = None
            try:
                response = self._client.post(url, json=payload, headers=self._headers())
            except (httpx.ReadTimeout, httpx.WriteTimeout):
                raise BackendError(f"{url} sent no answer within the read timeout of "
                                   f"{self.timeout:g}s (not resent: the server may still be "
                                   "generating); raise timeout= for long generations, or lower "
                                   "max_tokens / max_concurrency") from None
            except httpx.TimeoutException:
                failure = f"no connection within {self.connect_timeout:g}s"
                kind = "connect"
            except httpx.TransportError as e:
                failure = self._scrub(f"{type(e).__name__}: {e}")
                kind = "connect" if isinstance(e, httpx.ConnectError) else "transport"
            else:
                if response.status_code < 400:
                    self._count(1, 0, 0)
                    return self._json(response, url)
                if response.status_code not in RETRY_STATUS:
                    raise self._http_error(response, url, hint)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                failure = (f"HTTP {response.status_code}: "
                           f"{self._scrub(_server_message(response))}")
                kind = "status"
            if attempt + 1 < attempts:
                time.sleep(backoff_delay(attempt, self.backoff, self.max_backoff, self._rng,
                                         retry_after))
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if kind == "connect":
            raise BackendError(f"cannot connect to {self.base_url} ({failure}) after {tries}: "
                               "is the server running and is base_url right?")
        raise BackendError(f"{url} failed on each of {tries}: {failure}")

    def _json(self, response: httpx.Response, url: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            snippet = " ".join(self._scrub(response.text).split())[:120]
            raise BackendError(f"{url} returned malformed JSON (HTTP {response.status_code}): "
                               f"{snippet!r}") from None
        if not isinstance(body, dict):
            raise BackendError(f"{url} returned malformed JSON: expected an object, "
                               f"got {type(body).__name__}")
        usage = body.get("usage")
        if isinstance(usage, dict):
            try:
                self._count(0, int(usage.get("prompt_tokens") or 0),
                            int(usage.get("completion_tokens") or 0))
            except (TypeError, ValueError):
                pass  # usage is informative; a server that garbles it still answered
        return body

    def _http_error(self, response: httpx.Response, url: str, hint: str) -> BackendError:
        code = response.status_code
        if code in (401, 403):
            # The server's text is left out: some servers echo a masked part of the key.
            key = (f"${self.api_key_env} is not set" if not self._api_key
                   else f"the key in ${self.api_key_env} was rejected")
            return BackendError(f"{url}: authentication failed (HTTP {code}): {key}")
        message = self._scrub(_server_message(response))
        if code == 404:
            available = self._available_models()
            if available is not None and self.model not in available:
                shown = ", ".join(available[:10]) or "none"
                return BackendError(f"model {self.model!r} not found at {self.base_url} "
                                    f"(available: {shown})")
            if "model" in message.lower():
                return BackendError(f"model {self.model!r} not found at {self.base_url}: "
                                    f"{message}")
            return BackendError(f"{url} not found (HTTP 404): {message}; check base_url "
                                "(most servers want it to end in /v1)")
        extra = f" ({hint})" if hint else ""
        return BackendError(f"{url} rejected the request (HTTP {code}): {message}{extra}")

    def _available_models(self) -> list[str] | None:
        """Model ids from GET /models, or None when the endpoint does not list them."""
        try:
            r = self._client.get(self._url("/models"), headers=self._headers())
            data = r.json().get("data") if r.status_code == 200 else None
            return [str(m.get("id")) for m in data] if isinstance(data, list) else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None

    def _choices(self, body: dict, n: int, path: str) -> list[dict]:
        url = self._url(path)
        choices = body.get("choices")
        if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
            raise BackendError(f"{url} returned malformed JSON: no 'choices' list")
        if len(choices) != n:
            raise BackendError(f"{url} returned {len(choices)} choices, asked for n={n}")
        return sorted(choices, key=lambda c: c.get("index", 0))

    def _count(self, calls: int, prompt_tokens: int, completion_tokens: int) -> None:
        self.usage.add(calls=calls, prompt_tokens=prompt_tokens,
                       completion_tokens=completion_tokens)


def _field(obj: dict, key: str, typ: type, url: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, typ):
        raise BackendError(f"{url} returned malformed JSON: choice field {key!r} is "
                           f"{type(value).__name__}, expected {typ.__name__}")
    return value
