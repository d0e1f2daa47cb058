"""POST /v1/chat/completions: assistant replies to one conversation. Without `max_tokens`
(or `max_completion_tokens`) a reply runs until the model stops, bounded by the server's
token limit and the model's context. Streamed as server-sent events with stream=true."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from neurips23.serve.errors import APIError
from neurips23.serve.schemas import ChatRequest
from neurips23.serve.state import ServerState
from neurips23.serve.streaming import ChunkFormat, StreamPlan, stream


def plan_chat(state: ServerState, body: ChatRequest) -> StreamPlan:
    """Validate the request and render the conversation (in a worker thread)."""
    batchable, sampling = state.check_sampling(body, 1)
    if body.top_logprobs is not None and not body.logprobs:
        raise APIError(400, "top_logprobs needs logprobs=true", param="top_logprobs")
    if body.stream and body.logprobs:
        raise APIError(400, "logprobs are not supported with stream=true by this server",
                       param="logprobs")
    messages = [m.as_dict(i) for i, m in enumerate(body.messages)]
    prompt = state.engine.chat_prompt(messages)
    requested = body.max_tokens if body.max_tokens is not None else body.max_completion_tokens
    max_tokens = state.completion_budget([prompt], requested, "messages")
    state.check_request_tokens(1, body.n, max_tokens)
    params = dict(n=body.n, **sampling, max_tokens=max_tokens, stop=body.stop_list(),
                  seed=body.seed, logprobs=(body.top_logprobs or 0) if body.logprobs else None)
    return StreamPlan("chat", params, [prompt], batchable, body.n)


async def create_chat_completion(state: ServerState, body: ChatRequest, request: Request) -> Any:
    """The chat response: n assistant messages (with logprobs when asked for) and usage."""
    plan = await run_in_threadpool(plan_chat, state, body)
    if body.stream:
        return stream(state, request, plan,
                      ChunkFormat(chat=True, model=state.model_name,
                                  include_usage=body.include_usage()))
    [group] = await state.run(request, "chat", plan.params, plan.prompts, plan.batchable)
    choices = [{"index": k, "message": {"role": "assistant", "content": c.text},
                "logprobs": {"content": c.chat_logprobs} if body.logprobs else None,
                "finish_reason": c.finish_reason} for k, c in enumerate(group)]
    return state.envelope("chat.completion", choices, plan.prompts[0].n_tokens,
                          sum(c.completion_tokens for c in group))
