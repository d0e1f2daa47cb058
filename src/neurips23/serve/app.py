"""The FastAPI app: routes, API-key check, and the state every handler reads.

Routes: GET /v1/models, GET /v1/models/{id}, POST /v1/completions, POST /v1/chat/completions.
Handlers run in FastAPI's thread pool and hand model work to the one model thread
(`batching.MicroBatcher`); the state (`ServerState`) lives on `app.state.server`.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from neurips23.errors import UserError
from neurips23.serve.batching import MicroBatcher
from neurips23.serve.chat import create_chat_completion
from neurips23.serve.completions import create_completion
from neurips23.serve.engine import make_engine
from neurips23.serve.errors import APIError, install_error_handlers
from neurips23.serve.schemas import ChatRequest, CompletionRequest, SamplingBody

log = logging.getLogger(__name__)

MAX_CHOICES = 1024
"""Most choices (prompts x n) one request may ask for."""

DEFAULT_TOKEN_LIMIT = 1024
"""Most tokens one completion may generate unless `neurips23 serve --max-tokens` says otherwise."""


@dataclass
class ServerState:
    """The served model, its name, the model thread and the key clients must present."""

    engine: Any
    model_name: str
    batcher: MicroBatcher
    api_key: str | None = None
    token_limit: int = DEFAULT_TOKEN_LIMIT

    def check_model(self, name: str) -> None:
        """404 unless `name` is the served model."""
        if name != self.model_name:
            raise APIError(404, f"the model {name!r} does not exist; this server serves "
                                f"{self.model_name!r}", param="model", code="model_not_found")

    def check_sampling(self, body: SamplingBody, n_prompts: int) -> bool:
        """Validate what every generation request shares; whether it may join a batch."""
        self.check_model(body.model)
        body.refuse_unsupported()
        if n_prompts * body.n > MAX_CHOICES:
            raise APIError(400, f"{n_prompts} prompts x n={body.n} asks for more than "
                                f"{MAX_CHOICES} choices", param="n")
        # Seeded sampling is kept out of shared batches so that a seed means one output.
        return body.temperature == 0 or body.seed is None

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

    def run(self, kind: str, params: dict, items: list, batchable: bool) -> list:
        """`engine.<kind>(items, **params)` on the model thread; model errors as APIErrors."""
        try:
            return self.batcher.submit(kind, params, items, batchable)
        except (APIError, UserError) as e:
            raise e if isinstance(e, APIError) else APIError(400, str(e)) from None
        except Exception as e:
            log.exception("model call %s failed", kind)
            raise APIError(500, f"the model failed: {type(e).__name__}: {e}",
                           type="server_error") from None

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
def completions(body: CompletionRequest, request: Request) -> dict:
    """Text completions (and prompt scoring with echo + logprobs)."""
    return create_completion(_state(request), body)


@router.post("/chat/completions")
def chat_completions(body: ChatRequest, request: Request) -> dict:
    """Chat completions."""
    return create_chat_completion(_state(request), body)


async def require_api_key(request: Request, call_next):
    """401 for a /v1 request without `Authorization: Bearer <key>` when the server has a key."""
    key = _state(request).api_key
    if key and request.url.path.startswith("/v1"):
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), key.encode()):
            return APIError(401, "invalid or missing API key (Authorization: Bearer ...)",
                            code="invalid_api_key").response()
    return await call_next(request)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Stop the model thread when the server shuts down."""
    yield
    app.state.server.batcher.close()


def create_app(backend: Any, model_name: str, api_key: str | None = None,
               token_limit: int = DEFAULT_TOKEN_LIMIT) -> FastAPI:
    """An OpenAI-compatible FastAPI app serving `backend` (a `LanguageModel`; an `HFBackend`
    is served token by token) as `model_name`. With `api_key`, every /v1 request must carry
    `Authorization: Bearer <api_key>`; no completion generates more than `token_limit` tokens."""
    engine = make_engine(backend)

    def call(kind: str, params: dict, items: list) -> list:
        return getattr(engine, kind)(items, **params)

    app = FastAPI(title=f"neurips23 serve: {model_name}", lifespan=lifespan)
    app.state.server = ServerState(engine, model_name, MicroBatcher(call), api_key,
                                   token_limit)
    app.state.batcher = app.state.server.batcher
    install_error_handlers(app)
    app.middleware("http")(require_api_key)
    app.include_router(router)
    return app
