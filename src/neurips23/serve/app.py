"""The FastAPI app: routes, middleware and `create_app`, over the state every handler reads
(`state.ServerState`, with its `Limits`).

Routes: GET /v1/models, GET /v1/models/{id}, POST /v1/completions, POST /v1/chat/completions.
Handlers are async: they validate and tokenize in a worker thread, hand model work to the one
model thread (`batching.MicroBatcher`) and wait for it without blocking the event loop, so
/v1/models answers while the model is busy. A full admission queue is a 429 with Retry-After;
a request whose client disconnects, or that passes its deadline, is cancelled (the model
thread skips or abandons it). The state (`ServerState`) lives on `app.state.server`.
"""

from __future__ import annotations

import hmac
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from neurips23.serve.batching import MicroBatcher
from neurips23.serve.chat import create_chat_completion
from neurips23.serve.completions import create_completion
from neurips23.serve.engine import make_engine
from neurips23.serve.errors import APIError, BodyLimit, install_error_handlers
from neurips23.serve.schemas import ChatRequest, CompletionRequest
from neurips23.serve.state import DEFAULT_TOKEN_LIMIT, ClientGone, Limits, ServerState


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
