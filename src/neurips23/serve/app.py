"""The FastAPI app: routes, limits, and the state every handler reads.

Routes: GET /v1/models, GET /v1/models/{id}, POST /v1/completions, POST /v1/chat/completions.
Handlers are async: they validate and tokenize in a worker thread, hand model work to the one
model thread (`batching.MicroBatcher`) and wait for it without blocking the event loop, so
/v1/models answers while the model is busy. A full admission queue is a 429 with Retry-After;
a request whose client disconnects, or that passes its deadline, is cancelled (the model
thread skips or abandons it). The state (`ServerState`) lives on `app.state.server`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from neurips23.errors import UserError
from neurips23.serve.batching import Cancelled, Job, MicroBatcher, Overloaded, StepSink
from neurips23.serve.chat import create_chat_completion
from neurips23.serve.completions import create_completion
from neurips23.serve.engine import make_engine
from neurips23.serve.errors import APIError, BodyLimit, install_error_handlers, overloaded
from neurips23.serve.schemas import ChatRequest, CompletionRequest, SamplingBody

log = logging.getLogger(__name__)

MAX_CHOICES = 1024
"""Most choices (prompts x n) one request may ask for."""

DEFAULT_TOKEN_LIMIT = 1024
"""Most tokens one completion may generate unless `neurips23 serve --max-tokens` says otherwise."""


@dataclass
class Limits:
    """What one server admits (each a `neurips23 serve` option)."""

    token_limit: int = DEFAULT_TOKEN_LIMIT  # tokens per completion (--max-tokens)
    max_pending: int = 64  # requests admitted at once, waiting or running (--max-pending)
    request_tokens: int = 32768  # prompts x n x max_tokens per request (--max-request-tokens)
    timeout_s: float = 600.0  # a request's deadline, from admission (--request-timeout)
    body_bytes: int = 4 * 2**20  # request body size (--max-body-bytes)
    retry_after_s: int = 1  # the Retry-After of a 429


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


@dataclass
class ServerState:
    """The served model, its name, the model thread, the limits and the key clients present."""

    engine: Any
    model_name: str
    batcher: MicroBatcher
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    poll_s: float = 0.1  # how often a waiting handler checks its client and deadline

    @property
    def token_limit(self) -> int:
        return self.limits.token_limit

    def check_model(self, name: str) -> None:
        """404 unless `name` is the served model."""
        if name != self.model_name:
            raise APIError(404, f"the model {name!r} does not exist; this server serves "
                                f"{self.model_name!r}", param="model", code="model_not_found")

    def check_sampling(self, body: SamplingBody, n_prompts: int) -> tuple[bool, dict]:
        """Validate what every generation request shares: (whether it may join a batch,
        its temperature/top_p/top_k with the model's defaults where it is silent)."""
        self.check_model(body.model)
        body.refuse_unsupported()
        if n_prompts * body.n > MAX_CHOICES:
            raise APIError(400, f"{n_prompts} prompts x n={body.n} asks for more than "
                                f"{MAX_CHOICES} choices", param="n")
        sampling = body.sampling(self.engine.sampling_defaults())
        # Seeded sampling is kept out of shared batches so that a seed means one output.
        return sampling["temperature"] == 0 or body.seed is None, sampling

    def check_request_tokens(self, n_prompts: int, n: int, max_tokens: int) -> None:
        """400 when prompts x n x max_tokens is over the server's per-request cap."""
        total = n_prompts * n * max_tokens
        if total > self.limits.request_tokens:
            raise APIError(400, f"{n_prompts} prompt(s) x n={n} x max_tokens={max_tokens} = "
                                f"{total} tokens is over this server's limit of "
                                f"{self.limits.request_tokens} per request (ask for fewer, or "
                                "set max_tokens)", param="max_tokens", code="request_too_large")

    def completion_budget(self, prompts: list[Any], requested: int | None,
                          param: str = "prompt") -> int:
        """Tokens each completion may generate: `requested` (400 if over the server's limit or
        the model's context), else as many as the limit and the context allow."""
        if requested is not None and requested > self.token_limit:
            raise APIError(400, f"max_tokens={requested} is over this server's limit of "
                                f"{self.token_limit} tokens per completion (neurips23 serve "
                                "--max-tokens)", param="max_tokens", code="max_tokens_exceeded")
        budget = self.token_limit if requested is None else requested
        context = self.engine.context_length
        longest = max(p.n_tokens for p in prompts)
        if context and (longest + (budget if requested is not None else 1) > context):
            asked = f" and {requested} completion tokens" if requested is not None else ""
            raise APIError(400, f"this model's maximum context length is {context} tokens; the "
                                f"request has {longest} prompt tokens{asked}",
                           param=param,
                           code="context_length_exceeded")
        return min(budget, context - longest) if context and requested is None else budget

    def refuse_if_full(self) -> None:
        """429 at once, before any tokenizing, while the admission queue is full (`submit` still
        checks again, so a request that passes here may yet be refused)."""
        if self.batcher.pending >= self.batcher.max_pending:
            self.batcher.refused += 1
            raise overloaded(self.batcher.pending, self.limits.retry_after_s)

    def submit(self, kind: str, params: dict, items: list, batchable: bool,
               on_token: StepSink | None = None) -> Job:
        """Admit `engine.<kind>(items, **params)` to the model thread; 429 when full."""
        try:
            return self.batcher.submit(kind, params, items, batchable, on_token)
        except Overloaded:
            raise overloaded(self.batcher.pending, self.limits.retry_after_s) from None

    def outcome(self, job: Job) -> list:
        """The finished job's results; its failure as an APIError."""
        try:
            return job.future.result()
        except (APIError, UserError) as e:
            raise e if isinstance(e, APIError) else APIError(400, str(e)) from None
        except Cancelled:
            raise ClientGone() from None
        except Exception as e:
            log.exception("model call %s failed", job.kind)
            raise APIError(500, f"the model failed: {type(e).__name__}: {e}",
                           type="server_error") from None

    def deadline_error(self) -> APIError:
        """504: the request ran past its deadline (and was abandoned)."""
        return APIError(504, f"the request ran past this server's deadline of "
                             f"{self.limits.timeout_s:g} s (neurips23 serve --request-timeout)",
                        type="server_error", code="timeout")

    async def run(self, request: Request, kind: str, params: dict, items: list,
                  batchable: bool) -> list:
        """The results of `engine.<kind>(items, **params)`, awaited without blocking the event
        loop; cancelled when the client disconnects or the deadline passes."""
        job = self.submit(kind, params, items, batchable)
        done = asyncio.wrap_future(job.future)
        deadline = time.monotonic() + self.limits.timeout_s
        try:
            while not done.done():
                await asyncio.wait({done}, timeout=self.poll_s)
                if done.done():
                    break
                if await request.is_disconnected():
                    raise ClientGone()
                if time.monotonic() > deadline:
                    raise self.deadline_error()
            return self.outcome(job)
        finally:
            job.cancel()  # no effect once finished

    def envelope(self, obj: str, choices: list[dict], prompt_tokens: int,
                 completion_tokens: int) -> dict:
        """The response object around `choices`, with id, model and usage."""
        prefix = "chatcmpl" if obj == "chat.completion" else "cmpl"
        return {"id": f"{prefix}-{uuid.uuid4().hex}", "object": obj, "created": int(time.time()),
                "model": self.model_name, "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}


def _state(request: Request) -> ServerState:
    return request.app.state.server


router = APIRouter(prefix="/v1")


def _model_card(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "neurips23"}


@router.get("/models")
def list_models(request: Request) -> dict:
    """The one served model."""
    return {"object": "list", "data": [_model_card(_state(request).model_name)]}


@router.get("/models/{name:path}")
def get_model(name: str, request: Request) -> dict:
    """The served model's card, 404 for any other name."""
    _state(request).check_model(name)
    return _model_card(name)


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request) -> Any:
    """Text completions (and prompt scoring with echo + logprobs); streamed with stream=true."""
    _state(request).refuse_if_full()
    return await create_completion(_state(request), body, request)


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    """Chat completions; streamed with stream=true."""
    _state(request).refuse_if_full()
    return await create_chat_completion(_state(request), body, request)


async def client_gone(request: Request, exc: ClientGone) -> Any:
    """The answer to a client that has left (nobody reads it)."""
    return APIError(400, "the client closed the request", code="client_closed").response()


class RequireKey:
    """ASGI middleware: 401 for a /v1 request without `Authorization: Bearer <key>`."""

    def __init__(self, app, key: str) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            given = header[7:] if header[:7].lower() == b"bearer " else b""
            if not hmac.compare_digest(given, self.key.encode()):
                error = APIError(401, "invalid or missing API key (Authorization: Bearer ...)",
                                 code="invalid_api_key")
                return await error.response()(scope, receive, send)
        await self.app(scope, receive, send)


class ServerTiming:
    """ASGI middleware: a `Server-Timing: app;dur=<ms>` header on every response, the time from
    the request reaching the app to its response starting (what a client's own clock adds,
    connecting and queueing on its side, is not in it)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()

        async def timed_send(message) -> None:
            if message["type"] == "http.response.start":
                ms = f"app;dur={(time.perf_counter() - t0) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", ms)]}
            await send(message)

        await self.app(scope, receive, timed_send)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Stop the model thread when the server shuts down."""
    yield
    app.state.server.batcher.close()


def create_app(backend: Any, model_name: str, api_key: str | None = None,
               token_limit: int = DEFAULT_TOKEN_LIMIT, limits: Limits | None = None) -> FastAPI:
    """An OpenAI-compatible FastAPI app serving `backend` (a `LanguageModel`; an `HFBackend`
    is served token by token) as `model_name`. With `api_key`, every /v1 request must carry
    `Authorization: Bearer <api_key>`; no completion generates more than `token_limit` tokens
    (or `limits.token_limit` when `limits` is given)."""
    engine = make_engine(backend)
    limits = limits or Limits(token_limit=token_limit)

    def call(kind: str, params: dict, items: list, observer: Any = None) -> list:
        return getattr(engine, kind)(items, observer=observer, **params)

    app = FastAPI(title=f"neurips23 serve: {model_name}", lifespan=lifespan)
    batcher = MicroBatcher(call, max_pending=limits.max_pending)
    app.state.server = ServerState(engine, model_name, batcher, api_key, limits)
    app.state.batcher = batcher
    install_error_handlers(app)
    app.add_exception_handler(ClientGone, client_gone)  # type: ignore[arg-type]
    if api_key:
        app.add_middleware(RequireKey, key=api_key)
    app.add_middleware(BodyLimit, max_bytes=limits.body_bytes)
    app.add_middleware(ServerTiming)
    app.include_router(router)
    return app
