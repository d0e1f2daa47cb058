"""The `hf` backend: a transformers model in this process (hub name, local path, or in memory)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from neurips23.lm.backends.base import Usage, render_chat
from neurips23.lm.generate import Score, generate, score


class HFBackend:
    """LanguageModel over an in-process transformers model; batches whole requests."""

    def __init__(self, model, tokenizer, name: str = "hf", batch_size: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size
        self.usage = Usage()
        self._lock = threading.Lock()  # one forward pass at a time (e.g. under a server)

    @classmethod
    def from_pretrained(cls, name_or_path: str, device: str | None = None,
                        batch_size: int = 64) -> HFBackend:
        from neurips23.lm.models import load_model

        model, tok = load_model(name_or_path, device=device)
        return cls(model, tok, name=str(name_or_path), batch_size=batch_size)

    def generate(self, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
                 max_tokens: int = 64, stop: Sequence[str] = (), top_p: float = 1.0,
                 seed: int | None = None) -> list[list[str]]:
        return self._generate(prompts, n, temperature, max_tokens, stop, top_p, seed, True)

    def _generate(self, prompts, n, temperature, max_tokens, stop, top_p, seed,
                  add_special_tokens: bool) -> list[list[str]]:
        with self._lock:
            outs = generate(self.model, self.tokenizer, list(prompts), n=n,
                            temperature=temperature, top_p=top_p, max_new_tokens=max_tokens,
                            stop=tuple(stop or ()), seed=seed, batch_size=self.batch_size,
                            add_special_tokens=add_special_tokens)
        for group in outs:
            self.usage.add(calls=1, prompt_tokens=group[0].prompt_tokens if group else 0,
                           completion_tokens=sum(c.completion_tokens for c in group))
        return [[c.text for c in group] for group in outs]

    def chat(self, conversations: Sequence[list[dict]], n: int = 1, temperature: float = 0.0,
             max_tokens: int = 64, stop: Sequence[str] = (),
             seed: int | None = None) -> list[list[str]]:
        prompts = [render_chat(self.tokenizer, conv) for conv in conversations]
        templated = bool(getattr(self.tokenizer, "chat_template", None))  # BOS already in the text
        return self._generate(prompts, n, temperature, max_tokens, stop, 1.0, seed,
                              add_special_tokens=not templated)

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Score]:
        with self._lock:
            out = score(self.model, self.tokenizer, list(prompts), list(continuations),
                        batch_size=self.batch_size)
        self.usage.add(calls=len(out), prompt_tokens=sum(len(s.token_logprobs) for s in out))
        return out
