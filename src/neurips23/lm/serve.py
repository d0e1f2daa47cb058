"""`neurips23 serve`: an OpenAI-compatible HTTP API over any local `LanguageModel` (FastAPI).

Endpoints: GET /v1/models, POST /v1/completions (generation; scoring with echo=true,
logprobs, max_tokens=0) and POST /v1/chat/completions, with `usage` fields and OpenAI-style
error JSON. Requests from concurrent clients go through one worker thread that owns the model
(torch modules are not safe to call from many threads) and micro-batches them: whatever
requests are waiting when the worker becomes free, and share sampling settings, go to the
model as one batch. Seeded sampling (temperature > 0 with a seed) is never batched with other
requests, so a seed gives the same text however busy the server is.
"""

from __future__ import annotations

import hmac
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from neurips23.errors import UserError

log = logging.getLogger(__name__)

_UNION_TAG = re.compile(r"str|int|float|bool|list\[.*\]|dict\[.*\]|function-.*")

MAX_CHOICES = 1024
"""Most choices (prompts x n) one request may ask for."""


# ---------------------------------------------------------------------------------------------
# Token spans: how the echoed prompt is cut into tokens for `logprobs`
# ---------------------------------------------------------------------------------------------

def token_spans(text: str, tokenizer: Any = None) -> list[tuple[int, int]]:
    """Character spans of `text`'s tokens, OpenAI style: token i covers text[end(i-1):end(i)],
    i.e. it carries the whitespace before it, so that the spans tile the text and a client can
    tell prompt tokens from continuation tokens by `text_offset` alone. Uses the model's fast
    tokenizer offsets when there is one, else whitespace-separated words."""
    ends: list[int] = []
    if tokenizer is not None:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ends = [e for s, e in enc["offset_mapping"] if e > s or not ends]
    else:
        ends = [m.end() for m in re.finditer(r"\S+", text)]
    if not ends:
        return []
    starts = [0] + ends[:-1]
    ends[-1] = len(text)  # trailing whitespace joins the last token
    return [(s, max(s, e)) for s, e in zip(starts, ends, strict=True)]


def count_tokens(text: str, tokenizer: Any = None) -> int:
    """Tokens in `text` by the model's tokenizer (no special tokens), else whitespace words."""
    if tokenizer is not None:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return len(text.split())


def echo_logprobs(backend: Any, texts: Sequence[str], tokenizer: Any = None) -> list[dict]:
    """OpenAI `logprobs` objects (tokens, token_logprobs, text_offset, top_logprobs) of each
    text's own tokens, from `backend.score`: the first token has no context (None), each later
    one is scored given everything before it.

    One score call with (first token, rest) per text; if the backend tokenizes the rest into a
    different number of tokens than `token_spans`, those texts fall back to scoring each token
    given its prefix (exact for any tokenizer, but quadratic work)."""
    spans = [token_spans(t, tokenizer) for t in texts]
    todo = [i for i, sp in enumerate(spans) if len(sp) > 1]
    lps: dict[int, list[float | None]] = {i: [None] * len(sp) for i, sp in enumerate(spans)}
    if todo:
        scores = backend.score([texts[i][: spans[i][0][1]] for i in todo],
                               [texts[i][spans[i][0][1]:] for i in todo])
        slow = []
        for i, sc in zip(todo, scores, strict=True):
            if len(sc.token_logprobs) == len(spans[i]) - 1:
                lps[i][1:] = [float(x) for x in sc.token_logprobs]
            else:
                slow.append(i)
        pairs = [(i, k) for i in slow for k in range(1, len(spans[i]))]
        if pairs:
            scores = backend.score([texts[i][: spans[i][k][0]] for i, k in pairs],
                                   [texts[i][spans[i][k][0]: spans[i][k][1]] for i, k in pairs])
            for (i, k), sc in zip(pairs, scores, strict=True):
                lps[i][k] = float(sc.logprob)
    out = []
    for i, text in enumerate(texts):
        out.append({"tokens": [text[s:e] for s, e in spans[i]],
                    "token_logprobs": lps[i],
                    "top_logprobs": [None] * len(spans[i]),
                    "text_offset": [s for s, _ in spans[i]]})
    return out


# ---------------------------------------------------------------------------------------------
# The worker: one thread owns the model and micro-batches waiting requests
# ---------------------------------------------------------------------------------------------

@dataclass
class _Job:
    kind: Literal["generate", "chat", "score"]
    params: tuple  # hashable sampling settings; jobs with equal (kind, params) share a batch
    items: list
    batchable: bool
    future: Future = field(default_factory=Future)


class MicroBatcher:
    """Runs backend calls on one thread; jobs waiting together with equal settings are joined
    into one call. A failing joined call is retried job by job, so one bad request fails alone."""

    def __init__(self, backend: Any, tokenizer: Any = None) -> None:
        self.backend = backend
        self.tokenizer = tokenizer
        self.calls = 0  # backend calls made (a test checks that concurrent requests share them)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, kind: str, params: dict, items: list, batchable: bool = True) -> list:
        """Run `backend.<kind>(items, **params)` (possibly joined with others); its results."""
        self._ensure_started()
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
        job = _Job(kind, key, items, batchable)  # type: ignore[arg-type]
        self._queue.put(job)
        return job.future.result()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="serve-model",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            groups: dict[tuple, list[_Job]] = {}
            for j in jobs:
                key = (j.kind, j.params) if j.batchable else (j.kind, j.params, id(j))
                groups.setdefault(key, []).append(j)
            for group in groups.values():
                self._run(group)

    def _call(self, kind: str, params: tuple, items: list) -> list:
        self.calls += 1
        if kind == "score":
            return echo_logprobs(self.backend, items, self.tokenizer)
        fn: Callable[..., list] = getattr(self.backend, kind)
        return fn(items, **dict(params))

    def _run(self, group: list[_Job]) -> None:
        items = [x for j in group for x in j.items]
        try:
            results = self._call(group[0].kind, group[0].params, items)
            if len(results) != len(items):
                raise RuntimeError(f"backend.{group[0].kind} returned {len(results)} results "
                                   f"for {len(items)} inputs")
        except Exception as e:
            if len(group) == 1:
                group[0].future.set_exception(e)
            else:
                for j in group:
                    self._run([j])
            return
        pos = 0
        for j in group:
            j.future.set_result(results[pos: pos + len(j.items)])
            pos += len(j.items)


# ---------------------------------------------------------------------------------------------
# Request bodies (extra OpenAI fields we do not use are ignored)
# ---------------------------------------------------------------------------------------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    n: int = Field(1, ge=1, le=128)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=0)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False


class CompletionRequest(_Body):
    prompt: str | list[str]
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=5)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str


class ChatRequest(_Body):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=0)


class APIError(Exception):
    """An error answered as OpenAI-style JSON: {"error": {message, type, param, code}}."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = (
            status, message, param, code, type)

    def response(self) -> JSONResponse:
        return JSONResponse(status_code=self.status, content={"error": {
            "message": self.message, "type": self.type, "param": self.param, "code": self.code}})


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------

def create_app(backend: Any, model_name: str, api_key: str | None = None) -> FastAPI:
    """An OpenAI-compatible FastAPI app serving `backend` (a `LanguageModel`) as `model_name`;
    with `api_key`, every /v1 request must carry `Authorization: Bearer <api_key>`."""
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None and not callable(tokenizer):
        tokenizer = None
    batcher = MicroBatcher(backend, tokenizer)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        batcher.close()

    app = FastAPI(title=f"neurips23 serve: {model_name}", lifespan=lifespan)
    app.state.batcher = batcher

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        # pydantic names the member of a union it tried (prompt.str, prompt.list[str].0)
        union = [x for x in loc if _UNION_TAG.fullmatch(x)]
        param = ".".join(x for x in loc if x not in union) or None
        msg = "wrong type" if union else err.get("msg", "invalid request")
        if err.get("type") == "json_invalid":
            msg, param = "request body is not valid JSON", None
        elif "input" in err and err.get("type") != "missing":
            msg = f"{msg} (got {err['input']!r:.60})"
        text = f"{param}: {msg}" if param else msg
        return APIError(400, text, param=param).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else None
        msg = (f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405)
               else str(exc.detail))
        return APIError(exc.status_code, msg, code=code).response()

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if api_key and request.url.path.startswith("/v1"):
            header = request.headers.get("authorization", "")
            given = header[7:] if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), api_key.encode()):
                return APIError(401, "invalid or missing API key (Authorization: Bearer ...)",
                                code="invalid_api_key").response()
        return await call_next(request)

    def check_model(name: str) -> None:
        if name != model_name:
            raise APIError(404, f"the model {name!r} does not exist; this server serves "
                                f"{model_name!r}", param="model", code="model_not_found")

    def run(kind: str, params: dict, items: list, batchable: bool) -> list:
        try:
            return batcher.submit(kind, params, items, batchable)
        except UserError as e:
            raise APIError(400, str(e)) from None
        except Exception as e:
            log.exception("backend %s failed", kind)
            raise APIError(500, f"the model failed: {type(e).__name__}: {e}",
                           type="server_error") from None

    def finish_reason(text: str, max_tokens: int) -> str:
        return "length" if count_tokens(text, tokenizer) >= max_tokens else "stop"

    def envelope(kind: str, choices: list[dict], prompt_tokens: int,
                 completion_tokens: int) -> dict:
        return {"id": f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}",
                "object": "chat.completion" if kind == "chat" else "text_completion",
                "created": int(time.time()), "model": model_name, "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}

    def sampling(body: _Body, max_tokens: int, n_prompts: int) -> tuple[list[str], bool]:
        check_model(body.model)
        if body.stream:
            raise APIError(400, "stream=true is not supported by this server", param="stream")
        if n_prompts * body.n > MAX_CHOICES:
            raise APIError(400, f"{n_prompts} prompts x n={body.n} asks for more than "
                                f"{MAX_CHOICES} choices", param="n")
        stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
        # Seeded sampling is kept out of shared batches so that a seed means one output.
        batchable = body.temperature == 0 or body.seed is None
        return stop, batchable

    @app.get("/v1/models")
    def list_models() -> dict:
        return {"object": "list", "data": [{"id": model_name, "object": "model", "created": 0,
                                             "owned_by": "neurips23"}]}

    @app.get("/v1/models/{name:path}")
    def get_model(name: str) -> dict:
        check_model(name)
        return {"id": model_name, "object": "model", "created": 0, "owned_by": "neurips23"}

    @app.post("/v1/completions")
    def completions(body: CompletionRequest) -> dict:
        prompts = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
        if not prompts:
            raise APIError(400, "prompt is an empty list", param="prompt")
        max_tokens = 16 if body.max_tokens is None else body.max_tokens
        stop, batchable = sampling(body, max_tokens, len(prompts))
        prompt_tokens = sum(count_tokens(p, tokenizer) for p in prompts)
        if body.logprobs is not None:
            if not (body.echo and max_tokens == 0):
                raise APIError(400, "logprobs are only returned with echo=true and "
                                    "max_tokens=0 (scoring the prompt)", param="logprobs")
            logprobs = run("score", {}, prompts, True)
            choices = [{"index": i * body.n + k, "text": p, "logprobs": logprobs[i],
                        "finish_reason": "length"}
                       for i, p in enumerate(prompts) for k in range(body.n)]
            return envelope("completion", choices, prompt_tokens, 0)
        if max_tokens == 0:
            texts = [[""] * body.n for _ in prompts]
        else:
            texts = run("generate", dict(n=body.n, temperature=body.temperature,
                                         max_tokens=max_tokens, stop=stop, top_p=body.top_p,
                                         seed=body.seed), prompts, batchable)
        choices, completion_tokens = [], 0
        for i, (p, samples) in enumerate(zip(prompts, texts, strict=True)):
            for k, text in enumerate(samples):
                completion_tokens += count_tokens(text, tokenizer)
                choices.append({"index": i * body.n + k, "text": (p + text) if body.echo
                                else text, "logprobs": None,
                                "finish_reason": finish_reason(text, max_tokens)})
        return envelope("completion", choices, prompt_tokens, completion_tokens)

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest) -> dict:
        max_tokens = body.max_completion_tokens if body.max_tokens is None else body.max_tokens
        max_tokens = 16 if max_tokens is None else max_tokens
        stop, batchable = sampling(body, max_tokens, 1)
        if body.top_p != 1.0:
            raise APIError(400, "top_p is not supported for chat by this server",
                           param="top_p")
        messages = [m.model_dump() for m in body.messages]
        prompt_tokens = sum(count_tokens(m["content"], tokenizer) for m in messages)
        if max_tokens == 0:
            replies = [""] * body.n
        else:
            replies = run("chat", dict(n=body.n, temperature=body.temperature,
                                       max_tokens=max_tokens, stop=stop, seed=body.seed),
                          [messages], batchable)[0]
        choices = [{"index": k, "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason(text, max_tokens)}
                   for k, text in enumerate(replies)]
        return envelope("chat", choices, prompt_tokens,
                        sum(count_tokens(t, tokenizer) for t in replies))

    return app


def serve(model: str, host: str = "127.0.0.1", port: int = 8000,
          model_name: str | None = None, api_key_env: str | None = None) -> None:
    """Serve a local or hub model (`load_backend("hf", model)`) on host:port until Ctrl-C.
    Clients ask for it as `model_name` (default: `model` as given). With `api_key_env`, the
    key in that environment variable is required from clients."""
    import os

    import uvicorn

    from neurips23.errors import ConfigError
    from neurips23.lm.backends import load_backend

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise ConfigError(f"api_key_env={api_key_env!r} names an unset environment variable")
    backend = load_backend("hf", model)
    app = create_app(backend, model_name or model, api_key=api_key)
    uvicorn.run(app, host=host, port=port, log_level="info")


@contextmanager
def background_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn in a daemon thread (port 0: a free one) for as long as the
    `with` block lasts; yields its base URL, `http://host:port/v1`."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="serve-uvicorn", daemon=True)
    port = sock.getsockname()[1]
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
