"""POST /v1/completions: text completion of one or many prompts (texts or token ids), with
log-probs of the generated tokens and, with echo, of the prompt's tokens (how
lm-evaluation-harness scores log-likelihoods)."""

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
    texts_or_ids = body.prompts()
    if not texts_or_ids or any(p == [] for p in texts_or_ids):
        raise APIError(400, "prompt is empty", param="prompt")
    batchable = state.check_sampling(body, len(texts_or_ids))
    prompts = [state.engine.encode(p) for p in texts_or_ids]
    requested = DEFAULT_MAX_TOKENS if body.max_tokens is None else body.max_tokens
    max_tokens = state.completion_budget(prompts, requested)
    state.engine.check(body.echo, body.logprobs, max_tokens)
    params = dict(n=body.n, temperature=body.temperature, top_p=body.top_p,
                  max_tokens=max_tokens, stop=body.stop_list(), seed=body.seed,
                  logprobs=body.logprobs, echo=body.echo)
    groups = state.run("complete", params, prompts, batchable)
    choices = [{"index": i * body.n + k, "text": c.text, "logprobs": c.logprobs,
                "finish_reason": c.finish_reason}
               for i, group in enumerate(groups) for k, c in enumerate(group)]
    completion_tokens = sum(c.completion_tokens for group in groups for c in group)
    return state.envelope("text_completion", choices, sum(p.n_tokens for p in prompts),
                          completion_tokens)
