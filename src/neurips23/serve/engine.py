"""What the server asks of a model: completions and chat replies with their token counts.

`TextEngine` serves any `LanguageModel` (text in, text out): its prompt log-probs come from
`LanguageModel.score` over the prompt's tokens, its finish reason is inferred from the length
of the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neurips23.serve.errors import APIError


@dataclass
class Choice:
    """One completion as the server reports it."""

    text: str
    finish_reason: str
    completion_tokens: int
    logprobs: dict | None = None


def token_spans(text: str, tokenizer: Any = None) -> list[tuple[int, int]]:
    """Character spans of `text`'s tokens, OpenAI style: token i covers text[end(i-1):end(i)],
    i.e. it carries the whitespace before it, so that the spans tile the text and a client can
    tell prompt tokens from continuation tokens by `text_offset` alone. Uses the model's fast
    tokenizer offsets when there is one, else whitespace-separated words."""
    ends: list[int] = []
    if tokenizer is not None:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ends = [e for s, e in enc["offset_mapping"] if e > s or not ends]
    else:
        ends = [m.end() for m in re.finditer(r"\S+", text)]
    if not ends:
        return []
    starts = [0] + ends[:-1]
    ends[-1] = len(text)  # trailing whitespace joins the last token
    return [(s, max(s, e)) for s, e in zip(starts, ends, strict=True)]


def count_tokens(text: str, tokenizer: Any = None) -> int:
    """Tokens in `text` by the model's tokenizer (no special tokens), else whitespace words."""
    if tokenizer is not None:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return len(text.split())


def echo_logprobs(backend: Any, texts: Sequence[str], tokenizer: Any = None) -> list[dict]:
    """OpenAI `logprobs` objects (tokens, token_logprobs, text_offset, top_logprobs) of each
    text's own tokens, from `backend.score`: the first token has no context (None), each later
    one is scored given everything before it.

    One score call with (first token, rest) per text; if the backend tokenizes the rest into a
    different number of tokens than `token_spans`, those texts fall back to scoring each token
    given its prefix (exact for any tokenizer, but quadratic work)."""
    spans = [token_spans(t, tokenizer) for t in texts]
    todo = [i for i, sp in enumerate(spans) if len(sp) > 1]
    lps: dict[int, list[float | None]] = {i: [None] * len(sp) for i, sp in enumerate(spans)}
    if todo:
        scores = backend.score([texts[i][: spans[i][0][1]] for i in todo],
                               [texts[i][spans[i][0][1]:] for i in todo])
        slow = []
        for i, sc in zip(todo, scores, strict=True):
            if len(sc.token_logprobs) == len(spans[i]) - 1:
                lps[i][1:] = [float(x) for x in sc.token_logprobs]
            else:
                slow.append(i)
        pairs = [(i, k) for i in slow for k in range(1, len(spans[i]))]
        if pairs:
            scores = backend.score([texts[i][: spans[i][k][0]] for i, k in pairs],
                                   [texts[i][spans[i][k][0]: spans[i][k][1]] for i, k in pairs])
            for (i, k), sc in zip(pairs, scores, strict=True):
                lps[i][k] = float(sc.logprob)
    return [{"tokens": [text[s:e] for s, e in spans[i]], "token_logprobs": lps[i],
             "top_logprobs": [None] * len(spans[i]), "text_offset": [s for s, _ in spans[i]]}
            for i, text in enumerate(texts)]


class TextEngine:
    """Serves any `LanguageModel` through its text methods (generate, chat, score)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        tokenizer = getattr(backend, "tokenizer", None)
        self.tokenizer = tokenizer if callable(tokenizer) else None

    def count_tokens(self, text: str) -> int:
        """Prompt/completion tokens for `usage`."""
        return count_tokens(text, self.tokenizer)

    def check_completion(self, echo: bool, logprobs: int | None, max_tokens: int) -> None:
        """Reject what this engine cannot do before any work is queued."""
        if logprobs is not None and not (echo and max_tokens == 0):
            raise APIError(400, "logprobs are only returned with echo=true and max_tokens=0 "
                                "(scoring the prompt)", param="logprobs")

    def complete(self, prompts: list[str], *, n: int, temperature: float, top_p: float,
                 max_tokens: int, stop: Sequence[str], seed: int | None,
                 logprobs: int | None, echo: bool) -> list[list[Choice]]:
        """n choices per prompt; with logprobs (and echo, max_tokens=0) the prompt's log-probs."""
        if logprobs is not None:
            scored = echo_logprobs(self.backend, prompts, self.tokenizer)
            return [[Choice(p, "length", 0, lp) for _ in range(n)]
                    for p, lp in zip(prompts, scored, strict=True)]
        if max_tokens == 0:
            texts = [[""] * n for _ in prompts]
        else:
            texts = self.backend.generate(prompts, n=n, temperature=temperature,
                                          max_tokens=max_tokens, stop=list(stop), top_p=top_p,
                                          seed=seed)
        return [[self._choice((p if echo else "") + t, t, max_tokens) for t in samples]
                for p, samples in zip(prompts, texts, strict=True)]

    def chat(self, conversations: list[list[dict]], *, n: int, temperature: float,
             max_tokens: int, stop: Sequence[str], seed: int | None) -> list[list[Choice]]:
        """n assistant replies per conversation."""
        if max_tokens == 0:
            return [[self._choice("", "", 0) for _ in range(n)] for _ in conversations]
        replies = self.backend.chat(conversations, n=n, temperature=temperature,
                                    max_tokens=max_tokens, stop=list(stop), seed=seed)
        return [[self._choice(t, t, max_tokens) for t in group] for group in replies]

    def _choice(self, shown: str, generated: str, max_tokens: int) -> Choice:
        k = self.count_tokens(generated)
        return Choice(shown, "length" if k >= max_tokens else "stop", k)
