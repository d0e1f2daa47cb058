"""The `hf` backend: a transformers model in this process (hub name, local path, or in memory)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from neurips23.lm.backends.base import Usage, render_chat
from neurips23.lm.generate import Completion, Score, StepObserver, generate, score


class HFBackend:
    """LanguageModel over an in-process transformers model; batches whole requests.

    Beyond the text methods, `complete` works on token ids and returns token-level detail
    (ids, log-probs, the real finish reason): what `neurips23 serve` needs."""

    def __init__(self, model, tokenizer, name: str = "hf", batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size
        self.usage = Usage()
        self._lock = threading.Lock()  # one forward pass at a time (e.g. under a server)

    @classmethod
    def from_pretrained(cls, name_or_path: str, device: str | None = None,
                        batch_size: int = 64, dtype: Any = None) -> HFBackend:
        """Load a model by name or path (see `lm.models.load_model`)."""
        from neurips23.lm.models import load_model

        model, tok = load_model(name_or_path, device=device, dtype=dtype)
        return cls(model, tok, name=str(name_or_path), batch_size=batch_size)

    @property
    def context_length(self) -> int | None:
        """The most tokens (prompt + completion) the model takes, from its config."""
        cfg = self.model.config
        return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)

    def complete(self, prompts: Sequence[str | Sequence[int]], n: int = 1,
                 temperature: float = 0.0, max_tokens: int = 64, stop: Sequence[str] = (),
                 top_p: float = 1.0, seed: int | None = None, add_special_tokens: bool = True,
                 logprobs: int | None = None, prompt_logprobs: int | None = None,
                 top_k: int = 0, observer: StepObserver | None = None) -> list[list[Completion]]:
        """`lm.generate.generate` on texts or token ids, with token-level results (`observer`
        sees each decoding step and may abandon rows)."""
        with self._lock:
            outs = generate(self.model, self.tokenizer, list(prompts), n=n,
                            temperature=temperature, top_p=top_p, max_new_tokens=max_tokens,
                            stop=tuple(stop or ()), seed=seed, batch_size=self.batch_size,
                            add_special_tokens=add_special_tokens, logprobs=logprobs,
                            prompt_logprobs=prompt_logprobs, top_k=top_k, observer=observer)
        for group in outs:
            self.usage.add(calls=1, prompt_tokens=group[0].prompt_tokens if group else 0,
                           completion_tokens=sum(c.completion_tokens for c in group))
        return outs

    def generate(self, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
                 max_tokens: int = 64, stop: Sequence[str] = (), top_p: float = 1.0,
                 seed: int | None = None) -> list[list[str]]:
        """n sampled continuations of each prompt ([prompt][sample])."""
        outs = self.complete(prompts, n, temperature, max_tokens, stop, top_p, seed)
        return [[c.text for c in group] for group in outs]

    def chat(self, conversations: Sequence[list[dict]], n: int = 1, temperature: float = 0.0,
             max_tokens: int = 64, stop: Sequence[str] = (),
             seed: int | None = None) -> list[list[str]]:
        """n assistant replies to each conversation, rendered with the chat template."""
        prompts = [render_chat(self.tokenizer, conv) for conv in conversations]
        templated = bool(getattr(self.tokenizer, "chat_template", None))  # BOS already in the text
        outs = self.complete(prompts, n, temperature, max_tokens, stop, 1.0, seed,
                             add_special_tokens=not templated)
        return [[c.text for c in group] for group in outs]

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Score]:
        """log p(continuation | prompt) for each pair."""
        with self._lock:
            out = score(self.model, self.tokenizer, list(prompts), list(continuations),
                        batch_size=self.batch_size)
        self.usage.add(calls=len(out), prompt_tokens=sum(len(s.token_logprobs) for s in out))
        return out
