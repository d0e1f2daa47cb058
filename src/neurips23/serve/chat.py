"""POST /v1/chat/completions: assistant replies to one conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurips23.serve.errors import APIError
from neurips23.serve.schemas import ChatRequest

if TYPE_CHECKING:
    from neurips23.serve.app import ServerState

DEFAULT_MAX_TOKENS = 16


def create_chat_completion(state: ServerState, body: ChatRequest) -> dict:
    """The chat response: n assistant messages with usage."""
    max_tokens = body.max_completion_tokens if body.max_tokens is None else body.max_tokens
    max_tokens = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    batchable = state.check_sampling(body, 1)
    if body.top_p != 1.0:
        raise APIError(400, "top_p is not supported for chat by this server", param="top_p")
    messages = [m.model_dump() for m in body.messages]
    params = dict(n=body.n, temperature=body.temperature, max_tokens=max_tokens,
                  stop=body.stop_list(), seed=body.seed)
    [group] = state.run("chat", params, [messages], batchable)
    choices = [{"index": k, "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason} for k, c in enumerate(group)]
    prompt_tokens = sum(state.engine.count_tokens(m["content"]) for m in messages)
    return state.envelope("chat.completion", choices, prompt_tokens,
                          sum(c.completion_tokens for c in group))
