"""POST /v1/completions: text completion of one or many prompts (texts or token ids), with
log-probs of the generated tokens and, with echo, of the prompt's tokens (how
lm-evaluation-harness scores log-likelihoods); streamed as server-sent events with stream=true."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from neurips23.serve.errors import APIError
from neurips23.serve.schemas import CompletionRequest
from neurips23.serve.state import ServerState
from neurips23.serve.streaming import ChunkFormat, StreamPlan, stream

DEFAULT_MAX_TOKENS = 16
"""max_tokens of a completion request that gives none (the OpenAI API's default)."""


def plan_completion(state: ServerState, body: CompletionRequest) -> StreamPlan:
    """Validate and tokenize the request (in a worker thread: tokenizing takes time)."""
    texts_or_ids = body.prompts()
    if not texts_or_ids or any(p == [] for p in texts_or_ids):
        raise APIError(400, "prompt is empty", param="prompt")
    batchable, sampling = state.check_sampling(body, len(texts_or_ids))
    if body.stream and body.logprobs is not None:
        raise APIError(400, "logprobs are not supported with stream=true by this server",
                       param="logprobs")
    prompts = [state.engine.encode(p) for p in texts_or_ids]
    requested = DEFAULT_MAX_TOKENS if body.max_tokens is None else body.max_tokens
    max_tokens = state.completion_budget(prompts, requested)
    state.check_request_tokens(len(prompts), body.n, max_tokens)
    state.engine.check(body.echo, body.logprobs, max_tokens)
    params = dict(n=body.n, **sampling, max_tokens=max_tokens, stop=body.stop_list(),
                  seed=body.seed, logprobs=body.logprobs, echo=body.echo)
    return StreamPlan("complete", params, prompts, batchable, body.n,
                      [p.text for p in prompts] if body.echo else None)


async def create_completion(state: ServerState, body: CompletionRequest, request: Request) -> Any:
    """The completion response: n choices per prompt, indexed prompt-major, with usage."""
    plan = await run_in_threadpool(plan_completion, state, body)
    if body.stream:
        return stream(state, request, plan,
                      ChunkFormat(chat=False, model=state.model_name,
                                  include_usage=body.include_usage()))
    groups = await state.run(request, "complete", plan.params, plan.prompts, plan.batchable)
    choices = [{"index": i * body.n + k, "text": c.text, "logprobs": c.logprobs,
                "finish_reason": c.finish_reason}
               for i, group in enumerate(groups) for k, c in enumerate(group)]
    completion_tokens = sum(c.completion_tokens for group in groups for c in group)
    return state.envelope("text_completion", choices, sum(p.n_tokens for p in plan.prompts),
                          completion_tokens)
