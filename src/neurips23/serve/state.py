"""The state every handler reads (`ServerState`, on `app.state.server`): the served model, its
name, the model thread, the limits (`Limits`) and the key clients present; what every
generation request shares (model name, sampling, token budgets), admission to the model thread
(a full queue is a 429 with Retry-After), waiting for a job without blocking the event loop
(cancelled when the client disconnects or the deadline passes), and the response envelope.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from neurips23.errors import UserError
from neurips23.serve.batching import Cancelled, Job, MicroBatcher, Overloaded, StepSink
from neurips23.serve.errors import APIError, overloaded
from neurips23.serve.schemas import SamplingBody

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
