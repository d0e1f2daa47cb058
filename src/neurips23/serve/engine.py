"""What the server asks of a model: prompts encoded, completions and chat replies with their
token counts and log-probs.

`TokenEngine` serves an in-process transformers model (`HFBackend`): prompts may be token
ids, log-probs and the top alternatives come from the model's distribution at every position,
the finish reason is the model's real stop (an end-of-sequence id, a stop string, the length
limit), and the context length is known. `TextEngine` serves any other `LanguageModel` (text
in, text out, e.g. another endpoint or a test fake): prompt log-probs come from
`LanguageModel.score`, the finish reason is inferred from the length of the text, and
token-id prompts and generated-token log-probs are not available.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neurips23.serve.errors import APIError


@dataclass
class Prompt:
    """A prompt as the model sees it: its text, token ids and each token's character offset
    (None where the engine works on text), or a conversation for a text engine's chat."""

    text: str
    n_tokens: int
    ids: list[int] | None = None
    offsets: list[int] | None = None
    messages: list[dict] | None = None


@dataclass
class Choice:
    """One completion as the server reports it."""

    text: str
    finish_reason: str
    completion_tokens: int
    logprobs: dict | None = None  # completions: OpenAI's logprobs object
    chat_logprobs: list[dict] | None = None  # chat: one entry per generated token
    ended: bool = False  # the model sampled its end-of-sequence token (last in `logprobs`)


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

    context_length: int | None = None

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        tokenizer = getattr(backend, "tokenizer", None)
        self.tokenizer = tokenizer if callable(tokenizer) else None

    def encode(self, prompt: str | list[int]) -> Prompt:
        """The prompt with its token count; token ids are refused."""
        if not isinstance(prompt, str):
            raise APIError(400, "this server's model takes text prompts, not token ids",
                           param="prompt")
        return Prompt(prompt, count_tokens(prompt, self.tokenizer))

    def chat_prompt(self, messages: list[dict]) -> Prompt:
        """The conversation, counted by its messages' tokens."""
        return Prompt("", sum(count_tokens(m["content"], self.tokenizer) for m in messages),
                      messages=messages)

    def check(self, echo: bool, logprobs: int | None, max_tokens: int) -> None:
        """Reject what this engine cannot do before any work is queued."""
        if logprobs is not None and not (echo and max_tokens == 0):
            raise APIError(400, "logprobs are only returned with echo=true and max_tokens=0 "
                                "(scoring the prompt) by this server's model", param="logprobs")

    def sampling_defaults(self) -> dict[str, float | int]:
        """What a request silent on sampling gets: the OpenAI API's defaults."""
        return {"temperature": 1.0, "top_p": 1.0, "top_k": 0}

    def complete(self, prompts: list[Prompt], *, n: int, temperature: float, top_p: float,
                 top_k: int, max_tokens: int, stop: Sequence[str], seed: int | None,
                 logprobs: int | None, echo: bool, observer: Any = None) -> list[list[Choice]]:
        """n choices per prompt; with logprobs (and echo, max_tokens=0) the prompt's log-probs.
        (A text model reports no steps: `observer` is not called.)"""
        _refuse_top_k(top_k)
        texts = [p.text for p in prompts]
        if logprobs is not None:
            scored = echo_logprobs(self.backend, texts, self.tokenizer)
            return [[Choice(t, "length", 0, lp) for _ in range(n)]
                    for t, lp in zip(texts, scored, strict=True)]
        if max_tokens == 0:
            outs = [[""] * n for _ in texts]
        else:
            outs = self.backend.generate(texts, n=n, temperature=temperature,
                                         max_tokens=max_tokens, stop=list(stop), top_p=top_p,
                                         seed=seed)
        return [[self._choice((t if echo else "") + o, o, max_tokens) for o in group]
                for t, group in zip(texts, outs, strict=True)]

    def chat(self, prompts: list[Prompt], *, n: int, temperature: float, top_p: float,
             top_k: int, max_tokens: int, stop: Sequence[str], seed: int | None,
             logprobs: int | None, observer: Any = None) -> list[list[Choice]]:
        """n assistant replies per conversation."""
        _refuse_top_k(top_k)
        if logprobs is not None:
            raise APIError(400, "logprobs are not available from this server's model",
                           param="logprobs")
        if top_p != 1.0:
            raise APIError(400, "top_p is not supported for chat by this server's model",
                           param="top_p")
        if max_tokens == 0:
            return [[self._choice("", "", 0) for _ in range(n)] for _ in prompts]
        replies = self.backend.chat([p.messages for p in prompts], n=n, temperature=temperature,
                                    max_tokens=max_tokens, stop=list(stop), seed=seed)
        return [[self._choice(t, t, max_tokens) for t in group] for group in replies]

    def _choice(self, shown: str, generated: str, max_tokens: int) -> Choice:
        k = count_tokens(generated, self.tokenizer)
        return Choice(shown, "length" if k >= max_tokens else "stop", k)


def _refuse_top_k(top_k: int) -> None:
    if top_k > 0:
        raise APIError(400, "top_k is not supported by this server's model", param="top_k")


class TokenEngine:
    """Serves an `HFBackend` (anything with `complete`, `tokenizer` and `context_length`)
    token by token: exact prompt ids, log-probs with top alternatives, real finish reasons."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.tokenizer = backend.tokenizer
        self.context_length: int | None = backend.context_length

    def encode(self, prompt: str | list[int], add_special_tokens: bool = True) -> Prompt:
        """Text with its ids and character offsets, or token ids with their decoded text."""
        if isinstance(prompt, str):
            enc = self.tokenizer(prompt, add_special_tokens=add_special_tokens,
                                 return_offsets_mapping=True)
            ends, last = [], 0
            for _, e in enc["offset_mapping"]:
                last = max(last, e)
                ends.append(last)
            offsets = [0] + ends[:-1]
            return Prompt(prompt, len(enc["input_ids"]), list(enc["input_ids"]), offsets)
        vocab = len(self.tokenizer)
        bad = [t for t in prompt if not 0 <= t < vocab]
        if bad:
            raise APIError(400, f"prompt token id {bad[0]} is outside the vocabulary "
                                f"(0-{vocab - 1})", param="prompt")
        pieces = token_texts(self.tokenizer, prompt)
        return Prompt("".join(pieces), len(prompt), list(prompt), _cumulative(pieces))

    def chat_prompt(self, messages: list[dict]) -> Prompt:
        """The conversation rendered with the chat template, encoded."""
        from neurips23.lm.backends.base import render_chat

        templated = bool(getattr(self.tokenizer, "chat_template", None))
        return self.encode(render_chat(self.tokenizer, messages), add_special_tokens=not templated)

    def check(self, echo: bool, logprobs: int | None, max_tokens: int) -> None:
        """Everything is supported."""

    def sampling_defaults(self) -> dict[str, float | int]:
        """What a request silent on sampling gets, from the model's `generation_config` as
        `transformers.generate` reads it: its temperature, top_p and top_k when it samples
        (`do_sample`), else greedy decoding."""
        cfg = getattr(self.backend.model, "generation_config", None)
        if cfg is None or not getattr(cfg, "do_sample", False):
            return {"temperature": 0.0, "top_p": 1.0, "top_k": 0}
        return {"temperature": float(getattr(cfg, "temperature", None) or 1.0),
                "top_p": float(getattr(cfg, "top_p", None) or 1.0),
                "top_k": int(getattr(cfg, "top_k", None) or 0)}

    def decode(self, ids: Sequence[int]) -> str:
        """The text of generated ids as a completion shows it (special tokens dropped)."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def complete(self, prompts: list[Prompt], *, n: int, temperature: float, top_p: float,
                 top_k: int, max_tokens: int, stop: Sequence[str], seed: int | None,
                 logprobs: int | None, echo: bool, observer: Any = None) -> list[list[Choice]]:
        """n choices per prompt, with OpenAI `logprobs` objects when asked for. A sampled
        end-of-sequence token counts as a completion token and, as with vLLM and OpenAI, is
        returned in the logprobs (text "")."""
        outs = self.backend.complete([p.ids for p in prompts], n=n, temperature=temperature,
                                     max_tokens=max_tokens, stop=stop, top_p=top_p, seed=seed,
                                     logprobs=logprobs,
                                     prompt_logprobs=logprobs if echo and logprobs is not None
                                     else None, top_k=top_k, observer=observer)
        return [[Choice((p.text if echo else "") + c.text, c.finish_reason,
                        c.completion_tokens + (c.end_token is not None),
                        self._logprobs(p, c, echo) if logprobs is not None else None,
                        ended=c.end_token is not None)
                 for c in group] for p, group in zip(prompts, outs, strict=True)]

    def chat(self, prompts: list[Prompt], *, n: int, temperature: float, top_p: float,
             top_k: int, max_tokens: int, stop: Sequence[str], seed: int | None,
             logprobs: int | None, observer: Any = None) -> list[list[Choice]]:
        """n assistant replies per rendered conversation (chat logprobs when asked for: the
        reply's tokens, without the end-of-turn token, as OpenAI's chat API shows them)."""
        groups = self.complete(prompts, n=n, temperature=temperature, top_p=top_p, top_k=top_k,
                               max_tokens=max_tokens, stop=stop, seed=seed, logprobs=logprobs,
                               echo=False, observer=observer)
        if logprobs is not None:
            for group in groups:
                for c in group:
                    entries = _chat_logprobs(c.logprobs)
                    c.chat_logprobs = entries[:-1] if c.ended else entries
                    c.logprobs = None
        return groups

    def _logprobs(self, prompt: Prompt, c: Any, echo: bool) -> dict:
        """OpenAI's completions logprobs object: echoed prompt tokens (the first with null
        log-prob), then the generated ones, the sampled end-of-sequence token last (text "");
        text offsets into the returned text."""
        gen = token_texts(self.tokenizer, c.token_ids, context=prompt.ids)
        tokens, lps, tops, offsets = [], [], [], []
        if echo:
            ends = prompt.offsets[1:] + [len(prompt.text)]
            tokens = [prompt.text[s:e] for s, e in zip(prompt.offsets, ends, strict=True)]
            lps = [None if t is None else t.logprob for t in c.prompt_logprobs]
            tops = [None if t is None else self._top(t.top) for t in c.prompt_logprobs]
            offsets = list(prompt.offsets)
        start = len(prompt.text) if echo else 0
        gen_lps = list(c.logprobs)
        if c.end_token is not None:
            gen.append("")
            gen_lps.append(c.end_logprob)
        offsets += [start + o for o in _cumulative(gen)]
        return {"tokens": tokens + gen, "token_logprobs": lps + [t.logprob for t in gen_lps],
                "top_logprobs": tops + [self._top(t.top) for t in gen_lps],
                "text_offset": offsets}

    def _top(self, top: dict[int, float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, lp in top.items():
            key = self.tokenizer.decode([i])
            out[key] = max(lp, out.get(key, lp))
        return out


def token_texts(tokenizer: Any, ids: Sequence[int], context: Sequence[int] | None = None,
                window: int = 6) -> list[str]:
    """The text each token adds: decode(earlier + token) minus decode(earlier), over a short
    window of earlier tokens (so SentencePiece's leading spaces survive); a token that ends
    inside a multi-byte character adds "" and the token completing it adds the character."""
    seq = list(context or [])[-window:]
    done = len(seq)  # tokens before this index have had their text assigned
    seq += list(ids)
    out = []
    for i in range(done, len(seq)):
        lo = max(0, done - window)
        now = tokenizer.decode(seq[lo:i + 1])
        if now.endswith("\ufffd") and i + 1 < len(seq):
            out.append("")
            continue
        before = tokenizer.decode(seq[lo:done])
        out.append(now[len(before):] if now.startswith(before) else tokenizer.decode(seq[done:i + 1]))
        done = i + 1
    return out


def _cumulative(pieces: Sequence[str]) -> list[int]:
    """Start offsets of consecutive pieces of text."""
    out, pos = [], 0
    for p in pieces:
        out.append(pos)
        pos += len(p)
    return out


def _chat_logprobs(entries: dict) -> list[dict]:
    """OpenAI chat logprobs content from a completions logprobs object."""
    out = []
    for tok, lp, top in zip(entries["tokens"], entries["token_logprobs"], entries["top_logprobs"],
                            strict=True):
        out.append({"token": tok, "logprob": lp, "bytes": list(tok.encode()),
                    "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())}
                                     for t, v in top.items()]})
    return out


def make_engine(backend: Any) -> TextEngine | TokenEngine:
    """The token engine for a backend that works on token ids, else the text engine."""
    token_level = all(hasattr(backend, a) for a in ("complete", "tokenizer", "context_length"))
    return TokenEngine(backend) if token_level else TextEngine(backend)
