"""POST /v1/chat/completions: assistant replies to one conversation. Without `max_tokens`
(or `max_completion_tokens`) a reply runs until the model stops, bounded by the server's
token limit and the model's context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurips23.serve.errors import APIError
from neurips23.serve.schemas import ChatRequest

if TYPE_CHECKING:
    from neurips23.serve.app import ServerState


def create_chat_completion(state: ServerState, body: ChatRequest) -> dict:
    """The chat response: n assistant messages (with logprobs when asked for) and usage."""
    batchable = state.check_sampling(body, 1)
    if body.top_logprobs is not None and not body.logprobs:
        raise APIError(400, "top_logprobs needs logprobs=true", param="top_logprobs")
    messages = [m.as_dict(i) for i, m in enumerate(body.messages)]
    prompt = state.engine.chat_prompt(messages)
    requested = body.max_tokens if body.max_tokens is not None else body.max_completion_tokens
    max_tokens = state.completion_budget([prompt], requested, "messages")
    params = dict(n=body.n, temperature=body.temperature, top_p=body.top_p,
                  max_tokens=max_tokens, stop=body.stop_list(), seed=body.seed,
                  logprobs=(body.top_logprobs or 0) if body.logprobs else None)
    [group] = state.run("chat", params, [prompt], batchable)
    choices = [{"index": k, "message": {"role": "assistant", "content": c.text},
                "logprobs": {"content": c.chat_logprobs} if body.logprobs else None,
                "finish_reason": c.finish_reason} for k, c in enumerate(group)]
    return state.envelope("chat.completion", choices, prompt.n_tokens,
                          sum(c.completion_tokens for c in group))
