"""POST /v1/completions: text completion of one or many prompts; prompt scoring with echo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurips23.serve.errors import APIError
from neurips23.serve.schemas import CompletionRequest

if TYPE_CHECKING:
    from neurips23.serve.app import ServerState

DEFAULT_MAX_TOKENS = 16
"""max_tokens of a completion request that gives none (the OpenAI API's default)."""


def create_completion(state: ServerState, body: CompletionRequest) -> dict:
    """The completion response: n choices per prompt, indexed prompt-major, with usage."""
    prompts = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
    if not prompts:
        raise APIError(400, "prompt is an empty list", param="prompt")
    max_tokens = DEFAULT_MAX_TOKENS if body.max_tokens is None else body.max_tokens
    batchable = state.check_sampling(body, len(prompts))
    state.engine.check_completion(body.echo, body.logprobs, max_tokens)
    params = dict(n=body.n, temperature=body.temperature, top_p=body.top_p,
                  max_tokens=max_tokens, stop=body.stop_list(), seed=body.seed,
                  logprobs=body.logprobs, echo=body.echo)
    groups = state.run("complete", params, prompts, batchable)
    choices = [{"index": i * body.n + k, "text": c.text, "logprobs": c.logprobs,
                "finish_reason": c.finish_reason}
               for i, group in enumerate(groups) for k, c in enumerate(group)]
    prompt_tokens = sum(state.engine.count_tokens(p) for p in prompts)
    completion_tokens = sum(c.completion_tokens for group in groups for c in group)
    return state.envelope("text_completion", choices, prompt_tokens, completion_tokens)
